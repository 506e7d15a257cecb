import { test } from "uvu";
import * as assert from "uvu/assert";
import { partitionerOf, partitionOf } from "./partition.ts";

/** The definition, written the obvious way: FNV-1a 32 over TextEncoder's bytes. */
function reference(stream: string, key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(stream + "\u0000" + key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h % partitions;
}

test("fixed values never change (computed with an independent FNV-1a in Python)", () => {
  // [stream, key, partitions, expected]; hashes 0x0a6b60e5, 0x076b5c2c, 0x6cd9bebc, 0x2c34bab6
  const fixed: [string, string, number, number][] = [
    ["clicks", "user-1", 16, 5],
    ["clicks", "user-2", 16, 12],
    ["clicks", "user-1", 7, 4],
    ["orders", "页面/首页", 16, 12],
    ["orders", "页面/首页", 7, 6],
    ["a", "🔥", 16, 6],
    ["a", "🔥", 7, 3],
    ["s", "", 7, 5],
  ];
  for (const [stream, key, p, expected] of fixed) assert.is(partitionOf(stream, key, p), expected, `${stream}/${key} % ${p}`);
  assert.is(partitionOf("clicks", "user-1", 0x10000000), 0x0a6b60e5 % 0x10000000);
  assert.is(partitionOf("orders", "页面/首页", 2 ** 32), 0x6cd9bebc);
});

test("matches the TextEncoder reference over ASCII, 2-, 3- and 4-byte characters and lone surrogates", () => {
  const keys = ["", "a", "é", "ß-ø", "页", "€uro", "🔥🚀", "a\ud800", "\udc00z", "mixed é页🔥.*> ~", "\u0000", "\u07ff\u0800\uffff"];
  for (const key of keys) {
    for (const p of [1, 2, 16, 97, 2 ** 32]) assert.is(partitionOf("stream_1", key, p), reference("stream_1", key, p), JSON.stringify(key));
  }
});

test("stream and key are separated, not concatenated", () => {
  let differ = 0;
  for (let i = 0; i < 50; i++) if (partitionOf("ab", `c${i}`, 1024) !== partitionOf("a", `bc${i}`, 1024)) differ++;
  assert.ok(differ > 40, `only ${differ} of 50 differ`);
});

test("in range and roughly uniform: 10 000 keys into 16 partitions, each within ±30 % of the mean", () => {
  const counts = new Array<number>(16).fill(0);
  for (let i = 0; i < 10_000; i++) {
    const p = partitionOf("clicks", `user-${i}`, 16);
    assert.ok(Number.isInteger(p) && p >= 0 && p < 16, `partition ${p}`);
    counts[p]!++;
  }
  const mean = 10_000 / 16;
  for (const [p, n] of counts.entries()) assert.ok(Math.abs(n - mean) <= 0.3 * mean, `partition ${p} got ${n} (mean ${mean}): ${counts}`);
});

test("rejects a partition count that is not a positive integer", () => {
  for (const p of [0, -1, 1.5, NaN, Infinity]) assert.throws(() => partitionOf("s", "k", p), (e: unknown) => e instanceof RangeError);
  assert.is(partitionOf("s", "k", 1), 0);
});

test("partitionerOf(stream, n)(key) equals partitionOf(stream, key, n) for every key", () => {
  for (const stream of ["clicks", "a", "s-1_x"]) {
    for (const n of [1, 7, 16, 1024]) {
      const of = partitionerOf(stream, n);
      for (const key of ["a", "checkout", "页面/首页 🔥", "a\ud800b", "x".repeat(300), "k12345"]) {
        assert.is(of(key), partitionOf(stream, key, n), `${stream}/${key}/${n}`);
      }
    }
  }
  assert.throws(() => partitionerOf("s", 0), (e: unknown) => e instanceof RangeError);
});

test.run();
