/**
 * MessagePack of a value holding large binaries (a checkpoint's state blocks, hundreds of MB)
 * without routing them through the Encoder's buffer. The Encoder grows its buffer to twice what
 * it needs and `encode` returns a copy: a 200 MB binary costs 400 MB of buffer plus the 200 MB
 * copy. Here each binary of at least LARGE_BINARY bytes is replaced by a small marker (an ext
 * value carrying a random nonce and the binary's index), the rest is encoded as usual, and the
 * result is a list of parts: the encoded pieces between markers (copied), each binary's header
 * (bin 32 at this size), and the binaries themselves (not copied). Concatenated, the parts are
 * what encoding the value directly gives. MessageCodec.encodeWithList splices smaller binaries
 * the same way (spliceSteps), with a lower threshold, and values given already encoded
 * (EncodedValue) too, their bytes as they are.
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
const BIN8 = 0xc4;
const BIN16 = 0xc5;
const BIN32 = 0xc6;
/** Containers deeper than this are left alone (the Encoder's own depth limit is 100). */
const MAX_DEPTH = 64;

/**
 * A value given as its MessagePack bytes, spliced in as they are by encodeLarge, encodeLargeParts
 * and encodeWithList (markLargeBinaries). Other encoders do not know it (they would write a map
 * holding the bytes).
 */
export class EncodedValue {
  constructor(readonly bytes: Uint8Array) {}
}

/** A value with its large binaries swapped for markers, and those binaries in marker order. */
export interface Marked {
  value: unknown;
  /** Binaries, and the bytes of EncodedValues (`encoded[k]`), in marker order. */
  binaries: Uint8Array[];
  /** Whether `binaries[k]` is an EncodedValue's bytes (spliced without a bin header). */
  encoded: boolean[];
}

/**
 * Replaces each binary (any ArrayBufferView, as the Encoder treats them) of `minBytes` (by default
 * LARGE_BINARY) or more in plain objects and arrays by a marker, and each EncodedValue (of any
 * size) too; containers are copied only on the path to one.
 */
export function markLargeBinaries(value: unknown, nonce: Uint8Array, minBytes = LARGE_BINARY): Marked {
  const binaries: Uint8Array[] = [];
  const encoded: boolean[] = [];
  const marker = (bytes: Uint8Array, isEncoded: boolean) => {
    const data = new Uint8Array(16);
    data.set(nonce);
    new DataView(data.buffer).setUint32(NONCE_BYTES, binaries.length);
    binaries.push(bytes);
    encoded.push(isEncoded);
    return new ExtData(MARKER_TYPE, data);
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (v instanceof EncodedValue) return marker(v.bytes, true);
    if (depth > MAX_DEPTH) return v;
    if (ArrayBuffer.isView(v)) {
      if (v.byteLength < minBytes) return v;
      return marker(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), false);
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
  return { value: walk(value, 0), binaries, encoded };
}

/**
 * One step of a splice, in order: a range of the encoding (a view of the Encoder's buffer, to be
 * copied before it is reused), a binary's header (binHeader of its length), the binary itself, or
 * an EncodedValue's bytes (no header).
 */
export type SpliceStep = { piece: Uint8Array } | { binLength: number } | { binary: Uint8Array } | { value: Uint8Array };

/**
 * The encoding of the original value as steps: `encoded` (of the marked value) with each marker
 * replaced by its binary, or by its EncodedValue's bytes where `isEncoded[k]`.
 */
export function spliceSteps(encoded: Uint8Array, binaries: Uint8Array[], nonce: Uint8Array, isEncoded: readonly boolean[] = []): SpliceStep[] {
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
  const steps: SpliceStep[] = [];
  const order = binaries.map((_, k) => k).sort((a, b) => at[a]! - at[b]!);
  let from = 0;
  for (const k of order) {
    const marker = at[k]!;
    if (isEncoded[k]) steps.push({ piece: encoded.subarray(from, marker) }, { value: binaries[k]! });
    else steps.push({ piece: encoded.subarray(from, marker) }, { binLength: binaries[k]!.byteLength }, { binary: binaries[k]! });
    from = marker + MARKER_BYTES;
  }
  steps.push({ piece: encoded.subarray(from) });
  return steps;
}

/** The header the Encoder writes for a binary of `length` bytes: bin 8, bin 16 or bin 32. */
export function binHeader(length: number): Uint8Array {
  if (length < 0x100) return Uint8Array.of(BIN8, length);
  if (length < 0x10000) return Uint8Array.of(BIN16, length >>> 8, length & 0xff);
  const header = new Uint8Array(5);
  header[0] = BIN32;
  new DataView(header.buffer).setUint32(1, length);
  return header;
}

/** The encoding of the original value, in parts: `encoded` (of the marked value) with each marker replaced by its binary or EncodedValue's bytes. */
export function spliceBinaries(encoded: Uint8Array, binaries: Uint8Array[], nonce: Uint8Array, isEncoded: readonly boolean[] = []): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let piece: Uint8Array | undefined;
  for (const step of spliceSteps(encoded, binaries, nonce, isEncoded)) {
    if ("piece" in step) piece = step.piece;
    else if ("value" in step) {
      parts.push(piece!.slice(), step.value);
      piece = undefined;
    } else if ("binLength" in step) {
      // The piece before the marker and the binary's header, as one copy (`encoded` is the Encoder's buffer).
      const header = binHeader(step.binLength);
      const joined = new Uint8Array(piece!.length + header.length);
      joined.set(piece!);
      joined.set(header, piece!.length);
      parts.push(joined);
      piece = undefined;
    } else parts.push(step.binary);
  }
  parts.push(piece!.slice());
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
