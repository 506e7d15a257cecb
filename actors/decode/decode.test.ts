import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode, decode } from "@msgpack/msgpack";
import { decodeActor } from "./decode.ts";
import {
  columnsOf, eventColumnsOf, eventsOf, MessageType, packColumns, partitionOf, type CanonicalEvent, type DeadLetterEntry, type EventBatch, type RawBatch, type RawPart,
} from "../../schemas/mod.ts";
import { fakeContext, message, type Published } from "../../test/helpers/fake_ctx.ts";

const actor = decodeActor({ partitions: 8, maxEventsPerBatch: 1000, decodeMsgpack: (b) => decode(b) });
const receivedAt = Date.UTC(2026, 10, 22, 10, 0, 0);
const text = (s: string) => new TextEncoder().encode(s);

function part(format: RawPart["format"], body: Uint8Array, count: number, batchId = `b-${format}`, at = receivedAt): RawPart {
  return { batchId, receivedAt: at, format, count, source: "nats", body };
}

function raw(format: RawPart["format"], body: Uint8Array, count: number): RawBatch {
  return rawOf([part(format, body, count)]);
}

function rawOf(parts: RawPart[]): RawBatch {
  return { stream: "clicks", batchId: parts[0]!.batchId, receivedAt: parts[0]!.receivedAt, count: parts.reduce((n, p) => n + p.count, 0), parts };
}

