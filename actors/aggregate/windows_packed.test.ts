import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode } from "@msgpack/msgpack";
import { Windower, WindowRestoreError } from "./windows.ts";
import { packSnapshot, unpackSnapshot, type PackedWindowerSnapshot } from "./windows_packed.ts";

function sample(): Windower {
  const w = new Windower({ defaults: { sizeMs: 10_000, allowedLatenessMs: 60_000 } });
  w.add("s", [{ key: "a", ts: 1_000, value: 2 }, { key: "页面 🔥", ts: 3_000, value: -1.5 }, { key: "a", ts: 14_000, value: 1 }], 0);
  w.add("t", [{ key: "b", ts: 2_000, value: 0.1 }], 0);
  w.add("s", [{ key: "c", ts: 30_000, value: 7 }], 1);
  w.emitOpen();
  w.add("s", [{ key: "c", ts: 31_000, value: 1 }], 2);
  return w;
}

test("a packed snapshot survives MessagePack and unpacks to exactly the plain snapshot", () => {
  const plain = sample().snapshot();
  const packed = decode(encode(packSnapshot(plain))) as PackedWindowerSnapshot;
  const s = packed.streams.find((p) => p.stream === "s")!;
  assert.is(typeof s.keys, "string");
  assert.ok(s.columns instanceof Uint8Array);
  assert.is(s.windows, 4, "the sample holds several windows");
  assert.equal(unpackSnapshot(packed), plain);
});

/** Like a Node Buffer (what a checkpoint file is read into): slice() is a view, not a copy. */
class ViewSlice extends Uint8Array {
  override slice(start?: number, end?: number): Uint8Array<ArrayBuffer> {
    return this.subarray(start, end);
  }
}

test("a packed snapshot read from a Buffer-like view at an odd offset unpacks the same", () => {
  const plain = sample().snapshot();
  const bytes = encode(packSnapshot(plain));
  for (const shift of [1, 3]) {
    const backing = new ViewSlice(bytes.length + shift + 5);
    backing.set(bytes, shift);
    assert.equal(unpackSnapshot(decode(backing.subarray(shift, shift + bytes.length)) as PackedWindowerSnapshot), plain);
  }
});

test("a windower restored from the packed form continues like the original", () => {
  const original = sample();
  const restored = Windower.restore(unpackSnapshot(decode(encode(packSnapshot(original.snapshot()))) as PackedWindowerSnapshot), { defaults: { sizeMs: 10_000, allowedLatenessMs: 60_000 } });
  const step = [{ key: "a", ts: 45_000, value: 1 }, { key: "c", ts: 32_000, value: 3 }];
  assert.equal(restored.add("s", step, 3), original.add("s", step, 3));
  assert.equal(restored.flush(), original.flush());
});

test("plain snapshots (older checkpoints) pass through; malformed packed ones are refused", () => {
  const plain = sample().snapshot();
  assert.is(unpackSnapshot(plain), plain);
  const packed = packSnapshot(plain);
  const bad = { ...packed, streams: [{ ...packed.streams[0]!, windows: packed.streams[0]!.windows + 1 }] };
  assert.throws(() => unpackSnapshot(bad), (e: unknown) => e instanceof WindowRestoreError);
  const badKeys = { ...packed, streams: [{ ...packed.streams[0]!, keys: `${packed.streams[0]!.keys}\u0000extra` }] };
  assert.throws(() => unpackSnapshot(badKeys), (e: unknown) => e instanceof WindowRestoreError);
});

test.run();
