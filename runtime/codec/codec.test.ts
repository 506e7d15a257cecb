import { test } from "uvu";
import * as assert from "uvu/assert";
import { MessageCodec } from "./codec.ts";
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

test.run();
