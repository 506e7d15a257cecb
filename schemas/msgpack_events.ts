/**
 * A MessagePack body of events straight to columns: the common case (a map or an array of maps
 * whose fields are key, ts, value, tags and id, with strings, numbers, booleans and nil) read
 * from the bytes into one reused event object that the usual validator checks, instead of a
 * decoded object per event. Strings that repeat from body to body (tag names and values) are
 * decoded once and then found by their bytes, and so are tags maps, as checked copies
 * (body_strings.ts); keys and ids are made afresh. Measured on the embedded pipeline this was
 * the largest share of ingest's time after the HTTP server itself (`npm run bench --
 * pipeline`); `npm run bench -- parse` compares the two paths.
 *
 * Anything else — another type, an unknown or repeated field, invalid UTF-8 or a string that
 * starts with a byte order mark, a truncated body,
 * bytes after the value, too many events, and any event the validator refuses — returns
 * undefined: the caller then takes the general path (the codec's decoder + parseEventColumns)
 * for the whole body, so errors and rare shapes keep exactly their usual results.
 */
import { parseEventColumnsOf, type EventColumns, type EventLimits } from "./event.ts";
import {
  FIELD_KEY, FIELD_TAGS, FIELD_TS, FIELD_VALUE, fieldNames, freshStringOfBytes, keptTagsOr, MAX_KEPT_TAGS_BYTES, newScratchEvent, stringOfBytes,
  BodyCursor, type ScratchEvent,
} from "./body_strings.ts";

/** Thrown inside the reader when the body is not the common case; caught in msgpackEventColumns. */
class NotCommon extends Error {}
const notCommon = new NotCommon("not the common case");

class Reader extends BodyCursor {
  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw notCommon;
  }

  byte(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  /** Length of a map at pos, or -1 when the next value is not a map. */
  mapLength(): number {
    const b = this.bytes[this.pos];
    if (b === undefined) throw notCommon;
    if (b >= 0x80 && b <= 0x8f) return this.pos++, b & 0x0f;
    if (b === 0xde) return this.pos++, this.u16();
    if (b === 0xdf) return this.pos++, this.u32();
    return -1;
  }

  /** Length of an array at pos, or -1 when the next value is not an array. */
  arrayLength(): number {
    const b = this.bytes[this.pos];
    if (b === undefined) throw notCommon;
    if (b >= 0x90 && b <= 0x9f) return this.pos++, b & 0x0f;
    if (b === 0xdc) return this.pos++, this.u16();
    if (b === 0xdd) return this.pos++, this.u32();
    return -1;
  }

  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }

  /** A string, number, boolean or nil (as the codec's decoder reads them); anything else is not common. */
  /** `cached`: strings through the string cache (body_strings.ts), for strings that repeat. */
  scalar(cached = true): string | number | boolean | null {
    const b = this.byte();
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0xa0 && b <= 0xbf) return this.string(b & 0x1f, cached);
    const v = this.view;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xd9: return this.string(this.byte(), cached);
      case 0xda: return this.string(this.u16(), cached);
      case 0xdb: return this.string(this.u32(), cached);
      case 0xcc: return this.byte();
      case 0xcd: return this.u16();
      case 0xce: return this.u32();
      case 0xd0: this.need(1); return v.getInt8(this.pos++);
      case 0xd1: { this.need(2); const x = v.getInt16(this.pos); this.pos += 2; return x; }
      case 0xd2: { this.need(4); const x = v.getInt32(this.pos); this.pos += 4; return x; }
      // 64-bit integers as the codec's decoder reads them (high × 2³² + low: exact below 2⁵³).
      case 0xcf: { this.need(8); const x = v.getUint32(this.pos) * 0x1_0000_0000 + v.getUint32(this.pos + 4); this.pos += 8; return x; }
      case 0xd3: { this.need(8); const x = v.getInt32(this.pos) * 0x1_0000_0000 + v.getUint32(this.pos + 4); this.pos += 8; return x; }
      case 0xca: { this.need(4); const x = v.getFloat32(this.pos); this.pos += 4; return x; }
      case 0xcb: { this.need(8); const x = v.getFloat64(this.pos); this.pos += 8; return x; }
    }
    throw notCommon; // bin, ext, a map or an array where a scalar belongs
  }

  /** A field name: a string, nothing else. */
  name(): string {
    const b = this.byte();
    if (b >= 0xa0 && b <= 0xbf) return this.string(b & 0x1f);
    if (b === 0xd9) return this.string(this.byte());
    throw notCommon;
  }

  string(length: number, cached = true): string {
    this.need(length);
    const at = this.pos;
    this.pos += length;
    const s = cached ? stringOfBytes(this.bytes, at, length) : freshStringOfBytes(this.bytes, at, length);
    if (s === undefined) throw notCommon; // invalid UTF-8: the codec's decoder has its own way with it
    return s;
  }
}

// An event's field names as the bytes of a fixstr (header byte included), so a name is matched
// without making a string.
const fieldHeads = fieldNames.map((name) => Uint8Array.of(0xa0 | name.length, ...new TextEncoder().encode(name)));

