/**
 * Partitioning: which `tw.events.<partition>` an event of `(stream, key)` goes to.
 *
 * FNV-1a 32-bit over the UTF-8 bytes of `stream + "\u0000" + key`, modulo the partition count.
 * The definition is in bytes so any implementation (another language, a future version) can
 * reproduce it; changing it would move keys between partitions and split their windows, so it
 * must never change. The bytes are produced on the fly from UTF-16 code units — this runs for
 * every event, and TextEncoder would allocate per call. An unpaired surrogate hashes as U+FFFD,
 * exactly what TextEncoder would produce.
 */

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** The partition of `(stream, key)` in `0 .. partitions-1`. Throws RangeError unless `partitions` is a positive integer. */
export function partitionOf(stream: string, key: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  let h = fnv1aUtf8(FNV_OFFSET, stream);
  h = Math.imul(h, FNV_PRIME); // the "\u0000" separator byte: xor with 0 changes nothing, the multiply does
  h = fnv1aUtf8(h, key);
  return (h >>> 0) % partitions;
}

/**
 * `partitionOf(stream, ·, partitions)` for many keys of one stream: the stream's part of the
 * hash is computed once. Throws RangeError unless `partitions` is a positive integer.
 */
export function partitionerOf(stream: string, partitions: number): (key: string) => number {
  if (!Number.isSafeInteger(partitions) || partitions < 1) {
    throw new RangeError(`partitions must be a positive integer, got ${partitions}`);
  }
  const h0 = Math.imul(fnv1aUtf8(FNV_OFFSET, stream), FNV_PRIME);
  return (key) => (fnv1aUtf8(h0, key) >>> 0) % partitions;
}

/**
 * FNV-1a 32-bit of the UTF-8 bytes of `s`, continuing from `h` (the FNV offset basis by
 * default; another basis gives another hash of the same bytes). Unsigned.
 */
export function fnv1a(s: string, h: number = FNV_OFFSET): number {
  return fnv1aUtf8(h, s) >>> 0;
}

function fnv1aUtf8(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), FNV_PRIME);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        h = Math.imul(h ^ (0xf0 | (cp >> 18)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 12) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | ((cp >> 6) & 0x3f)), FNV_PRIME);
        h = Math.imul(h ^ (0x80 | (cp & 0x3f)), FNV_PRIME);
        continue;
      }
      c = 0xfffd; // unpaired surrogate, as TextEncoder encodes it
    }
    h = Math.imul(h ^ (0xe0 | (c >> 12)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), FNV_PRIME);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), FNV_PRIME);
  }
  return h;
}
