import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode } from "@msgpack/msgpack";
import { parseEventColumns, parseEvents } from "./event.ts";
import {
  columnsOf, EventBatchError, eventBatch, eventColumnsOf, eventsOf, packColumns, packedEventBatch, unpackColumns, withColumns,
} from "./event_batch.ts";
import { float64Bytes, readFloat64s } from "./typed_bytes.ts";
import { validateEventBatch } from "./messages.ts";
import type { CanonicalEvent, EventBatch } from "./types.ts";

const t0 = Date.UTC(2026, 0, 21, 14, 30);
const sample: CanonicalEvent[] = [
  { key: "a", ts: t0, value: 1 },
  { key: "页面/首页 🔥", ts: t0 + 1, value: -2.5, tags: { region: "eu", ok: true, n: 3 } },
  { key: "b.c d", ts: t0 + 2, value: 0, id: "e1" },
];

test("a batch survives MessagePack: validated from bytes, its columns read back equal the events", () => {
  const wire = decode(encode({ pad: "x", batch: eventBatch("clicks", 3, "b-1", columnsOf(sample)) })) as { batch: EventBatch };
  assert.equal(validateEventBatch(wire.batch), []);
  assert.equal(eventsOf(eventColumnsOf(wire.batch)), sample);
  assert.is(wire.batch.count, 3);
  assert.is(wire.batch.keys, "a\u0000页面/首页 🔥\u0000b.c d");
});

test("validation remembers the decoded columns: reading them again decodes nothing", () => {
  const wire = decode(encode(eventBatch("clicks", 0, "b", columnsOf(sample)))) as EventBatch;
  assert.equal(validateEventBatch(wire), []);
  assert.is(eventColumnsOf(wire), eventColumnsOf(wire));
});

test("columns attached for same-process consumers are read as they are", () => {
  const columns = columnsOf(sample);
  const local = withColumns(eventBatch("clicks", 0, "b", columns), columns);
  assert.is(eventColumnsOf(local), columns);
});

test("tags and ids columns are absent when no event has one", () => {
  const plain = eventBatch("clicks", 0, "b", columnsOf([{ key: "a", ts: t0, value: 1 }]));
  assert.equal(Object.keys(plain).sort(), ["count", "keys", "partition", "rawBatchId", "stream", "ts", "values"]);
  const tagged = eventBatch("clicks", 0, "b", columnsOf(sample));
  assert.is(tagged.tagSets, JSON.stringify([{ region: "eu", ok: true, n: 3 }]));
  assert.equal([...new Uint32Array(tagged.tagOf!.slice().buffer)], [0, 1, 0]);
});

test("equal tags shared by events are written once; every event reads them back", () => {
  const { columns } = parseEventColumns(
    Array.from({ length: 6 }, (_, i) => ({ key: `k${i}`, tags: i % 3 === 2 ? { device: "mobile" } : { region: "eu", beta: i === 4 } })),
    { receivedAt: t0 },
  );
  assert.is(columns.tags![0], columns.tags![1], "ingest interns equal tags");
  assert.is.not(columns.tags![0], columns.tags![4], "a different value is a different set");
  const batch = eventBatch("clicks", 0, "b", columns);
  assert.equal(JSON.parse(batch.tagSets!), [{ region: "eu", beta: false }, { device: "mobile" }, { region: "eu", beta: true }]);
  const wire = decode(encode(batch)) as EventBatch;
  assert.equal(validateEventBatch(wire), []);
  assert.equal(eventColumnsOf(wire).tags, [
    { region: "eu", beta: false }, { region: "eu", beta: false }, { device: "mobile" },
    { region: "eu", beta: false }, { region: "eu", beta: true }, { device: "mobile" },
  ]);
});

test("a batch per partition writes the shared tag sets as JSON.stringify would, each set's text made once", () => {
  const { columns } = parseEventColumns(
    Array.from({ length: 8 }, (_, i) => ({ key: `k${i}`, tags: i % 2 === 0 ? JSON.parse('{"region":"eu","__proto__":"odd name","n":1.5}') : { beta: true, quote: 'a "b"' } })),
    { receivedAt: t0 },
  );
  const sets = [columns.tags![0]!, columns.tags![1]!];
  for (const [from, to] of [[0, 8], [1, 8], [0, 3]] as const) {
    const part = { ...columns, length: to - from, keys: columns.keys.slice(from, to), ts: columns.ts.subarray(from, to), values: columns.values.subarray(from, to), tags: columns.tags!.slice(from, to) };
    const batch = eventBatch("clicks", from, "b", part);
    assert.is(batch.tagSets, JSON.stringify(from === 0 ? sets : [sets[1], sets[0]]));
    assert.match(batch.tagSets!, '{"region":"eu","__proto__":"odd name","n":1.5}');
  }
});

test("columns packed for another thread unpack to the same columns, equal tags one object again", () => {
  const { columns } = parseEventColumns(
    Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: i, ts: t0 - i, tags: i === 3 ? undefined : { region: i % 2 === 0 ? "eu" : "us" }, id: i === 1 ? "e1" : undefined })),
    { receivedAt: t0 },
  );
  const packed = structuredClone(packColumns([columns]));
  assert.type(packed.keys, "string");
  assert.is(packed.tagSets!.length, 2);
  const [back] = unpackColumns(packed);
  assert.equal(eventsOf(back!), eventsOf(columns));
  assert.is(back!.tags![0], back!.tags![2], "events with equal tags share one object after the crossing");
  assert.is(back!.tags![3], null);
  const none = { length: 0, keys: [], ts: new Float64Array(0), values: new Float64Array(0), tags: undefined, ids: undefined };
  assert.equal(unpackColumns(packColumns([none])).map(eventsOf), [[]]);
  assert.equal(unpackColumns(packColumns([])), []);
});

