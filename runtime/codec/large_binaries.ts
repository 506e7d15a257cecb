/**
 * MessagePack of a value holding large binaries (a checkpoint's state blocks, hundreds of MB)
 * without routing them through the Encoder's buffer. The Encoder grows its buffer to twice what
 * it needs and `encode` returns a copy: a 200 MB binary costs 400 MB of buffer plus the 200 MB
 * copy. Here each binary of at least LARGE_BINARY bytes is replaced by a small marker (an ext
 * value carrying a random nonce and the binary's index), the rest is encoded as usual, and the
 * result is a list of parts: the encoded pieces between markers (copied), each binary's bin 32
 * header, and the binaries themselves (not copied). Concatenated, the parts are what encoding
 * the value directly gives.
 */
import { ExtData } from "@msgpack/msgpack";
import { concatBytes } from "../bytes.ts";

/** Binaries from this size on are spliced in; smaller ones are encoded in place. */
export const LARGE_BINARY = 1 << 20;
/** An ext type for the markers (they never reach the output). */
const MARKER_TYPE = 0x5c;
/** fixext 16 code: a marker is 0xd8, MARKER_TYPE, 12 nonce bytes, 4 index bytes (big-endian). */
const FIXEXT16 = 0xd8;
const MARKER_BYTES = 18;
const NONCE_BYTES = 12;
const BIN32 = 0xc6;
/** Containers deeper than this are left alone (the Encoder's own depth limit is 100). */
const MAX_DEPTH = 64;

/** A value with its large binaries swapped for markers, and those binaries in marker order. */
export interface Marked {
  value: unknown;
  binaries: Uint8Array[];
}

/**
 * Replaces each binary (any ArrayBufferView, as the Encoder treats them) of LARGE_BINARY bytes
 * or more in plain objects and arrays by a marker; containers are copied only on the path to one.
 */
export function markLargeBinaries(value: unknown, nonce: Uint8Array): Marked {
  const binaries: Uint8Array[] = [];
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== "object" || depth > MAX_DEPTH) return v;
    if (ArrayBuffer.isView(v)) {
      if (v.byteLength < LARGE_BINARY) return v;
      const data = new Uint8Array(16);
      data.set(nonce);
      new DataView(data.buffer).setUint32(NONCE_BYTES, binaries.length);
      binaries.push(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
      return new ExtData(MARKER_TYPE, data);
    }
    if (Array.isArray(v)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item === null || typeof item !== "object") continue;
        const marked = walk(item, depth + 1);
        if (marked !== item) (copy ??= v.slice())[i] = marked;
      }
      return copy ?? v;
    }
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) return v; // Dates, Maps, class instances: as the Encoder sees them
    let copy: Record<string, unknown> | undefined;
    const record = v as Record<string, unknown>;
    for (const key of Object.keys(record)) {
      const item = record[key];
      if (item === null || typeof item !== "object") continue;
      const marked = walk(item, depth + 1);
      if (marked !== item) (copy ??= { ...record })[key] = marked;
    }
    return copy ?? v;
  };
  return { value: walk(value, 0), binaries };
}

/** The encoding of the original value, in parts: `encoded` (of the marked value) with each marker replaced by its binary. */
export function spliceBinaries(encoded: Uint8Array, binaries: Uint8Array[], nonce: Uint8Array): Uint8Array[] {
  const at: number[] = new Array<number>(binaries.length).fill(-1);
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  for (let i = 0; i + MARKER_BYTES <= encoded.length; i++) {
    if (encoded[i] !== FIXEXT16 || encoded[i + 1] !== MARKER_TYPE || !nonceAt(encoded, i + 2, nonce)) continue;
    at[view.getUint32(i + 2 + NONCE_BYTES)] = i;
    i += MARKER_BYTES - 1;
  }
  for (let k = 0; k < binaries.length; k++) {
    if (at[k] === -1) throw new Error(`large binary ${k}: its marker is missing from the encoding`);
    if (binaries[k]!.byteLength > 0xffff_ffff) throw new RangeError(`a binary of ${binaries[k]!.byteLength} bytes exceeds MessagePack's bin 32`);
  }
  const parts: Uint8Array[] = [];
  const order = binaries.map((_, k) => k).sort((a, b) => at[a]! - at[b]!);
  let from = 0;
  for (const k of order) {
    const marker = at[k]!;
    // The piece before the marker and the bin 32 header, as one copy (`encoded` is the Encoder's buffer).
    const piece = new Uint8Array(marker - from + 5);
    piece.set(encoded.subarray(from, marker));
    piece[marker - from] = BIN32;
    new DataView(piece.buffer).setUint32(marker - from + 1, binaries[k]!.byteLength);
    parts.push(piece, binaries[k]!);
    from = marker + MARKER_BYTES;
  }
  parts.push(encoded.slice(from));
  return parts;
}

/** The parts as one buffer. */
export function concatParts(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : concatBytes(parts);
}

function nonceAt(bytes: Uint8Array, o: number, nonce: Uint8Array): boolean {
  for (let j = 0; j < NONCE_BYTES; j++) if (bytes[o + j] !== nonce[j]) return false;
  return true;
}
