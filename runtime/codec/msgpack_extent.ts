/**
 * Where a MessagePack value ends, and the entries of a map with where each value lies, without
 * decoding them: what MessageCodec.decodeShallow needs to decode only the fields it is asked
 * for and to hand on a value's own bytes. Follows the MessagePack spec's formats; anything
 * malformed (a truncated value, the never-used 0xc1, a non-string map key) is a CodecError.
 */
import { CodecError } from "../core/errors.ts";

/** The offset just past the value starting at `offset`. */
export function valueEnd(bytes: Uint8Array, offset: number): number {
  // Values still to skip, as a count: a container adds its items instead of recursing, so
  // nesting costs no stack, and every value read takes a byte, so a forged count cannot loop
  // past the end.
  let pending = 1;
  let o = offset;
  const need = (n: number) => {
    if (o + n > bytes.length) throw new CodecError(`MessagePack value truncated at byte ${o}`);
  };
  const uint = (n: number) => {
    need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[o + i]!;
    o += n;
    return v;
  };
  while (pending > 0) {
    need(1);
    const b = bytes[o++]!;
    pending--;
    let items = 0;
    // Bytes after the header (read by uint(), which moves `o`): added once the header is read.
    let skip = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue; // fixint, nil, bool
    if (b >= 0x80 && b <= 0x8f) items = (b & 0x0f) * 2;
    else if (b >= 0x90 && b <= 0x9f) items = b & 0x0f;
    else if (b >= 0xa0 && b <= 0xbf) skip = b & 0x1f;
    else {
      switch (b) {
        case 0xc4: case 0xd9: skip = uint(1); break; // bin 8, str 8
        case 0xc5: case 0xda: skip = uint(2); break;
        case 0xc6: case 0xdb: skip = uint(4); break;
        case 0xc7: skip = uint(1) + 1; break; // ext 8: length, then type
        case 0xc8: skip = uint(2) + 1; break;
        case 0xc9: skip = uint(4) + 1; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xca: case 0xce: case 0xd2: skip = 4; break;
        case 0xcb: case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break; // fixext 1: type, data
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: items = uint(2); break;
        case 0xdd: items = uint(4); break;
        case 0xde: items = uint(2) * 2; break;
        case 0xdf: items = uint(4) * 2; break;
        default: throw new CodecError(`MessagePack: byte 0x${b.toString(16)} at ${o - 1} starts no value`);
      }
    }
    o += skip;
    pending += items;
  }
  if (o > bytes.length) throw new CodecError(`MessagePack value truncated at byte ${bytes.length}`);
  return o;
}

/** A map entry: its key, and where its value lies (`bytes.subarray(start, end)`). */
export interface MapEntryExtent {
  key: string;
  start: number;
  end: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The entries of the map at `offset`, whose keys must be strings, and the offset past it. With
 * `end`, where the map is known to end (the end of the bytes, for the outermost value), the last
 * entry's value is taken to run to it without being walked: a large last value (a raw batch's
 * parts) costs nothing to pass over, and is checked when it is decoded.
 */
export function mapEntries(bytes: Uint8Array, offset: number, end?: number): { entries: MapEntryExtent[]; end: number } {
  let o = offset;
  if (o >= bytes.length) throw new CodecError("MessagePack map expected, got nothing");
  const b = bytes[o++]!;
  let n: number;
  if (b >= 0x80 && b <= 0x8f) n = b & 0x0f;
  else if (b === 0xde || b === 0xdf) {
    const width = b === 0xde ? 2 : 4;
    if (o + width > bytes.length) throw new CodecError("MessagePack map header truncated");
    n = 0;
    for (let i = 0; i < width; i++) n = n * 256 + bytes[o + i]!;
    o += width;
  } else throw new CodecError(`MessagePack map expected, got byte 0x${b.toString(16)}`);
  const entries: MapEntryExtent[] = [];
  for (let i = 0; i < n; i++) {
    const keyStart = o;
    const keyEnd = valueEnd(bytes, keyStart);
    if (i === n - 1 && end !== undefined) {
      if (keyEnd >= end) throw new CodecError(`MessagePack map value truncated at byte ${end}`);
      o = end;
    } else o = valueEnd(bytes, keyEnd);
    entries.push({ key: stringAt(bytes, keyStart, keyEnd), start: keyEnd, end: o });
  }
  return { entries, end: o };
}

/** The string encoded at [start, end): keys are short, mostly ASCII. */
function stringAt(bytes: Uint8Array, start: number, end: number): string {
  const b = bytes[start]!;
  const header = b >= 0xa0 && b <= 0xbf ? 1 : b === 0xd9 ? 2 : b === 0xda ? 3 : b === 0xdb ? 5 : 0;
  if (header === 0) throw new CodecError(`MessagePack map key at byte ${start} is not a string`);
  let ascii = "";
  for (let i = start + header; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) {
      try {
        return utf8.decode(bytes.subarray(start + header, end));
      } catch (cause) {
        throw new CodecError(`MessagePack map key at byte ${start} is not UTF-8`, { cause });
      }
    }
    ascii += String.fromCharCode(c);
  }
  return ascii;
}

/** What scalarAt returns for a value it leaves to the Decoder. */
export const NOT_SCALAR: unique symbol = Symbol("not a scalar");

/**
 * The value at [start, end) if it is one of the scalars an envelope's header fields are (nil, a
 * boolean, an integer up to 32 bits, a float 64, a string of ASCII), read without a Decoder;
 * otherwise NOT_SCALAR (the caller decodes it as usual). `end` must be valueEnd's.
 */
export function scalarAt(bytes: Uint8Array, start: number, end: number): unknown {
  const b = bytes[start]!;
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xc0: return null;
    case 0xc2: return false;
    case 0xc3: return true;
    case 0xcc: return bytes[start + 1]!;
    case 0xcd: return (bytes[start + 1]! << 8) | bytes[start + 2]!;
    case 0xce: return ((bytes[start + 1]! << 24) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 8) | bytes[start + 4]!) >>> 0;
    case 0xd0: return (bytes[start + 1]! << 24) >> 24;
    case 0xd1: return (((bytes[start + 1]! << 8) | bytes[start + 2]!) << 16) >> 16;
    case 0xd2: return (bytes[start + 1]! << 24) | (bytes[start + 2]! << 16) | (bytes[start + 3]! << 8) | bytes[start + 4]!;
    case 0xcb: return new DataView(bytes.buffer, bytes.byteOffset + start + 1, 8).getFloat64(0);
  }
  const header = b >= 0xa0 && b <= 0xbf ? 1 : b === 0xd9 ? 2 : 0;
  if (header === 0) return NOT_SCALAR;
  let text = "";
  for (let i = start + header; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x80) return NOT_SCALAR;
    text += String.fromCharCode(c);
  }
  return text;
}