/** The events of published EventBatches, as objects, read from their wire form. */
const eventsIn = (body: unknown): CanonicalEvent[] => eventsOf(eventColumnsOf(body as EventBatch));

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
    const all = out.flatMap((p) => eventsIn(p.body));
    assert.equal(all.length, 3, format);
    for (const p of out) {
      const b = p.body as EventBatch;
      assert.is(p.subject, `tw.events.${b.partition}`);
      assert.is(p.id, `ev:b-${format}:${b.partition}`);
      for (const e of eventsIn(b)) assert.is(partitionOf("clicks", e.key, 8), b.partition);
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
  const good = ctx.published.filter((p) => p.type === MessageType.EventBatch).flatMap((p) => eventsIn(p.body).map((e) => e.key));
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

test("a batch of several requests: each part is read with its own format and receivedAt, bad parts dead-lettered alone", async () => {
  const ctx = fakeContext({ now: receivedAt });
  const later = receivedAt + 5_000;
  const batch = rawOf([
    part("json", text(JSON.stringify([{ key: "a" }, { key: "b", value: 3 }])), 2, "b-1"),
    part("msgpack", encode({ key: "c", tags: { r: "eu" }, id: "x" }), 1, "b-2", later),
    part("json", text("{broken"), 1, "b-3"),
    part("ndjson", text('{"key":"d"}\n{"key":""}\n'), 2, "b-4", later),
  ]);
  await actor.receive(null, message("tw.raw.clicks", MessageType.RawBatch, batch, 9), ctx);
  const out = ctx.published.filter((p) => p.type === MessageType.EventBatch);
  assert.ok(out.every((p) => p.id === `ev:b-1:${(p.body as EventBatch).partition}`), "ids derive from the message's batchId");
  const all = out.flatMap((p) => eventsIn(p.body)).sort((x, y) => (x.key < y.key ? -1 : 1));
  assert.equal(all, [
    { key: "a", ts: receivedAt, value: 1 },
    { key: "b", ts: receivedAt, value: 3 },
    { key: "c", ts: later, value: 1, tags: { r: "eu" }, id: "x" },
    { key: "d", ts: later, value: 1 },
  ]);
  const dlq = ctx.published.filter((p) => p.type === MessageType.DeadLetter);
  assert.equal(dlq.map((p) => p.id).sort(), ["dlq:decode:b-3", "dlq:decode:b-4"]);
  assert.match((dlq.find((p) => p.id === "dlq:decode:b-4")!.body as DeadLetterEntry).reason, "1 invalid events in batch b-4; first: /1/key");
  assert.is(ctx.metrics.counter("tw_events_invalid_total", "").get({ stream: "clicks" }), 2);
  assert.is(ctx.metrics.counter("tw_events_decoded_total", "").get({ stream: "clicks" }), 4);
});

test("a batch published in this process is partitioned from its attached columns, not re-parsed", async () => {
  const ctx = fakeContext({ now: receivedAt });
  const events: CanonicalEvent[] = Array.from({ length: 50 }, (_, i) => ({ key: `k${i % 13}`, ts: receivedAt + i, value: i, ...(i % 7 === 0 ? { tags: { n: i } } : {}) }));
  // The body bytes are not even JSON: only the columns ingest attached are read.
  const local = { ...raw("json", text("not read"), 50), columns: [columnsOf(events.slice(0, 20)), columnsOf(events.slice(20))] };
  await actor.receive(null, message("tw.raw.clicks", MessageType.RawBatch, local), ctx);
  assert.is(ctx.published.filter((p) => p.type === MessageType.DeadLetter).length, 0);
  const out = ctx.published.filter((p) => p.type === MessageType.EventBatch);
  for (const p of out) {
    const b = p.body as EventBatch;
    const got = eventsIn(b);
    assert.equal(got, events.filter((e) => partitionOf("clicks", e.key, 8) === b.partition), `partition ${b.partition} keeps input order`);
    assert.is(b.tagSets === undefined, got.every((e) => e.tags === undefined), "tag columns only where some event has tags");
  }
  assert.is(out.reduce((n, p) => n + (p.body as EventBatch).count, 0), 50);
});

test("a batch that crossed from ingest's thread (columns packed) publishes what the same batch with its column list does", async () => {
  const events: CanonicalEvent[] = Array.from({ length: 60 }, (_, i) => ({
    key: `k${i % 17}`, ts: receivedAt + i, value: i, ...(i % 5 === 0 ? { tags: { n: i % 3 } } : {}), ...(i % 11 === 0 ? { id: `e${i}` } : {}),
  }));
  const list = [columnsOf(events.slice(0, 25)), columnsOf(events.slice(25, 25)), columnsOf(events.slice(25))];
  const base = raw("json", text("not read"), 60);
  const published = async (partitions: number, body: RawBatch): Promise<Published[]> => {
    const ctx = fakeContext({ now: receivedAt });
    await decodeActor({ partitions, maxEventsPerBatch: 1000, decodeMsgpack: (b) => decode(b) }).receive(null, message("tw.raw.clicks", MessageType.RawBatch, body), ctx);
    assert.is(ctx.metrics.counter("tw_events_decoded_total", "").get({ stream: "clicks" }), 60);
    return ctx.published;
  };
  for (const partitions of [1, 8]) {
    const fromList = await published(partitions, { ...base, columns: list } as RawBatch);
    const fromPacked = await published(partitions, { ...base, packed: structuredClone(packColumns(list)) } as RawBatch);
    assert.equal(fromPacked.map((p) => [p.subject, p.id]), fromList.map((p) => [p.subject, p.id]), `${partitions} partitions: same messages`);
    for (let i = 0; i < fromList.length; i++) {
      assert.equal([...encode(fromPacked[i]!.body)], [...encode(fromList[i]!.body)], `${partitions} partitions, ${fromList[i]!.subject}: same bytes`);
      const local = (p: Published) => eventsOf(eventColumnsOf(p.localBody as EventBatch));
      assert.equal(local(fromPacked[i]!), local(fromList[i]!), `${partitions} partitions: same columns for same-process consumers`);
      assert.equal(local(fromPacked[i]!), eventsIn(fromPacked[i]!.body));
    }
    assert.is(fromList.length, partitions === 1 ? 1 : new Set(events.map((e) => partitionOf("clicks", e.key, 8))).size);
  }
});

test.run();
