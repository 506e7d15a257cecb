import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode, ExtData } from "@msgpack/msgpack";
import { mapEntries, NOT_SCALAR, scalarAt, valueEnd } from "./msgpack_extent.ts";
import { CodecError } from "../core/errors.ts";

/** A value of every MessagePack format, each at the sizes where its header changes. */
const samples: [string, unknown][] = [
  ["positive fixint", 7], ["negative fixint", -5], ["uint 8", 200], ["uint 16", 60_000], ["uint 32", 4_000_000_000], ["uint 64", 2 ** 53 - 1],
  ["int 8", -100], ["int 16", -30_000], ["int 32", -2_000_000_000], ["int 64", -(2 ** 53) + 1], ["float 64", 1.5], ["nil", null], ["false", false], ["true", true],
  ["fixstr", "héllo"], ["str 8", "x".repeat(200)], ["str 16", "y".repeat(70_000)], ["str 32", "z".repeat(70_000).repeat(2)],
  ["bin 8", new Uint8Array(10)], ["bin 16", new Uint8Array(300)], ["bin 32", new Uint8Array(70_000)],
  ["fixarray", [1, "a", null]], ["array 16", Array.from({ length: 20 }, (_, i) => i)], ["array 32", new Array(70_000).fill(0)],
  ["fixmap", { a: 1, b: [2, { c: "d" }] }], ["map 16", Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i]))],
  ...[1, 2, 4, 8, 16, 3, 300, 70_000].map((n): [string, unknown] => [`ext of ${n} bytes`, new ExtData(5, new Uint8Array(n))]),
  ["map 32", Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i]))],
  ["nested", { v: 1, body: { parts: [{ body: new Uint8Array([1, 2, 3]), n: -1.25 }], deep: [[[[[]]]]] } }],
];

test("valueEnd finds where each format ends, at an offset and followed by other bytes", () => {
  for (const [name, value] of samples) {
    const bytes = encode(value);
    const framed = new Uint8Array(bytes.length + 5);
    framed.set(bytes, 3);
    framed.fill(0xc1, 3 + bytes.length);
    assert.is(valueEnd(framed, 3), 3 + bytes.length, name);
  }
});

test("valueEnd: float 32, which this encoder never writes", () => {
  const float32 = Uint8Array.of(0xca, 0x3f, 0xc0, 0x00, 0x00, 0xc1); // 1.5, then a byte that is not its
  assert.is(valueEnd(float32, 0), 5);
  assert.is(decode(float32.subarray(0, 5)), 1.5);
});

test("valueEnd refuses truncated values and the unused byte 0xc1 with a CodecError", () => {
  for (const [name, value] of samples) {
    const bytes = encode(value);
    for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2)]) {
      if (cut < 1) continue;
      assert.throws(() => valueEnd(bytes.subarray(0, cut), 0), (e: unknown) => e instanceof CodecError, `${name} cut at ${cut}`);
    }
  }
  assert.throws(() => valueEnd(Uint8Array.of(0x92, 0x01, 0xc1), 0), (e: unknown) => e instanceof CodecError);
  // An array claiming 2^32 - 1 items in five bytes ends at the end of the input, not in a long loop.
  assert.throws(() => valueEnd(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff), 0), (e: unknown) => e instanceof CodecError);
});

test("mapEntries gives each key and where its value lies; non-maps and non-string keys are CodecErrors", () => {
  const value = { v: 1, type: "t", "ключ": [1, 2], body: { parts: [new Uint8Array([9])] } };
  const bytes = encode(value);
  const { entries, end } = mapEntries(bytes, 0);
  assert.is(end, bytes.length);
  assert.equal(entries.map((e) => e.key), ["v", "type", "ключ", "body"]);
  for (const e of entries) assert.equal(bytes.subarray(e.start, e.end), encode(value[e.key as keyof typeof value]), e.key);
  assert.equal(mapEntries(bytes, 0, bytes.length), { entries, end }, "with its end known, the same entries");
  const garbled = bytes.slice();
  garbled[entries[3]!.start + 1] = 0xc1; // inside the last value: not walked when the end is known
  assert.equal(mapEntries(garbled, 0, garbled.length).entries.map((e) => [e.key, e.start, e.end]), entries.map((e) => [e.key, e.start, e.end]));
  assert.throws(() => mapEntries(garbled, 0), (e: unknown) => e instanceof CodecError, "walked otherwise");
  assert.throws(() => mapEntries(encode([1]), 0), (e: unknown) => e instanceof CodecError);
  assert.throws(() => mapEntries(Uint8Array.of(0x81, 0x01, 0xa1, 0x61), 0), (e: unknown) => e instanceof CodecError); // {1: "a"}
  assert.throws(() => mapEntries(Uint8Array.of(0x81, 0xa1, 0xff, 0x01), 0), (e: unknown) => e instanceof CodecError, "a key that is not UTF-8");
});

test("scalarAt reads the scalars it takes as the Decoder does, and leaves the rest to it", () => {
  const scalars = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), 1.5, -0.1, 1_700_000_000_000.5, null, true, false, "", "tw.raw_batch.v1", "b:" + "x".repeat(100)];
  for (const value of scalars) {
    const bytes = encode(value);
    const read = scalarAt(bytes, 0, valueEnd(bytes, 0));
    assert.ok(read !== NOT_SCALAR, `${String(value)} is read directly`);
    assert.equal(read, decode(bytes), String(value));
  }
  for (const [name, value] of samples) {
    const bytes = encode(value);
    const read = scalarAt(bytes, 0, valueEnd(bytes, 0));
    if (read !== NOT_SCALAR) assert.equal(read, decode(bytes), name);
  }
  for (const value of [2 ** 32, -(2 ** 31) - 1, "héllo", "y".repeat(300), [1], { a: 1 }, new Uint8Array(1)]) {
    assert.is(scalarAt(encode(value), 0, encode(value).length), NOT_SCALAR, JSON.stringify(String(value)).slice(0, 20));
  }
});

test.run();
