import { test } from "uvu";
import * as assert from "uvu/assert";
import { settle, SimulatedClock } from "../core/clock.ts";
import { BackpressureError, ConfigError, TransportUnavailableError } from "../core/errors.ts";
import { currentPlatform } from "../platform/current.ts";
import { MemoryFileSystem } from "../platform/memory_fs.ts";
import {
  FilterSpansStreamsError, GroupConflictError, InProcessTransport, InvalidSubjectError, NoStreamError,
  type InProcessOptions,
} from "./in_process.ts";
import type { DeadLetter, Delivery, StreamSpec } from "./transport.ts";

const enc = new TextEncoder();
const STREAM: StreamSpec = { name: "EV", subjects: ["ev.>"] };

async function make(extra: Partial<InProcessOptions> = {}, streams: StreamSpec[] = [STREAM]) {
  const clock = new SimulatedClock(0);
  const fs = new MemoryFileSystem();
  const t = new InProcessTransport({ fs, dir: "log", clock, syncIntervalMs: 0, ...extra });
  await t.ensureStreams(streams);
  return { t, clock, fs };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await settle(1);
  assert.ok(cond(), `never happened: ${what}`);
}

async function rejects(p: Promise<unknown>, type: new (...args: never[]) => Error): Promise<Error> {
  try {
    await p;
  } catch (error) {
    assert.instance(error, type);
    return error as Error;
  }
  throw new Error(`expected a ${type.name}`);
}

test("a full stream with a known group rejects publishes with BackpressureError until acks free it", async () => {
  const { t } = await make({}, [{ ...STREAM, maxBytes: 1000 }]);
  await (await t.consume("ev.>", "g", () => {})).stop(); // the group exists, nobody consumes
  for (let i = 0; i < 3; i++) await t.publish("ev.x", new Uint8Array(300));
  const error = await rejects(t.publish("ev.x", new Uint8Array(300)), BackpressureError);
  assert.ok((error as BackpressureError).retryAfterMs > 0);
  assert.is(t.streamInfo("EV")!.bytes, 900);
  await t.consume("ev.>", "g", (d) => d.ack());
  await until(() => t.streamInfo("EV")!.bytes === 0, "the stream drains");
  await t.publish("ev.x", new Uint8Array(300));
  await t.close();
});

test("a stream no group consumes keeps its newest messages within maxBytes", async () => {
  const { t } = await make({}, [{ ...STREAM, maxBytes: 1000 }]);
  for (let i = 0; i < 10; i++) await t.publish("ev.x", new Uint8Array(300).fill(i));
  assert.ok(t.streamInfo("EV")!.bytes <= 1000);
  const got: number[] = [];
  await t.consume("ev.>", "late", (d) => void (got.push(d.data[0]), d.ack()));
  await until(() => got.length === 3, "the kept messages");
  assert.equal(got, [7, 8, 9]);
  await t.close();
});

test("a closed transport rejects with TransportUnavailableError and leaves no timers", async () => {
  const { t, clock } = await make();
  await t.publish("ev.x", enc.encode("a"));
  await t.publish("ev.x", enc.encode("b"));
  await t.consume("ev.>", "g", (d) => (d.seq === 1 ? d.nak(5000) : undefined)); // one waiting, one unacked
  await settle();
  assert.ok(clock.pending > 0);
  await t.close();
  assert.is(clock.pending, 0);
  await rejects(t.publish("ev.x", enc.encode("c")), TransportUnavailableError);
  await rejects(t.consume("ev.>", "g", () => {}), TransportUnavailableError);
});

test("subjects and filters outside exactly one stream are rejected with typed errors", async () => {
  const { t } = await make({}, [STREAM, { name: "AGG", subjects: ["agg.>"] }]);
  await rejects(t.consume(">", "g", () => {}), FilterSpansStreamsError);
  await rejects(t.consume("nope.>", "g", () => {}), NoStreamError);
  await rejects(t.publish("nope.x", enc.encode("")), NoStreamError);
  await rejects(t.publish("ev.*", enc.encode("")), InvalidSubjectError);
  await rejects(t.ensureStreams([{ name: "OTHER", subjects: ["ev.a.>"] }]), ConfigError);
  await t.consume("ev.a", "g", () => {});
  await rejects(t.consume("ev.b", "g", () => {}), GroupConflictError);
  await t.close();
});