/** The field at pos (FIELD_*), or not common. */
function fieldOf(r: Reader): number {
  const bytes = r.bytes;
  const at = r.pos;
  for (let f = 0; f < fieldHeads.length; f++) {
    const name = fieldHeads[f]!;
    if (bytes[at] !== name[0]) continue;
    let same = at + name.length <= bytes.length;
    for (let i = 1; same && i < name.length; i++) same = bytes[at + i] === name[i];
    if (!same) continue; // "ts" and "id" share a header byte
    r.pos = at + name.length;
    return f;
  }
  throw notCommon;
}

/** The next event map into `out`; not common if it is not a map of known, distinct fields. */
function readEvent(r: Reader, out: ScratchEvent, checked: boolean): void {
  const n = r.mapLength();
  if (n < 0) throw notCommon;
  out.key = out.ts = out.value = out.tags = out.id = undefined;
  let seen = 0;
  for (let f = 0; f < n; f++) {
    const field = fieldOf(r);
    if ((seen & (1 << field)) !== 0) throw notCommon;
    seen |= 1 << field;
    if (field === FIELD_TAGS) {
      out.tags = tagsAt(r, checked);
      continue;
    }
    // Made afresh, not through the string cache: keys and ids have many distinct values, and
    // looking them up missed the processor's caches several times a key (slower than a new
    // string); string timestamps seldom repeat.
    const v = r.scalar(false);
    if (v === null) throw notCommon; // a nil field: rare, and reported by the general path
    if (field === FIELD_KEY) out.key = v;
    else if (field === FIELD_TS) out.ts = v;
    else if (field === FIELD_VALUE) out.value = v;
    else out.id = v;
  }
}

/**
 * The end of the tags map at `at` — a fixmap of fixstr or str8 names and scalar values — or -1
 * for anything else (then read as usual). Lengths only: no string is made.
 */
function tagsEnd(b: Uint8Array, at: number): number {
  const head = b[at];
  if (head === undefined || head < 0x80 || head > 0x8f) return -1;
  let p = at + 1;
  for (let n = head & 0x0f; n > 0; n--) {
    const name = b[p];
    if (name !== undefined && name >= 0xa0 && name <= 0xbf) p += 1 + (name & 0x1f);
    else if (name === 0xd9 && p + 1 < b.length) p += 2 + b[p + 1]!;
    else return -1;
    const v = b[p];
    if (v === undefined) return -1;
    if (v <= 0x7f || v >= 0xe0 || v === 0xc2 || v === 0xc3) p += 1;
    else if (v >= 0xa0 && v <= 0xbf) p += 1 + (v & 0x1f);
    else if (v === 0xd9 && p + 1 < b.length) p += 2 + b[p + 1]!;
    else if (v === 0xcc || v === 0xd0) p += 2;
    else if (v === 0xcd || v === 0xd1) p += 3;
    else if (v === 0xce || v === 0xd2 || v === 0xca) p += 5;
    else if (v === 0xcf || v === 0xd3 || v === 0xcb) p += 9;
    else return -1; // nil (refused by the validator), longer strings, or not a scalar
  }
  return p <= b.length ? p : -1;
}

/**
 * The tags map at pos: the checked copy kept for its bytes when they were seen before
 * (body_strings.ts, keptTagsOr), else read (readTags). `checked`: the validator runs with the
 * default limits, which the kept copies were checked under.
 */
function tagsAt(r: Reader, checked: boolean): unknown {
  const b = r.bytes;
  const start = r.pos;
  const end = checked && r.tags.worthIt() ? tagsEnd(b, start) : -1;
  if (end < 0 || end - start > MAX_KEPT_TAGS_BYTES) return readTags(r);
  return keptTagsOr(r, end, () => readTags(r));
}

function readTags(r: Reader): Record<string, unknown> {
  const n = r.mapLength();
  if (n < 0) throw notCommon;
  const tags: Record<string, unknown> = {};
  for (let t = 0; t < n; t++) {
    const name = r.name();
    if (name === "__proto__" || Object.hasOwn(tags, name)) throw notCommon;
    tags[name] = r.scalar();
  }
  return tags;
}

/**
 * The body's events as columns when the body is the common case and every event is valid;
 * undefined otherwise (take the general path). `maxEvents` as in parseRawBody.
 */
export function msgpackEventColumns(
  bytes: Uint8Array,
  options: { maxEvents: number; receivedAt: number; limits?: Partial<EventLimits> },
): EventColumns | undefined {
  const r = new Reader(bytes);
  const event = newScratchEvent();
  const checked = options.limits === undefined;
  try {
    let count = r.arrayLength();
    const single = count < 0;
    if (single) count = 1;
    if (count === 0 || count > options.maxEvents) return undefined;
    const read = () => (readEvent(r, event, checked), event);
    // An array header may claim up to maxEvents events in a few bytes: room for as many as the
    // bytes left can hold (a byte each at least), growing if need be.
    const { columns, invalid } = count === 1
      ? parseEventColumnsOf(1, read, options)
      : parseEventColumnsOf(Math.min(count, bytes.length - r.pos), read, options, (i) => i < count);
    if (invalid.length > 0 || r.pos !== bytes.length) return undefined;
    return columns;
  } catch (error) {
    if (error === notCommon) return undefined;
    throw error;
  }
}
