import { test } from "uvu";
import * as assert from "uvu/assert";
import { concatBytes } from "../bytes.ts";
import { assertSameBytes } from "../../test/helpers/same_bytes.ts";
import { EncodedValue, LIST_SPLICED_BINARY, MAX_RETAINED_BUFFER, MessageCodec, publishedBytesOf } from "./codec.ts";
import { LARGE_BINARY } from "./large_binaries.ts";
import { CodecError } from "../core/errors.ts";

const codec = new MessageCodec();

test("envelope round trip keeps body types (numbers, strings, binary, nested)", () => {
  const body = { s: "héllo ☃", n: 1.5, i: -3, big: 2 ** 40, b: true, bin: new Uint8Array([0, 1, 255]), arr: [{ k: "a" }], tags: { x: 1 } };
  const bytes = codec.encode({ v: 1, type: "t.v1", id: "id-1", ts: 1700000000000, body });
  const back = codec.decode<typeof body>(bytes, "t.v1");
  assert.equal(back.body.bin, new Uint8Array([0, 1, 255]));
  assert.equal(back.body, body);
  assert.is(back.id, "id-1");
});

test("undefined fields are left off the wire", () => {
  const bytes = codec.encode({ v: 1, type: "t", id: "i", ts: 1, body: { a: 1, b: undefined } });
  assert.equal(Object.keys(codec.decode<Record<string, unknown>>(bytes).body), ["a"]);
});

test("garbage, wrong shapes and wrong types are CodecErrors", () => {
  const cases: Uint8Array[] = [
    new Uint8Array([0xc1]),
    codec.encodeValue([1, 2]),
    codec.encodeValue({ v: 2, type: "t", id: "i", ts: 1, body: null }),
    codec.encodeValue({ v: 1, type: 3, id: "i", ts: 1, body: null }),
    codec.encodeValue({ v: 1, type: "t", ts: 1, body: null }),
  ];
  for (const bytes of cases) assert.throws(() => codec.decode(bytes), (e: unknown) => e instanceof CodecError);
  const ok = codec.encode({ v: 1, type: "a", id: "i", ts: 1, body: null });
  assert.throws(() => codec.decode(ok, "b"), (e: unknown) => e instanceof CodecError);
});

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test("encoding a value bigger than MAX_RETAINED_BUFFER lets the Encoder's grown buffer go, and the codec goes on working", () => {
  const codec = new MessageCodec();
  const big = { blob: pattern(3 * MAX_RETAINED_BUFFER, 1), text: "x".repeat(1000) };
  const bytes = codec.encodeValue(big);
  assert.ok(codec.bufferBytes <= MAX_RETAINED_BUFFER, `buffer kept: ${codec.bufferBytes} bytes`);
  assert.equal(codec.decodeValue(bytes), big);
  const envelope = { v: 1, type: "t", id: "i", ts: 1, body: { a: [1, 2, 3] } };
  assert.equal(codec.decode(codec.encode(envelope)), envelope);
  assert.ok(codec.bufferBytes > 0 && codec.bufferBytes <= MAX_RETAINED_BUFFER);
  codec.encodeValue({ s: "y".repeat(2 * MAX_RETAINED_BUFFER) });
  assert.ok(codec.bufferBytes <= MAX_RETAINED_BUFFER, "a large string too");
});

test("encodeLarge: the same bytes as encodeValue, large binaries (any typed array, views at an offset) copied straight in", () => {
  const codec = new MessageCodec();
  const floats = new Float64Array(LARGE_BINARY / 8 + 10).map((_, i) => i / 7);
  const value = {
    seqs: { "tw.agg.0": 12 },
    snapshot: {
      packed: 3,
      slab: new Uint8Array(floats.buffer, 8, LARGE_BINARY + 16),
      small: pattern(100, 2),
      list: [pattern(LARGE_BINARY, 3), { nested: floats }, "z", null, 4.5],
    },
  };
  const large = codec.encodeLarge(value);
  assert.equal(large, new MessageCodec().encodeValue(value));
  assert.ok(codec.bufferBytes < LARGE_BINARY, `the binaries did not pass through the Encoder: ${codec.bufferBytes}`);
  const back = codec.decodeValue(large) as typeof value;
  assert.equal(back.snapshot.slab, value.snapshot.slab);
  assert.equal(back.snapshot.list[0], pattern(LARGE_BINARY, 3));
  for (const v of [{ a: 1, b: pattern(10, 5) }, { a: [pattern(LARGE_BINARY - 1, 4), pattern(LARGE_BINARY, 6)] }]) {
    assert.equal(codec.encodeLarge(v), new MessageCodec().encodeValue(v));
  }
});

