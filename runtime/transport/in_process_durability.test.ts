import { test } from "uvu";
import * as assert from "uvu/assert";
import { settle, SimulatedClock } from "../core/clock.ts";
import { TransportUnavailableError } from "../core/errors.ts";
import { MemoryFileSystem } from "../platform/memory_fs.ts";
import type { AppendFile, FileSystem } from "../platform/platform.ts";
import { InProcessTransport, type InProcessOptions } from "./in_process.ts";
import { encodeRecord } from "./log_record.ts";
import { boundFs, syncCountingFs } from "../../test/helpers/counting_fs.ts";
import type { Delivery } from "./transport.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const STREAM = { name: "EV", subjects: ["ev.>"] };
const DIR = "data/.log";

/** One incarnation of the process: a transport on its own clock (a crashed one's never moves again). */
async function boot(fs: FileSystem, start = 0, extra: Partial<InProcessOptions> = {}) {
  const clock = new SimulatedClock(start);
  const t = new InProcessTransport({ fs, dir: DIR, clock, syncIntervalMs: 0, ...extra });
  await t.ensureStreams([STREAM]);
  return { t, clock };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await settle(1);
  assert.ok(cond(), `never happened: ${what}`);
}

async function publishN(t: InProcessTransport, n: number, from = 0): Promise<number[]> {
  const acks = await Promise.all(Array.from({ length: n }, (_, i) => t.publish("ev.x", enc.encode(`m${from + i}`))));
  return acks.map((a) => a.seq);
}

function collect(into: Delivery[], ackIf: (d: Delivery) => boolean = () => true) {
  return (d: Delivery) => {
    into.push(d);
    if (ackIf(d)) d.ack();
  };
}

