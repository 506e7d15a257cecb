import { test } from "uvu";
import * as assert from "uvu/assert";
import { RawWriter, regroupMinParts, regroupWindowMs, type LocalRawBatch, type PublishRaw, type RegroupScheduler } from "./raw_writer.ts";
import { columnsOf, MessageType, validateRawBatch, type EventColumns, type RawBatch, type RawPart } from "../../schemas/mod.ts";
import type { PublishAck } from "../../runtime/transport/transport.ts";
import type { PublishMessageOptions } from "../../runtime/core/publisher.ts";

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

interface Sent {
  subject: string;
  type: string;
  body: RawBatch;
  options: PublishMessageOptions | undefined;
  done(ack?: Partial<PublishAck>): void;
  fail(error: unknown): void;
}

/** A publish whose writes complete when the test says so. */
function fakePublish(): { publish: PublishRaw; sent: Sent[] } {
  const sent: Sent[] = [];
  let seq = 0;
  const publish: PublishRaw = (subject, type, body, options) =>
    new Promise((resolve, reject) => {
      sent.push({
        subject, type, body: body as RawBatch, options,
        done: (ack = {}) => resolve({ stream: "TW_RAW", seq: ++seq, duplicate: false, ...ack }),
        fail: reject,
      });
    });
  return { publish, sent };
}

function part(id: string, bytes = 10, count = 1): RawPart {
  return { batchId: id, receivedAt: T0, format: "json", count, source: "http", body: new Uint8Array(bytes) };
}

const cols = (key: string): EventColumns => columnsOf([{ key, ts: T0, value: 1 }]);
const settle = () => new Promise((r) => setTimeout(r, 0));

test("idle: a request is written at once, alone, as a valid RawBatch carrying its columns for local consumers", async () => {
  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish);
  const done = writer.write("clicks", part("b1", 10, 1), cols("a"));
  assert.is(sent.length, 1, "no waiting when nothing is in flight");
  const { subject, type, body, options } = sent[0]!;
  assert.equal([subject, type, options?.id], ["tw.raw.clicks", MessageType.RawBatch, "b1"]);
  assert.equal(body, { stream: "clicks", batchId: "b1", receivedAt: T0, count: 1, parts: [part("b1", 10, 1)] });
  assert.equal(validateRawBatch(body), []);
  assert.equal((options?.localBody as LocalRawBatch).columns, [cols("a")]);
  sent[0]!.done();
  assert.is((await done).seq, 1);
});

test("requests arriving while writes are in flight go out together, in order, and each resolves when its message is durable", async () => {
  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1 });
  const first = writer.write("clicks", part("b1"), cols("a"));
  const later = [writer.write("clicks", part("b2", 10, 2), cols("b")), writer.write("clicks", part("b3", 10, 3), cols("c"))];
  let resolved = 0;
  for (const p of later) void p.then(() => resolved++);
  assert.is(sent.length, 1);
  assert.is(writer.waiting, 2);
  sent[0]!.done();
  await first;
  await settle();
  assert.is(resolved, 0, "not before their own message is durable");
  assert.is(sent.length, 2);
  const grouped = sent[1]!;
  assert.equal(grouped.body.parts.map((p) => p.batchId), ["b2", "b3"]);
  assert.equal([grouped.body.batchId, grouped.options?.id, grouped.body.count], ["b2", "b2", 5]);
  assert.equal(validateRawBatch(grouped.body), []);
  assert.equal((grouped.options?.localBody as LocalRawBatch).columns, [cols("b"), cols("c")]);
  grouped.done({ seq: 9 });
  assert.equal((await Promise.all(later)).map((a) => a.seq), [9, 9]);
  assert.is(writer.waiting, 0);
});

