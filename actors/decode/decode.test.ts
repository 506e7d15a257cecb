import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode, decode } from "@msgpack/msgpack";
import { decodeActor } from "./decode.ts";
import { MessageType, partitionOf, type DeadLetterEntry, type EventBatch, type RawBatch } from "../../schemas/mod.ts";
import { fakeContext, message } from "../../test/helpers/fake_ctx.ts";

const actor = decodeActor({ partitions: 8, maxEventsPerBatch: 1000, decodeMsgpack: (b) => decode(b) });
const receivedAt = Date.UTC(2026, 10, 22, 10, 0, 0);
const text = (s: string) => new TextEncoder().encode(s);

function raw(format: RawBatch["format"], body: Uint8Array, count: number): RawBatch {
  return { stream: "clicks", batchId: `b-${format}`, receivedAt, format, count, source: "nats", body };
}

test("parses every format, normalises, and partitions by (stream, key) with ids derived from the batch", async () => {
  const events = [{ key: "a", ts: "2026-11-22T09:59:00Z" }, { key: "b", value: 2.5 }, { key: "a", tags: { r: "eu" } }];
  for (const [format, body] of [
    ["json", text(JSON.stringify(events))],
    ["ndjson", text(events.map((e) => JSON.stringify(e)).join("\n") + "\n")],
    ["msgpack", encode(events)],
  ] as const) {
    const ctx = fakeContext({ now: receivedAt });
    await actor.receive(null, message("tw.raw.clicks", MessageType.RawBatch, raw(format, body, 3)), ctx);
    const out = ctx.published.filter((p) => p.type === MessageType.EventBatch);
    const all = out.flatMap((p) => (p.body as EventBatch).events);
    assert.equal(all.length, 3, format);
    for (const p of out) {
      const b = p.body as EventBatch;
      assert.is(p.subject, `tw.events.${b.partition}`);
      assert.is(p.id, `ev:b-${format}:${b.partition}`);
      for (const e of b.events) assert.is(partitionOf("clicks", e.key, 8), b.partition);
    }
    const a = all.filter((e) => e.key === "a");
    assert.equal(a.map((e) => e.ts), [Date.UTC(2026, 10, 22, 9, 59), receivedAt], `${format}: ISO parsed, missing ts = receivedAt`);
    assert.is(all.find((e) => e.key === "b")!.value, 2.5);
    assert.is(ctx.published.filter((p) => p.type === MessageType.DeadLetter).length, 0);
  }
});

test("invalid events are dead-lettered with their reasons; valid ones of the same batch go on", async () => {
  const ctx = fakeContext({ now: receivedAt });
  const body = text(JSON.stringify([{ key: "ok" }, { key: "" }, { key: "x", value: "7" }, { key: "ok2" }]));
  await actor.receive(null, message("tw.raw.clicks", MessageType.RawBatch, raw("json", body, 4), 42), ctx);
  const good = ctx.published.filter((p) => p.type === MessageType.EventBatch).flatMap((p) => (p.body as EventBatch).events.map((e) => e.key));
  assert.equal(good.sort(), ["ok", "ok2"]);
  const dlq = ctx.published.filter((p) => p.type === MessageType.DeadLetter);
  assert.is(dlq.length, 1);
  assert.is(dlq[0]!.subject, "tw.dlq.decode");
  const entry = dlq[0]!.body as DeadLetterEntry;
  assert.is(entry.seq, 42);
  assert.match(entry.reason, "2 invalid events");
  const listed = entry.payload as { index: number; issues: { path: string; message: string }[] }[];
  assert.equal(listed.map((l) => l.index), [1, 2]);
  assert.is(listed[1]!.issues[0]!.path, "/2/value");
  assert.match(listed[1]!.issues[0]!.message, "numeric strings are not converted");
  assert.is(ctx.metrics.counter("tw_events_invalid_total", "").get({ stream: "clicks" }), 2);
});

test("an unreadable body is dead-lettered whole, nothing published downstream", async () => {
  const ctx = fakeContext({ now: receivedAt });
  await actor.receive(null, message("tw.raw.clicks", MessageType.RawBatch, raw("json", text("{not json"), 1)), ctx);
  assert.equal(ctx.published.map((p) => p.subject), ["tw.dlq.decode"]);
  assert.match((ctx.published[0]!.body as DeadLetterEntry).reason, "unreadable json body: invalid JSON");
});

test.run();