test("several columns (a group of requests) pack into one set of arrays and unpack entry by entry, each with its own shape", () => {
  const eu = { region: "eu" };
  const list = [
    parseEventColumns([{ key: "a", value: 1, ts: t0, tags: eu }], { receivedAt: t0 }).columns,
    parseEventColumns([{ key: "b", value: 2, ts: t0 - 1 }, { key: "c", value: 3, ts: t0 - 2, id: "x" }], { receivedAt: t0 }).columns,
    { length: 0, keys: [], ts: new Float64Array(0), values: new Float64Array(0), tags: undefined, ids: undefined },
    parseEventColumns([{ key: "d", value: 4, ts: t0 - 3, tags: { region: "eu" }, id: "y" }], { receivedAt: t0 }).columns,
  ];
  const packed = structuredClone(packColumns(list));
  assert.equal([...packed.lengths], [1, 2, 0, 1]);
  assert.is(packed.ts.length, 4);
  const back = unpackColumns(packed);
  assert.equal(back.map(eventsOf), list.map(eventsOf));
  assert.equal(back.map((c) => [c.tags === undefined, c.ids === undefined]), list.map((c) => [c.tags === undefined, c.ids === undefined]));
  assert.equal(back[1]!.ids, list[1]!.ids);
});

test("tags equal in content but not in value type stay apart", () => {
  const { columns } = parseEventColumns([{ key: "a", tags: { n: 1 } }, { key: "b", tags: { n: "1" } }, { key: "c", tags: { n: true } }, { key: "d", tags: { n: 1 } }], { receivedAt: t0 });
  assert.equal(columns.tags, [{ n: 1 }, { n: "1" }, { n: true }, { n: 1 }]);
  assert.is(columns.tags![0], columns.tags![3]);
});

test("reading a malformed batch that skipped validation throws EventBatchError", () => {
  const bad = { ...eventBatch("clicks", 0, "b", columnsOf(sample)), keys: "a" };
  assert.throws(() => eventColumnsOf(bad), (e: unknown) => e instanceof EventBatchError && e.issues[0]!.path === "/keys");
});

test("float64 bytes round-trip from unaligned views", () => {
  const numbers = new Float64Array([t0, -0.5, 1e300, 3]);
  const bytes = float64Bytes(numbers);
  const shifted = new Uint8Array(bytes.length + 3);
  shifted.set(bytes, 3);
  assert.equal([...readFloat64s(shifted.subarray(3))], [...numbers]);
  assert.equal([...readFloat64s(bytes)], [...numbers]);
});

/** Like a Node Buffer: slice() is a view, not a copy. */
class ViewSlice extends Uint8Array {
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end);
  }
}

test("columns read from Buffer-like views at odd offsets into odd-sized buffers", () => {
  const bytes = encode(eventBatch("clicks", 0, "b", columnsOf(sample)));
  for (const shift of [0, 1, 3, 5]) {
    const backing = new ViewSlice(bytes.length + shift + 3);
    backing.set(bytes, shift);
    const wire = decode(backing.subarray(shift, shift + bytes.length)) as EventBatch;
    assert.equal(validateEventBatch(wire), [], `shift ${shift}`);
    assert.equal(eventsOf(eventColumnsOf(wire)), sample, `shift ${shift}`);
  }
});

test("parseEventColumns keeps exactly what parseEvents keeps, column by column", () => {
  const inputs: unknown[] = [
    { key: "a" }, { key: "" }, { key: "b", value: 2, tags: { r: "eu" } }, "nope", { key: "c", ts: t0, id: "x" },
    { key: "d", ts: "2026-01-21T14:30:00Z" }, { key: "e", ts: 5 },
  ];
  const receivedAt = t0 + 1000;
  const objects = parseEvents(inputs, { receivedAt, path: "/p" });
  const { columns, invalid } = parseEventColumns(inputs, { receivedAt, path: "/p" });
  assert.equal(eventsOf(columns), objects.events);
  assert.equal(invalid, objects.invalid);
  assert.is(columns.length, 4);
  assert.is(columns.ts.length, 4);
  assert.equal(columns.tags, [null, { r: "eu" }, null, null]);
  assert.equal(columns.ids, [null, null, "x", null]);
});

test("parseEventColumns copies tags: the columns share nothing with the input", () => {
  const tags = { region: "eu" };
  const { columns } = parseEventColumns([{ key: "k", tags }], { receivedAt: t0 });
  assert.is.not(columns.tags![0], tags);
  tags.region = "us";
  assert.equal(columns.tags![0], { region: "eu" });
});

test("one entry whose columns run past its event count packs and publishes only its events", () => {
  const exact = columnsOf([{ key: "a", ts: t0, value: 1, id: "e1" }, { key: "b", ts: t0 + 1, value: 2 }]);
  const longer = { ...exact, keys: [...exact.keys, "stale"], ids: [...exact.ids!, "stale-id"] };
  const noIds = { ...columnsOf([{ key: "a", ts: t0, value: 1 }]), ids: [null, "stale-id"] };
  for (const [columns, expected] of [[longer, exact], [noIds, { ...noIds, ids: undefined }]] as const) {
    const packed = structuredClone(packColumns([columns]));
    const { batch, columns: local } = packedEventBatch("clicks", 0, "b", packed);
    assert.equal([...encode(batch)], [...encode(eventBatch("clicks", 0, "b", expected))]);
    assert.equal(eventsOf(local), eventsOf(expected));
    assert.equal(validateEventBatch(batch), []);
  }
});

test.run();