test("encodeWithList: the same bytes as encodeValue with the list last, at every array-header size and with items larger than a chunk", () => {
  const fresh = new MessageCodec();
  const head = { kind: "raw", partition: 3, skipped: undefined, firstSeq: 7 };
  const big = new Uint8Array(3 << 20).map((_, i) => i % 251);
  for (const n of [0, 1, 15, 16, 300, 65535, 65536, 70000]) {
    const items = Array.from({ length: n }, (_, i) => ({ seq: i, window: { key: `k${i % 97}`, count: i * 3, sum: i / 7 } }));
    if (n === 300) items.splice(150, 0, { seq: -1, window: { key: "big", count: 0, sum: 0, bytes: big } as never });
    const parts = fresh.encodeWithList(head, "records", items);
    assertSameBytes(concatBytes(parts), fresh.encodeValue({ ...head, records: items }), `${n} items`);
  }
  assert.ok(fresh.bufferBytes <= MAX_RETAINED_BUFFER, "the 3 MiB item's buffer is kept or let go within the bound");
  const small = fresh.encodeWithList(head, "records", [{ seq: 1 }, { seq: 2 }]);
  assert.ok(small.every((p) => p.buffer.byteLength < 1024), "a short list's chunk is sized to it, not a whole MiB");
  assert.throws(() => fresh.encodeWithList({ records: 1 }, "records", []), /last field/);
});

test("encodeWithList: binaries of LIST_SPLICED_BINARY bytes or more inside the items are parts of their own, not copied; the bytes are encodeValue's", () => {
  const codec = new MessageCodec();
  const head = { kind: "raw", partition: 0, firstSeq: 1, lastSeq: 3 };
  const backing = new Uint8Array(LIST_SPLICED_BINARY * 4).map((_, i) => i % 253);
  const atOffset = backing.subarray(7, 7 + LIST_SPLICED_BINARY); // a view inside a larger buffer, exactly the size
  const large = new Uint8Array(LIST_SPLICED_BINARY * 2).map((_, i) => (i * 7) % 251);
  const small = new Uint8Array(LIST_SPLICED_BINARY - 1).fill(9);
  const items = [
    { seq: 1, batch: { stream: "s", parts: [{ batchId: "a", body: atOffset }, { batchId: "b", body: small }] } },
    { seq: 2, batch: { stream: "s", parts: [] } },
    { seq: 3, batch: { stream: "s", parts: [{ batchId: "c", body: large }, { batchId: "d", body: large }] } },
  ];
  const parts = codec.encodeWithList(head, "records", items);
  assertSameBytes(concatBytes(parts), new MessageCodec().encodeValue({ ...head, records: items }), "encodeValue's bytes");
  const sharing = (b: Uint8Array) => parts.filter((p) => p.buffer === b.buffer);
  assert.equal(sharing(atOffset).map((p) => [p.byteOffset, p.byteLength]), [[7, LIST_SPLICED_BINARY]], "the view at an offset is passed on as it is");
  assert.is(sharing(large).length, 2, "each occurrence of a large body is a part");
  assert.is(sharing(small).length, 0, "a body under the threshold is copied into a chunk");
  assert.ok(parts.length <= 9, `pieces between the binaries share chunks (${parts.length} parts)`);

  // One record of many bodies (the last item of a list): the bytes between them share a chunk.
  const many = [{ seq: 1, batch: { stream: "s", parts: Array.from({ length: 100 }, (_, k) => ({ batchId: `b${k}`, body: large })) } }];
  const manyParts = codec.encodeWithList(head, "records", many);
  assertSameBytes(concatBytes(manyParts), new MessageCodec().encodeValue({ ...head, records: many }), "100 bodies");
  const buffers = new Set(manyParts.filter((p) => p.buffer !== large.buffer).map((p) => p.buffer));
  assert.ok(buffers.size <= 3, `the pieces and headers of 100 bodies take ${buffers.size} buffers`);
});