test("after a crash every resolved publish survives and exactly the unsettled ones come back", async () => {
  const fs = new MemoryFileSystem();
  const one = await boot(fs, 0, { checkpointIntervalMs: 1000 });
  await publishN(one.t, 20);
  const acked = new Set([1, 2, 3, 4, 5, 6, 7, 8, 12]);
  const first: Delivery[] = [];
  await one.t.consume("ev.>", "g", collect(first, (d) => acked.has(d.seq)));
  await until(() => first.length === 20, "20 first deliveries");
  await one.clock.advance(1000); // the checkpoint persists the acks so far
  first.find((d) => d.seq === 15)!.ack(); // settled, but not persisted before the crash
  fs.crash();

  const two = await boot(fs, one.clock.now());
  const again: Delivery[] = [];
  await two.t.consume("ev.>", "g", collect(again));
  await until(() => again.length === 11, "11 redeliveries");
  await settle();
  assert.equal(again.map((d) => d.seq), [9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.equal(again.map((d) => dec.decode(d.data)), again.map((d) => `m${d.seq - 1}`));
  assert.ok(again.every((d) => d.deliveryCount === 2), "counts continue from the persisted state");
  assert.ok(again.every((d) => d.value === undefined), "values are not persisted");
  await two.t.close();
});

test("messages published before a crash are all there for a new group, and sequences continue", async () => {
  const fs = new MemoryFileSystem();
  const one = await boot(fs);
  const seqs = await publishN(one.t, 50);
  assert.equal(seqs, Array.from({ length: 50 }, (_, i) => i + 1));
  fs.crash();
  const two = await boot(fs);
  const got: Delivery[] = [];
  await two.t.consume("ev.>", "late", collect(got));
  await until(() => got.length === 50, "50 deliveries");
  assert.equal(got.map((d) => dec.decode(d.data)), Array.from({ length: 50 }, (_, i) => `m${i}`));
  assert.is((await two.t.publish("ev.x", enc.encode("next"))).seq, 51);
  await two.t.close();
});

test("an owned publish is kept and logged without a copy, and recovers as written", async () => {
  const fs = new MemoryFileSystem();
  const { t } = await boot(fs);
  const got: Delivery[] = [];
  await t.consume("ev.>", "g", collect(got, () => false));
  const data = enc.encode("handed over");
  const copied = enc.encode("copied");
  await t.publish("ev.a", data, { owned: true });
  await t.publish("ev.b", copied);
  await until(() => got.length === 2, "both delivered");
  assert.ok(got[0]!.data === data, "an owned payload is delivered as the publisher's own bytes");
  assert.ok(got[1]!.data !== copied, "without owned the transport keeps its own copy");
  // Crash (nothing acknowledged): both come back from the log, intact.
  fs.crash();
  const again = await boot(fs, 1);
  const redelivered: Delivery[] = [];
  await again.t.consume("ev.>", "g", collect(redelivered));
  await until(() => redelivered.length === 2, "both redelivered after the crash");
  assert.equal(redelivered.map((d) => dec.decode(d.data)), ["handed over", "copied"]);
  await again.t.close();
});

test("a torn tail is truncated on recovery and the log stays appendable", async () => {
  const fs = new MemoryFileSystem();
  const one = await boot(fs);
  await publishN(one.t, 5);
  await one.t.close();
  const [segment] = one.t.streamInfo("EV")!.segments;
  const path = `${DIR}/EV/${segment}`;
  const intact = (await fs.readFile(path))!.length;
  // A crash in the middle of the next record's write: half of it reached the disk.
  const torn = encodeRecord({ seq: 6, ts: 0, subject: "ev.x", data: enc.encode("torn record payload") });
  const bytes = new Uint8Array(torn.bytes);
  let o = 0;
  for (const c of torn.chunks) (bytes.set(c, o), (o += c.length));
  const file: AppendFile = await fs.openAppend(path);
  await file.write([bytes.subarray(0, 20)]);
  await file.sync();
  await file.close();

  const two = await boot(fs);
  assert.is((await fs.readFile(path))!.length, intact, "cut back to the last intact record");
  assert.is((await two.t.publish("ev.x", enc.encode("after"))).seq, 6);
  fs.crash();
  const three = await boot(fs);
  const got: Delivery[] = [];
  await three.t.consume("ev.>", "all", collect(got));
  await until(() => got.length === 6, "6 deliveries");
  assert.equal(got.map((d) => dec.decode(d.data)), ["m0", "m1", "m2", "m3", "m4", "after"]);
  await three.t.close();
});

/** A file system whose log syncs wait until `release()`. */
function syncHeldUntilReleased(): { gated: FileSystem; release: () => void } {
  const fs = new MemoryFileSystem();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const gated: FileSystem = {
    ...boundFs(fs),
    openAppend: async (p) => {
      const f = await fs.openAppend(p);
      return { write: (c) => f.write(c), close: () => f.close(), sync: async () => (await gate, f.sync()) };
    },
  };
  return { gated, release };
}

test("a publish resolves only after its record is synced, and is invisible to consumers until then", async () => {
  const { gated, release } = syncHeldUntilReleased();
  const { t } = await boot(gated);
  const got: Delivery[] = [];
  await t.consume("ev.>", "g", collect(got));
  let resolved = false;
  const pub = t.publish("ev.x", enc.encode("m")).then(() => (resolved = true));
  await settle();
  assert.is(resolved, false);
  assert.is(got.length, 0);
  release();
  await pub;
  await until(() => got.length === 1, "the delivery");
  await t.close();
});

test("a duplicate of a message still being written is answered only once the original is durable", async () => {
  const { gated, release } = syncHeldUntilReleased();
  const { t } = await boot(gated);
  const answered: string[] = [];
  const first = t.publish("ev.x", enc.encode("m"), { msgId: "id-1" }).then((a) => (answered.push("first"), a));
  const copy = t.publish("ev.x", enc.encode("m"), { msgId: "id-1" }).then((a) => (answered.push("copy"), a));
  await settle();
  assert.equal(answered, [], "neither is answered before the sync");
  release();
  const [a, b] = await Promise.all([first, copy]);
  assert.equal(answered, ["first", "copy"]);
  assert.equal(b, { stream: "EV", seq: a.seq, duplicate: true });
  // Once durable, a later copy is answered at once with the same sequence.
  assert.equal(await t.publish("ev.x", enc.encode("m"), { msgId: "id-1" }), { stream: "EV", seq: a.seq, duplicate: true });
  await t.close();
});

test("group commit: 1000 concurrent publishes share a handful of syncs", async () => {
  const counting = syncCountingFs(new MemoryFileSystem());
  const { t } = await boot(counting.fs);
  const seqs = await publishN(t, 1000);
  assert.is(new Set(seqs).size, 1000);
  const syncs = counting.syncs();
  assert.ok(syncs >= 1 && syncs <= 5, `expected a few syncs, got ${syncs}`);
  await t.close();
});

test("a failed sync rejects the batch and every later publish with TransportUnavailableError, and is reported once (onLogFailure)", async () => {
  const fs = new MemoryFileSystem();
  const failing: FileSystem = {
    ...boundFs(fs),
    openAppend: async (p) => {
      const f = await fs.openAppend(p);
      return { write: (c) => f.write(c), close: () => f.close(), sync: () => Promise.reject(new Error("EIO")) };
    },
  };
  const failures: [string, string][] = [];
  const { t } = await boot(failing, 0, { onLogFailure: (stream, error) => failures.push([stream, (error as Error).message]) });
  const results = await Promise.allSettled([t.publish("ev.x", enc.encode("a")), t.publish("ev.x", enc.encode("b"))]);
  for (const r of results) assert.ok(r.status === "rejected" && r.reason instanceof TransportUnavailableError);
  try {
    await t.publish("ev.x", enc.encode("c"));
    assert.unreachable("should reject");
  } catch (error) {
    assert.instance(error, TransportUnavailableError);
  }
  assert.equal(failures, [["EV", "EIO"]], "the owner hears of the failure once, with its cause");
  await t.close();
});

test("settled messages leave memory and fully settled segments are deleted", async () => {
  const fs = new MemoryFileSystem();
  const opts = { segmentBytes: 1000, checkpointIntervalMs: 1000 };
  const { t, clock } = await boot(fs, 0, opts);
  await t.ensureStreams([{ ...STREAM, duplicateWindowMs: 500 }]);
  const got: Delivery[] = [];
  await t.consume("ev.>", "g", collect(got));
  for (let i = 0; i < 20; i++) await t.publish("ev.x", new Uint8Array(200).fill(i));
  await until(() => got.length === 20, "20 deliveries");
  const before = t.streamInfo("EV")!;
  assert.ok(before.segments.length >= 4, `several segments, got ${before.segments.length}`);
  assert.is(before.messages, 0);
  assert.is(before.bytes, 0);
  await clock.advance(1000); // persist the acks, then prune
  await settle();
  const after = t.streamInfo("EV")!;
  assert.equal(after.segments, [before.segments.at(-1)]);
  assert.equal((await fs.readDir(`${DIR}/EV`)).filter((n) => n.endsWith(".log")), after.segments);
  await t.close();

  const again = await boot(fs, clock.now(), opts);
  const redelivered: Delivery[] = [];
  await again.t.consume("ev.>", "g", collect(redelivered));
  assert.is((await again.t.publish("ev.x", enc.encode("next"))).seq, 21);
  await until(() => redelivered.length === 1, "the new message");
  await settle();
  assert.equal(redelivered.map((d) => d.seq), [21]);
  await again.t.close();
});

test("a msgId published before a crash is still a duplicate after it", async () => {
  const fs = new MemoryFileSystem();
  const one = await boot(fs, 5_000);
  const first = await one.t.publish("ev.x", enc.encode("x"), { msgId: "idem-1" });
  fs.crash();
  const two = await boot(fs, 6_000);
  assert.equal(await two.t.publish("ev.x", enc.encode("x"), { msgId: "idem-1" }), { stream: "EV", seq: first.seq, duplicate: true });
  await two.t.close();
});

test.run();