test("a grouped message is bounded by parts and by body bytes; a large request goes alone", async () => {
  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1, maxWritesWhenFull: 1, maxPartsPerMessage: 3, maxMessageBytes: 100 });
  void writer.write("s", part("busy"), cols("a"));
  for (let i = 0; i < 4; i++) void writer.write("s", part(`p${i}`, 10), cols("a"));
  void writer.write("s", part("big", 150), cols("a"));
  void writer.write("s", part("after", 60), cols("a"));
  void writer.write("s", part("last", 50), cols("a"));
  const groups: string[][] = [];
  for (let i = 0; i < 6 && sent.length > 0; i++) {
    const s = sent.shift()!;
    groups.push(s.body.parts.map((p) => p.batchId));
    s.done();
    await settle();
  }
  assert.equal(groups, [["busy"], ["p0", "p1", "p2"], ["p3"], ["big"], ["after"], ["last"]]);
});

test("a group that fills a whole message goes as a further write (maxWritesWhenFull), without waiting for a slot", async () => {
  // Exactly maxMessageBytes waiting could still be written as one message: not full.
  const edge = fakePublish();
  const atLimit = new RawWriter(edge.publish, { maxWritesPerStream: 1, maxWritesWhenFull: 2, maxMessageBytes: 100 });
  void atLimit.write("s", part("busy"), cols("a"));
  void atLimit.write("s", part("h0", 50), cols("a"));
  void atLimit.write("s", part("h1", 50), cols("a"));
  assert.is(edge.sent.length, 1);
  void atLimit.write("s", part("h2", 1), cols("a"));
  assert.equal(edge.sent.map((s) => s.body.parts.length), [1, 2]);

  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1, maxWritesWhenFull: 2, maxPartsPerMessage: 3, maxMessageBytes: 100 });
  void writer.write("s", part("busy"), cols("a"));
  void writer.write("s", part("p0", 40), cols("a"));
  void writer.write("s", part("p1", 40), cols("a"));
  assert.is(sent.length, 1, "80 bytes in two parts could still grow: they wait");
  void writer.write("s", part("p2", 40), cols("a"));
  assert.equal(sent.map((s) => s.body.parts.map((p) => p.batchId)), [["busy"], ["p0", "p1"]], "120 bytes waiting: the first 100 fill a message");
  void writer.write("s", part("q0"), cols("a"));
  void writer.write("s", part("q1"), cols("a"));
  void writer.write("s", part("q2"), cols("a"));
  assert.is(sent.length, 2, "at most maxWritesWhenFull writes, full or not");
  sent[0]!.done();
  await settle();
  assert.equal(sent[2]!.body.parts.map((p) => p.batchId), ["p2", "q0", "q1"], "a slot freed: the oldest waiting go");
  sent[1]!.done();
  await settle();
  assert.is(sent.length, 3, "one write in flight, and what waits does not fill a message: q2 waits");
  sent[2]!.done();
  await settle();
  assert.equal(sent[3]!.body.parts.map((p) => p.batchId), ["q2"]);
  assert.is(writer.waiting, 0);

  // Parts count too: three small requests fill a message of at most three parts.
  const other = fakePublish();
  const byParts = new RawWriter(other.publish, { maxWritesPerStream: 1, maxWritesWhenFull: 2, maxPartsPerMessage: 3 });
  void byParts.write("s", part("busy"), cols("a"));
  for (const id of ["r0", "r1", "r2"]) void byParts.write("s", part(id), cols("a"));
  assert.equal(other.sent.map((s) => s.body.parts.length), [1, 3]);
});

test("streams are grouped apart; Idempotency-Key requests always go alone, under their own id", async () => {
  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1 });
  void writer.write("a", part("a1"), cols("x"));
  void writer.write("b", part("b1"), cols("x"));
  void writer.write("a", part("idem:a:k1"), cols("x"), true);
  assert.equal(sent.map((s) => [s.subject, s.options?.id]), [["tw.raw.a", "a1"], ["tw.raw.b", "b1"], ["tw.raw.a", "idem:a:k1"]]);
  sent[2]!.done({ duplicate: true });
});

test("a failed write answers every request in it with its error; later requests are written again", async () => {
  const { publish, sent } = fakePublish();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1 });
  const first = writer.write("s", part("b1"), cols("a"));
  const grouped = [writer.write("s", part("b2"), cols("a")), writer.write("s", part("b3"), cols("a"))];
  sent[0]!.done();
  await first;
  await settle();
  const boom = new Error("disk gone");
  sent[1]!.fail(boom);
  for (const p of grouped) {
    try {
      await p;
      assert.unreachable("should reject");
    } catch (e) {
      assert.is(e, boom);
    }
  }
  const next = writer.write("s", part("b4"), cols("a"));
  assert.is(sent.length, 3, "the failed write freed its slot");
  sent[2]!.done();
  await next;
});

