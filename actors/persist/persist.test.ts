import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "@msgpack/msgpack";
import { persistActor, parseObjectName, type PersistState } from "./persist.ts";
import { MessageType, type AggBatch, type RawBatch } from "../../schemas/mod.ts";
import { LocalDirObjectStore, type ObjectStore } from "../../runtime/store/object_store.ts";
import { MemoryFileSystem } from "../../runtime/platform/memory_fs.ts";
import { encode } from "@msgpack/msgpack";
import { fakeContext, message } from "../../test/helpers/fake_ctx.ts";
import type { MessageInput } from "../../runtime/core/actor.ts";
import { MessageCodec } from "../../runtime/codec/codec.ts";

const at = Date.UTC(2026, 10, 22, 14, 5, 0);

function rawInput(seq: number, deliveryCount = 1): MessageInput<RawBatch> {
  const body: RawBatch = {
    stream: "clicks", batchId: `b${seq}`, receivedAt: at, count: 3,
    parts: [
      { batchId: `b${seq}`, receivedAt: at, format: "json", count: 2, source: "http", body: new Uint8Array([1, 2]) },
      { batchId: `b${seq}.2`, receivedAt: at + 1, format: "msgpack", count: 1, source: "ws", body: new Uint8Array([3]) },
    ],
  };
  return { ...message("tw.raw.clicks", MessageType.RawBatch, body, seq), deliveryCount };
}

async function setup() {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  const store = new LocalDirObjectStore(fs, "/data/objects");
  return { fs, store, actor: persistActor({ store, encode: (head, records) => encode({ ...head, records }) }) };
}

async function run(actor: ReturnType<typeof persistActor>, inputs: MessageInput[], ctx = fakeContext({ now: at })) {
  let state: PersistState = await actor.init(ctx);
  for (const input of inputs) state = await actor.receive(state, input, ctx);
  await actor.checkpoint!(state, ctx);
  return ctx;
}

test("objects follow the layout, named by sequence range, holding the records", async () => {
  const { store, actor } = await setup();
  const agg: AggBatch = { partition: 3, watermarks: { clicks: at }, windows: [{ stream: "clicks", key: "a", windowStart: at, windowEnd: at + 10_000, count: 4, sum: 4, min: 1, max: 1, revision: 0 }] };
  await run(actor, [rawInput(1), rawInput(2), message("tw.agg.3", MessageType.AggBatch, agg, 7)]);
  const raw = await store.list("raw/clicks/2026/11/22/14/");
  assert.equal(raw, ["raw/clicks/2026/11/22/14/0-0000000000000001-0000000000000002.msgpack"]);
  const object = decode((await store.get(raw[0]!))!) as { count: number; records: { seq: number; batch: RawBatch }[] };
  assert.is(object.count, 2);
  assert.equal(object.records.map((r) => [r.seq, r.batch.batchId]), [[1, "b1"], [2, "b2"]]);
  assert.equal(object.records[0]!.batch, rawInput(1).body, "the raw batch is archived as published: every request, body as received");
  const aggKeys = await store.list("agg/clicks/2026/11/22/14/");
  assert.equal(aggKeys.map((k) => parseObjectName(k)), [{ partition: 3, firstSeq: 7, lastSeq: 7 }]);
});

test("a same-process raw batch is archived without the parsed events attached to it (as a list or packed)", async () => {
  const { store, actor } = await setup();
  const [first, second] = [rawInput(1), rawInput(2)];
  const listed = { ...first, body: { ...first.body, columns: [{ length: 2 }, { length: 1 }] } };
  const packed = { ...second, body: { ...second.body, packed: { packed: true, lengths: new Uint32Array([2, 1]), keys: "a\u0000b\u0000c" } } };
  await run(actor, [listed, packed]);
  const [name] = await store.list("raw/clicks/2026/11/22/14/");
  const object = decode((await store.get(name!))!) as { records: { batch: Record<string, unknown> }[] };
  assert.equal(object.records.map((r) => r.batch), [first.body, second.body]);
});

