/**
 * Float64 columns as little-endian bytes, for compact checkpoints: MessagePack encodes a
 * Uint8Array as one binary blob (a copy), where tens of thousands of numbers encoded one by one
 * cost more than taking the snapshot. Big-endian hosts get a byte-swapping copy.
 */

const littleEndian = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** The bytes of `a` (a view, no copy, on little-endian hosts). */
export function float64ToBytes(a: Float64Array): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i]!, true);
  return out;
}

/** A Float64Array of its own (aligned) read from `b`; `b.byteLength` must be a multiple of 8. */
export function float64FromBytes(b: Uint8Array): Float64Array {
  const n = b.byteLength / 8;
  if (littleEndian) {
    // A copy in a buffer of its own (aligned). Not b.slice(): on a Node Buffer that is a view.
    const copy = new Uint8Array(b.byteLength);
    copy.set(b);
    return new Float64Array(copy.buffer);
  }
  const out = new Float64Array(n);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