test("a publish that throws at once is answered like a failed write", async () => {
  const writer = new RawWriter(() => {
    throw new TypeError("cannot encode");
  });
  try {
    await writer.write("s", part("b1"), cols("a"));
    assert.unreachable("should reject");
  } catch (e) {
    assert.instance(e, TypeError);
  }
  assert.is(writer.waiting, 0);
});

/** Turns of the event loop and a clock that move when the test says so. */
function manualTurns(): RegroupScheduler & { pass(): void; pending(): number; ms: number } {
  let queued: (() => void)[] = [];
  return {
    ms: 0,
    now() {
      return this.ms;
    },
    nextTurn: (run) => void queued.push(run),
    pass() {
      const due = queued;
      queued = [];
      for (const run of due) run();
    },
    pending: () => queued.length,
  };
}

/**
 * A writer (one write in flight, `regroupTurns`) whose stream has just had a group of `size`
 * requests answered, nothing waiting: a convoy of `size` clients about to send again.
 */
async function afterConvoy(size: number, regroupTurns = 2) {
  const { publish, sent } = fakePublish();
  const turns = manualTurns();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1, maxMessageBytes: 1000, regroupTurns }, turns);
  const first = writer.write("s", part("lead"), cols("a"));
  const convoy = Array.from({ length: size }, (_, i) => writer.write("s", part(`c${i}`), cols("a")));
  sent[0]!.done();
  await first;
  await settle();
  assert.is(sent[1]!.body.parts.length, size, "the convoy went out as one group");
  sent[1]!.done();
  await Promise.all(convoy);
  await settle();
  return { writer, sent, turns, written: sent.length };
}

const sizes = (sent: Sent[]) => sent.map((s) => s.body.parts.length);

/**
 * A writer (one write in flight, regroupTurns 2) whose convoy of 10 requests is answered — or,
 * with `fail`, refused — while `waitingDuring` more wait (w0, w1, …).
 */
async function convoyAnswered(waitingDuring: number, fail = false) {
  const { publish, sent } = fakePublish();
  const turns = manualTurns();
  const writer = new RawWriter(publish, { maxWritesPerStream: 1, regroupTurns: 2 }, turns);
  void writer.write("s", part("lead"), cols("a"));
  const convoy = Array.from({ length: 10 }, (_, i) => writer.write("s", part(`c${i}`), cols("a")).catch((e) => e));
  sent[0]!.done();
  await settle();
  for (let i = 0; i < waitingDuring; i++) void writer.write("s", part(`w${i}`), cols("a"));
  if (fail) sent[1]!.fail(new Error("disk gone"));
  else sent[1]!.done();
  await Promise.all(convoy);
  await settle();
  return { writer, sent, turns };
}

test("regrouping: after a large group is answered, the next write waits until half of those clients have sent again, then goes at once", async () => {
  const { writer, sent, turns, written } = await afterConvoy(10);
  const next = Array.from({ length: 4 }, (_, i) => writer.write("s", part(`n${i}`), cols("a")));
  assert.is(sent.length, written, "4 of the 10 answered clients are back: still waiting");
  next.push(writer.write("s", part("n4"), cols("a")));
  assert.equal(sizes(sent).slice(written), [5], "the fifth completes half: written at once, without waiting for the turns");
  turns.pass();
  turns.pass();
  assert.is(sent.length, written + 1, "the turns that were waited for do nothing more");
  sent[written]!.done();
  assert.is((await Promise.all(next)).length, 5);
});

test("regrouping: after regroupTurns turns, what has gathered is written", async () => {
  const { writer, sent, turns, written } = await afterConvoy(10, 3);
  const next = [writer.write("s", part("n0"), cols("a")), writer.write("s", part("n1"), cols("a"))];
  turns.pass();
  turns.pass();
  assert.is(sent.length, written, "two of three turns passed");
  turns.pass();
  assert.equal(sizes(sent).slice(written), [2]);
  assert.is(turns.pending(), 0);
  sent[written]!.done();
  await Promise.all(next);
});