test("a raw batch decoded shallowly is archived as its published bytes, its parts never decoded", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  const store = new LocalDirObjectStore(fs, "/data/objects");
  const codec = new MessageCodec();
  const actor = persistActor({ store, encode: (head, records) => codec.encodeWithList(head, "records", records) });
  const plain = rawInput(1);
  const envelope = codec.decodeShallow<RawBatch & { packed?: unknown }>(codec.encode({ v: 1, type: MessageType.RawBatch, id: "b1", ts: at, body: plain.body }), ["parts"]);
  envelope.body.packed = { packed: true, lengths: new Uint32Array([2, 1]), keys: "a\u0000b\u0000c" };
  await run(actor, [{ ...plain, body: envelope.body }, rawInput(2)]);
  assert.ok(Object.getOwnPropertyDescriptor(envelope.body, "parts")!.get !== undefined, "persist did not read the parts");
  const [name] = await store.list("raw/clicks/2026/11/22/14/");
  const object = decode((await store.get(name!))!) as { records: { seq: number; batch: RawBatch }[] };
  assert.equal(object.records, [{ seq: 1, batch: plain.body }, { seq: 2, batch: rawInput(2).body }], "the same records as from the plain body");
});

test("after a crash, input archived before it is not archived again under another range", async () => {
  const { store, actor } = await setup();
  // First life: seqs 1..3 written, but the crash came before their acks.
  await run(actor, [rawInput(1), rawInput(2), rawInput(3)]);
  // Second life: 1..3 redelivered together with new 4..5.
  await run(actor, [rawInput(1, 2), rawInput(2, 2), rawInput(3, 2), rawInput(4), rawInput(5)]);
  const keys = await store.list("raw/clicks/2026/11/22/14/");
  const ranges = keys.map((k) => parseObjectName(k)!);
  assert.equal(ranges.map((r) => [r.firstSeq, r.lastSeq]), [[1, 3], [4, 5]]);
  let records = 0;
  for (const k of keys) records += (decode((await store.get(k))!) as { count: number }).count;
  assert.is(records, 5, "every input archived exactly once");
});

test("prefixes remembered as flushed are bounded; a forgotten one is checked against existing objects again", async () => {
  const fs = new MemoryFileSystem();
  await fs.mkdirp("/data");
  const store = new LocalDirObjectStore(fs, "/data/objects");
  const listed: string[] = [];
  const counting: ObjectStore = {
    put: (key, data) => store.put(key, data),
    get: (key) => store.get(key),
    list: (prefix, start) => (listed.push(prefix), store.list(prefix, start)),
  };
  const actor = persistActor({ store: counting, encode: (head, records) => encode({ ...head, records }), maxSeenPrefixes: 2 });
  const ctx = fakeContext({ now: at });
  const of = (stream: string, seq: number): MessageInput => {
    const input = rawInput(seq);
    return { ...input, subject: `tw.raw.${stream}`, body: { ...input.body, stream } };
  };
  let state = await actor.init(ctx);
  let seq = 0;
  for (const stream of ["a", "b", "c"]) {
    state = await actor.receive(state, of(stream, ++seq), ctx);
    await actor.checkpoint!(state, ctx);
  }
  const prefix = (stream: string) => `raw/${stream}/2026/11/22/14/0`;
  assert.equal([...state.seen], [prefix("b"), prefix("c")], "the least recently flushed (a) is forgotten");
  assert.equal(listed, ["raw/a/2026/11/22/14/", "raw/b/2026/11/22/14/", "raw/c/2026/11/22/14/"], "each first flush since start is checked");
  listed.length = 0;
  for (const stream of ["c", "a"]) {
    state = await actor.receive(state, of(stream, ++seq), ctx);
    await actor.checkpoint!(state, ctx);
  }
  assert.equal(listed, ["raw/a/2026/11/22/14/"], "a is checked again, c is not");
  assert.equal([...state.seen], [prefix("c"), prefix("a")]);
  let records = 0;
  for (const stream of ["a", "b", "c"]) for (const k of await store.list(`raw/${stream}/2026/11/22/14/`)) records += (decode((await store.get(k))!) as { count: number }).count;
  assert.is(records, 5, "every input archived once");
});

test.run();