test("an unacked delivery is redelivered after ackWaitMs, and working() extends the wait", async () => {
  const { t, clock } = await make();
  const got: Delivery[] = [];
  await t.consume("ev.>", "g", (d) => void got.push(d), { ackWaitMs: 1000 });
  await t.publish("ev.x", enc.encode("a"));
  await until(() => got.length === 1, "first delivery");
  await clock.advance(900);
  got[0].working();
  await clock.advance(900);
  assert.is(got.length, 1, "working() pushed the deadline to 1900");
  await clock.advance(100);
  await until(() => got.length === 2, "the redelivery");
  assert.is(got[1].deliveryCount, 2);
  got[1].ack();
  await clock.advance(5000);
  assert.is(got.length, 2);
  await t.close();
});

test("nak without a delay backs off by attempt, and a throwing handler counts as nak", async () => {
  const { t, clock } = await make();
  const counts: number[] = [];
  await t.consume("ev.>", "g", (d) => {
    counts.push(d.deliveryCount);
    if (d.deliveryCount === 1) d.nak();
    else if (d.deliveryCount === 2) throw new Error("handler failed");
    else d.ack();
  }, { backoffMs: [100, 500] });
  await t.publish("ev.x", enc.encode("a"));
  await until(() => counts.length === 1, "first delivery");
  await clock.advance(99);
  assert.is(counts.length, 1);
  await clock.advance(1);
  await until(() => counts.length === 2, "after 100 ms");
  await clock.advance(499);
  assert.is(counts.length, 2);
  await clock.advance(1);
  await until(() => counts.length === 3, "after 500 more ms");
  await t.close();
});

test("maxAckPending bounds unacked deliveries; an ack lets the next one through", async () => {
  const { t } = await make();
  const got: Delivery[] = [];
  const consumer = await t.consume("ev.>", "g", (d) => void got.push(d), { maxAckPending: 2 });
  for (let i = 0; i < 5; i++) await t.publish("ev.x", enc.encode(String(i)));
  await until(() => got.length === 2, "two deliveries");
  await settle();
  assert.is(got.length, 2);
  assert.is(await consumer.pending(), 5);
  got[0].ack();
  await until(() => got.length === 3, "a third after an ack");
  assert.is(await consumer.pending(), 4);
  await t.close();
});

test("onDead that throws is retried rather than losing the dead message", async () => {
  const { t, clock } = await make();
  const dead: DeadLetter[] = [];
  let failures = 1;
  await t.consume("ev.>", "g", (d) => d.term("poison"), {
    backoffMs: [1000],
    onDead: (x) => {
      if (failures-- > 0) throw new Error("dead-letter stream unavailable");
      dead.push(x);
    },
  });
  await t.publish("ev.x", enc.encode("p"));
  await settle();
  assert.is(dead.length, 0);
  await clock.advance(1000);
  await until(() => dead.length === 1, "the retried report");
  assert.is(dead[0].reason, "poison");
  await t.close();
});

test("the decoded value travels with the message in process", async () => {
  const { t } = await make({ durable: false });
  const value = { key: "k", n: 1 };
  const got: Delivery[] = [];
  await t.consume("ev.>", "g", (d) => void (got.push(d), d.ack()));
  await t.publish("ev.x", enc.encode("{}"), { value });
  await until(() => got.length === 1, "the delivery");
  assert.is(got[0].value, value);
  await t.close();
});