test("decodeShallow: the envelope decode gives, the lazy body fields decoded only when read, the body's bytes kept", () => {
  const codec = new MessageCodec();
  const body = { stream: "s", batchId: "b:1", receivedAt: 1_700_000_000_000, count: 2, parts: [{ batchId: "b:1", body: new Uint8Array([1, 2]) }, { batchId: "b:2", body: new Uint8Array(3) }] };
  const bytes = codec.encode({ v: 1, type: "tw.raw_batch.v1", id: "b:1", ts: 5, body });
  const shallow = codec.decodeShallow<typeof body>(bytes, ["parts"]);
  assert.ok(Object.getOwnPropertyDescriptor(shallow.body, "parts")!.get !== undefined, "parts not decoded yet");
  assert.is(shallow.body.stream, "s");
  assertSameBytes(publishedBytesOf(shallow.body)!, codec.encodeValue(body), "the body's bytes as published");
  assert.equal(shallow, codec.decode(bytes), "reading parts decodes them: the same envelope as decode");
  assert.ok(Object.getOwnPropertyDescriptor(shallow.body, "parts")!.value !== undefined, "decoded once, then kept");
  assert.is(publishedBytesOf(codec.decode(bytes).body as object), undefined, "decode keeps no bytes");
  const isCodecError = (e: unknown) => e instanceof CodecError;
  for (const bad of [new Uint8Array([0xc1]), codec.encodeValue([1]), codec.encodeValue({ v: 2, type: "t", id: "i", ts: 1, body: {} }), concatBytes([codec.encodeValue({ v: 1, type: "t", id: "i", ts: 1 }), Uint8Array.of(1)]), concatBytes([codec.encodeValue({ v: 1, type: "t", id: "i", ts: 1, body: {} }), Uint8Array.of(1)])]) {
    assert.throws(() => codec.decode(bad), isCodecError);
    assert.throws(() => codec.decodeShallow(bad, ["parts"]), isCodecError);
  }
  // A body key of nine letters renamed __proto__ in the bytes: refused, as decode refuses it.
  const proto = codec.encodeValue({ v: 1, type: "t", id: "i", ts: 1, body: { streamXYZ: 1, parts: [] } });
  const key = new TextEncoder().encode("streamXYZ");
  const keyAt = proto.findIndex((_, i) => key.every((c, j) => proto[i + j] === c));
  proto.set(new TextEncoder().encode("__proto__"), keyAt);
  assert.throws(() => codec.decode(proto), isCodecError);
  assert.throws(() => codec.decodeShallow(proto, ["parts"]), isCodecError);
  // A lazy field is checked when it is read: the parts come last, so a cut there shows then.
  const cut = codec.decodeShallow<typeof body>(bytes.subarray(0, bytes.length - 1), ["parts"]);
  assert.is(cut.body.count, 2);
  assert.throws(() => cut.body.parts, isCodecError);
  assert.throws(() => codec.decodeShallow(bytes.subarray(0, bytes.length - 1), []), isCodecError, "read at once when not lazy");
});

test("encodeWithList: an EncodedValue is written as its bytes, copied when small and a part of its own from LIST_SPLICED_BINARY on", () => {
  const codec = new MessageCodec();
  const head = { kind: "raw", partition: 0, firstSeq: 1, lastSeq: 2 };
  const small = { stream: "s", parts: [{ body: new Uint8Array([1, 2, 3]) }] };
  const large = { stream: "t", parts: [{ body: new Uint8Array(LIST_SPLICED_BINARY).fill(4) }] };
  const largeBytes = codec.encodeValue(large);
  const items = [{ seq: 1, batch: new EncodedValue(codec.encodeValue(small)) }, { seq: 2, batch: new EncodedValue(largeBytes) }];
  const parts = codec.encodeWithList(head, "records", items);
  assertSameBytes(concatBytes(parts), codec.encodeValue({ ...head, records: [{ seq: 1, batch: small }, { seq: 2, batch: large }] }), "the values' own encoding");
  assert.equal(parts.filter((p) => p.buffer === largeBytes.buffer).length, 1, "the large one is passed on, not copied");
  assertSameBytes(concatBytes(codec.encodeLargeParts({ a: new EncodedValue(codec.encodeValue(small)) })), codec.encodeValue({ a: small }), "encodeLarge too");
});

test.run();