test("regrouping only follows a large group, only once, and not when half of it is already waiting", async () => {
  // A group below regroupMinParts: the next request goes at once, alone (no added latency).
  const small = await afterConvoy(regroupMinParts - 1);
  void small.writer.write("s", part("n0"), cols("a"));
  assert.equal(sizes(small.sent).slice(small.written), [1]);
  assert.is(small.turns.pending(), 0);

  // Once: the write after the regrouped one does not wait again (its group was small).
  const large = await afterConvoy(10);
  void large.writer.write("s", part("n0"), cols("a"));
  large.turns.pass();
  large.turns.pass();
  assert.equal(sizes(large.sent).slice(large.written), [1]);
  large.sent[large.written]!.done();
  await settle();
  void large.writer.write("s", part("n1"), cols("a"));
  assert.equal(sizes(large.sent).slice(large.written), [1, 1], "written at once");

  // Half of the answered group already waiting when its write finishes: written at once.
  const { sent, turns } = await convoyAnswered(5);
  assert.equal(sizes(sent), [1, 10, 5], "the 5 that gathered during the write of 10 go when it finishes");
  assert.is(turns.pending(), 0);
});

test("regrouping is off by default, and needs a scheduler for turns", async () => {
  const { writer, sent, written } = await afterConvoy(10, 0);
  void writer.write("s", part("n0"), cols("a"));
  assert.equal(sizes(sent).slice(written), [1]);
  assert.throws(() => new RawWriter(() => Promise.reject(new Error("unused")), { regroupTurns: 2 }), /scheduler/);
});

test("regrouping: the requests waiting when the convoy is answered count towards the target", async () => {
  const { writer, sent } = await convoyAnswered(3); // 10 answered, 3 waiting: the target is ceil(13 / 2) = 7
  assert.is(sent.length, 2);
  for (let i = 0; i < 3; i++) void writer.write("s", part(`n${i}`), cols("a"));
  assert.is(sent.length, 2, "6 waiting");
  void writer.write("s", part("n3"), cols("a"));
  assert.equal(sizes(sent), [1, 10, 7]);
});

test("regrouping: only within regroupWindowMs of the answer (a later request finds the stream idle), per stream, not after a failed write", async () => {
  const late = await afterConvoy(10);
  late.turns.ms += regroupWindowMs + 1;
  void late.writer.write("s", part("n0"), cols("a"));
  assert.equal(sizes(late.sent).slice(late.written), [1], "written at once");
  assert.is(late.turns.pending(), 0);

  const other = await afterConvoy(10);
  void other.writer.write("t", part("t0"), cols("a"));
  assert.equal(sizes(other.sent).slice(other.written), [1], "another stream's convoy does not hold this one");

  const { writer, sent, turns } = await convoyAnswered(0, true);
  void writer.write("s", part("retry"), cols("a"));
  assert.equal(sizes(sent), [1, 10, 1], "clients answered with an error come back at their own pace: no wait");
  assert.is(turns.pending(), 0);
});

test("regrouping never holds back a group that fills a message, nor an Idempotency-Key request", async () => {
  const { writer, sent, turns, written } = await afterConvoy(10);
  void writer.write("s", part("n0"), cols("a"));
  assert.is(sent.length, written, "regrouping");
  void writer.write("s", part("idem:s:k"), cols("a"), true);
  assert.equal(sent.slice(written).map((s) => s.options?.id), ["idem:s:k"], "an Idempotency-Key request goes alone, at once");
  void writer.write("s", part("large", 995), cols("a"));
  assert.equal(sizes(sent).slice(written + 1), [1], "1005 bytes waiting: the oldest group cannot grow, it goes at once");
  assert.is(sent[written + 1]!.body.parts[0]!.batchId, "n0");
  turns.pass();
  turns.pass();
  assert.is(sent.length, written + 2, "nothing more from the ended wait; the large request waits for a slot");
});

test.run();