test("the value goes with each group's first delivery only (groups created after the publish included): a held message does not keep it, a redelivery carries the bytes alone", async () => {
  const { t } = await make({ durable: false });
  const value = { key: "k", n: 1 };
  // Group b exists but has no member yet: the value waits for it too.
  await (await t.consume("ev.>", "b", () => {})).stop();
  const a: Delivery[] = [];
  await t.consume("ev.>", "a", (d) => void a.push(d));
  await t.publish("ev.x", enc.encode("{}"), { value });
  await until(() => a.length === 1, "a's delivery");
  assert.is(a[0]!.value, value);
  // Group c is created after the publish: it takes an interest in the held message, and its
  // first delivery counts too.
  const c: Delivery[] = [];
  await t.consume("ev.>", "c", (d) => void c.push(d));
  await until(() => c.length === 1, "c's delivery");
  assert.is(c[0]!.value, value, "a group created after the publish gets the value");
  const b: Delivery[] = [];
  await t.consume("ev.>", "b", (d) => void b.push(d));
  await until(() => b.length === 1, "b's delivery");
  assert.is(b[0]!.value, value, "a group that existed at the publish but attaches later gets the value");
  a[0]!.nak(0);
  await until(() => a.length === 2, "a's redelivery");
  assert.is(a[1]!.deliveryCount, 2);
  assert.is(a[1]!.value, undefined, "the held message let its value go once every group had it");
  assert.equal(a[1]!.data, enc.encode("{}"));
  await t.close();
});

test("a msgId is forgotten after the duplicate window", async () => {
  const { t, clock } = await make({}, [{ ...STREAM, duplicateWindowMs: 1000 }]);
  const a = await t.publish("ev.x", enc.encode("x"), { msgId: "id" });
  assert.is((await t.publish("ev.x", enc.encode("x"), { msgId: "id" })).duplicate, true);
  await clock.advance(1001);
  const b = await t.publish("ev.x", enc.encode("x"), { msgId: "id" });
  assert.is(b.duplicate, false);
  assert.is(b.seq, a.seq + 1);
  await t.close();
});

test("messages older than maxAgeMs are dropped even if unacked", async () => {
  const { t, clock } = await make({ checkpointIntervalMs: 100 }, [{ ...STREAM, maxAgeMs: 1000 }]);
  await (await t.consume("ev.>", "g", () => {})).stop();
  await t.publish("ev.x", enc.encode("old"));
  await clock.advance(1001);
  await t.publish("ev.x", enc.encode("new"));
  assert.is(t.streamInfo("EV")!.messages, 1);
  await t.close();
});

test("memory-only mode writes no files", async () => {
  const { t, fs } = await make({ durable: false });
  await t.publish("ev.x", enc.encode("a"));
  await t.consume("ev.>", "g", (d) => d.ack());
  await settle();
  await t.close();
  assert.is(fs.size, 0);
  assert.equal(await fs.readDir("log"), []);
});

test("on a real disk: the log survives a restart, a torn tail is cut, only unacked messages return", async () => {
  const platform = await currentPlatform();
  const fs = platform.fs;
  const dir = `${platform.env("TMPDIR") ?? "/tmp"}/trendwire-in-process-${crypto.randomUUID()}`;
  const open = async () => {
    const t = new InProcessTransport({ fs, dir, segmentBytes: 64 * 1024 }); // system clock, real group commit
    await t.ensureStreams([STREAM]);
    return t;
  };
  try {
    const one = await open();
    for (let wave = 0; wave < 4; wave++) {
      // Each wave is one group commit; a wave does not fit beside another in a 64 KiB segment.
      await Promise.all(Array.from({ length: 50 }, (_, i) => one.publish("ev.x", new Uint8Array(1000).fill(wave * 50 + i))));
    }
    const first: Delivery[] = [];
    await one.consume("ev.>", "g", (d) => void (first.push(d), d.seq % 2 === 0 && d.ack()));
    await until(() => first.length === 200, "200 deliveries");
    await one.close();
    const segments = one.streamInfo("EV")!.segments;
    assert.ok(segments.length > 1, "rolled over to several segment files");
    const last = await fs.openAppend(`${dir}/EV/${segments.at(-1)}`);
    await last.write([new Uint8Array([200, 0, 0, 0, 1, 2, 3])]); // a torn frame header
    await last.sync();
    await last.close();

    const two = await open();
    const again: Delivery[] = [];
    await two.consume("ev.>", "g", (d) => void (again.push(d), d.ack()));
    await until(() => again.length === 100, "100 redeliveries");
    assert.ok(again.every((d) => d.seq % 2 === 1 && d.data.length === 1000 && d.data[0] === d.seq - 1));
    assert.is((await two.publish("ev.x", enc.encode("next"))).seq, 201);
    await two.close();
  } finally {
    await fs.remove(dir);
  }
});

test.run();
