/** KvCheckpointStore against a real nats-server (max_payload 8 MiB): inline and chunked values. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNatsServer, type NatsServerHandle } from "../../../test/helpers/nats_server.ts";
import { KvCheckpointStore, NatsTransport } from "./mod.ts";
import { pieces } from "./kv_checkpoint_store.ts";
import { MessageCodec } from "../../codec/codec.ts";

let shared: Promise<NatsServerHandle> | undefined;

async function withStore(body: (store: KvCheckpointStore, t: NatsTransport) => Promise<void>, chunkBytes?: number): Promise<void> {
  shared ??= startNatsServer();
  const t = await NatsTransport.connect({ servers: (await shared).url, log: () => {} });
  try {
    await body(await KvCheckpointStore.open(t, { bucket: `ckpt_${chunkBytes ?? "default"}`, chunkBytes }), t);
  } finally {
    await t.close();
  }
}

function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test("save then load returns the same bytes; an unknown name loads undefined", () =>
  withStore(async (store) => {
    assert.is(await store.load("nobody"), undefined);
    await store.save("aggregate/0", new Uint8Array([1, 2, 3]));
    assert.equal(await store.load("aggregate/0"), new Uint8Array([1, 2, 3]));
    await store.save("aggregate/0", new Uint8Array([4]));
    assert.equal(await store.load("aggregate/0"), new Uint8Array([4]));
    await store.save("empty", new Uint8Array(0));
    assert.equal(await store.load("empty"), new Uint8Array(0));
  }));

test("a value of several MiB round-trips in chunks, and a new save replaces it whole", () =>
  withStore(async (store, t) => {
    const big = bytes(5 * 1024 * 1024 + 17, 1);
    await store.save("detect/3", big);
    assert.ok(same(await store.load("detect/3"), big), "5 MiB back intact");
    const bigger = bytes(7 * 1024 * 1024, 2);
    await store.save("detect/3", bigger);
    assert.ok(same(await store.load("detect/3"), bigger), "the second save, other slot");
    await store.save("detect/3", bytes(100, 3));
    assert.equal(await store.load("detect/3"), bytes(100, 3));
    const jsm = await jetstreamManager(t.natsConnection);
    const info = await jsm.streams.info("KV_ckpt_default");
    assert.ok(info.state.bytes < 64 * 1024, `old chunks purged (${info.state.bytes} bytes left)`);
  }));

test("small chunks: many pieces, names with any characters", () =>
  withStore(async (store) => {
    const value = bytes(10_000, 4);
    await store.save("a.b c/é", value);
    await store.save("a=2Eb", bytes(10, 5));
    assert.equal(await store.load("a.b c/é"), value);
    assert.equal(await store.load("a=2Eb"), bytes(10, 5));
  }, 1000));

test("saved in parts (a checkpoint's encoding with its state slab uncopied), a value loads as their concatenation", () =>
  withStore(async (store) => {
    const parts = [bytes(10, 6), bytes(2500, 7), bytes(1, 8), bytes(999, 9), bytes(3000, 10)];
    const whole = new Uint8Array(parts.flatMap((p) => [...p]));
    await store.save("parts", parts);
    assert.ok(same(await store.load("parts"), whole), "chunked");
    await store.save("inline", [bytes(3, 11), bytes(4, 12)]);
    assert.equal(await store.load("inline"), new Uint8Array([...bytes(3, 11), ...bytes(4, 12)]));
  }, 1000));

test("a checkpoint encoded in parts around a large binary (default chunk size) loads as its plain encoding", () =>
  withStore(async (store) => {
    const numbers = new Float64Array(400_000).map((_, i) => i * 0.5);
    const value = { seqs: { a: 3 }, snapshot: [[0, { keys: "k", columns: new Uint8Array(numbers.buffer), windows: 7 }]] };
    const codec = new MessageCodec();
    const parts = codec.encodeLargeParts(value);
    assert.ok(parts.length > 1);
    await store.save("aggregate/9", parts);
    assert.ok(same(await store.load("aggregate/9"), codec.encodeValue(value)));
  }));

test("pieces: parts cut into equal pieces, views within a part, copies across parts", () => {
  const parts = [bytes(10, 1), bytes(25, 2), bytes(0, 3), bytes(3, 4)];
  const whole = new Uint8Array(parts.flatMap((p) => [...p]));
  for (const size of [1, 4, 7, 10, 38, 100]) {
    const out = pieces(parts, size);
    assert.equal(new Uint8Array(out.flatMap((p) => [...p])), whole, `size ${size}`);
    assert.ok(out.slice(0, -1).every((p) => p.byteLength === size) && out.at(-1)!.byteLength <= size);
  }
  const [first, second] = pieces(parts, 10);
  assert.is(first!.buffer, parts[0]!.buffer, "within a part: a view");
  assert.is(second!.buffer, parts[1]!.buffer);
});

test("the shared nats-server stops", async () => {
  if (shared) await (await shared).cleanup();
});

test.run();
