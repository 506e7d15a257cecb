import * as assert from "uvu/assert";

/**
 * Byte arrays equal, or a failure naming the first difference (uvu's diff of two long arrays
 * takes minutes to build, so a plain assert.equal on them hangs the run instead of failing it).
 */
export function assertSameBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  if (actual === undefined) return assert.unreachable(`${what}: no bytes, expected ${expected.length}`);
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  if (at === actual.length && at === expected.length) return;
  assert.unreachable(`${what}: ${actual.length} bytes against ${expected.length}, first difference at byte ${at}`);
}
