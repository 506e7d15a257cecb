/**
 * Typed-array columns as little-endian bytes: MessagePack encodes a Uint8Array as one binary
 * blob, where thousands of numbers encoded one by one cost more than the work around them (event
 * batches, packed windows, detector checkpoints). Little-endian hosts get views without copies
 * where alignment allows; big-endian hosts a byte-swapping copy.
 */

const littleEndian = new Uint8Array(new Float64Array([1]).buffer)[7] === 0x3f;

/** The float64 numbers as little-endian bytes (a view, no copy, on little-endian hosts). */
export function float64Bytes(a: Float64Array): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i]!, true);
  return out;
}

/**
 * A copy of `b` in a buffer of its own (aligned). Not `b.slice()`: on a Node Buffer (what a
 * NATS message or a decoder over one hands out) slice is a view, not a copy.
 */
function ownCopy(b: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy.buffer;
}

/** The uint32 numbers as little-endian bytes (a view, no copy, on little-endian hosts). */
export function uint32Bytes(a: Uint32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setUint32(i * 4, a[i]!, true);
  return out;
}

/** Little-endian uint32 bytes as numbers. Length must be a multiple of 4. */
export function readUint32s(b: Uint8Array): Uint32Array {
  const n = b.byteLength >>> 2;
  if (littleEndian) return b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, n) : new Uint32Array(ownCopy(b));
  const out = new Uint32Array(n);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}

/** The float32 numbers as little-endian bytes (a view, no copy, on little-endian hosts). */
export function float32Bytes(a: Float32Array): Uint8Array {
  if (littleEndian) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat32(i * 4, a[i]!, true);
  return out;
}

/** Little-endian float32 bytes as numbers (always a copy: the caller may keep them). Length must be a multiple of 4. */
export function readFloat32s(b: Uint8Array): Float32Array {
  const n = b.byteLength >>> 2;
  if (littleEndian) return new Float32Array(ownCopy(b));
  const out = new Float32Array(n);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Little-endian float64 bytes as numbers (a view when aligned, else one copy). Length must be a multiple of 8. */
export function readFloat64s(b: Uint8Array): Float64Array {
  const n = b.byteLength >>> 3;
  if (littleEndian) return b.byteOffset % 8 === 0 ? new Float64Array(b.buffer, b.byteOffset, n) : new Float64Array(ownCopy(b));
  const out = new Float64Array(n);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}
