/**
 * A JSON body of events straight to columns, and an NDJSON one (ndjsonEventColumns): the common
 * case (an object, an array of objects, or objects a line each, whose fields are key, ts,
 * value, tags and id, with strings, numbers and booleans, and tags an object of those) read
 * from the bytes into one reused event object that the usual validator checks, instead of
 * JSON.parse making an object per event. Strings that repeat from body to body (tag names and
 * values) are decoded once and then found by their bytes, and so are whole tags objects, as
 * checked copies (body_strings.ts); keys and ids are made afresh. With JSON
 * batches JSON.parse was about half of the embedded pipeline's main thread (`npm run bench --
 * pipeline --profile DIR`); `npm run bench -- parse` compares the two paths.
 *
 * Anything else — a string with an escape or a byte order mark, invalid UTF-8, null, another
 * type, an unknown or repeated field, malformed JSON, a BOM before the body, too many events,
 * and any event the validator refuses — returns undefined: the caller then takes the general
 * path (JSON.parse + parseEventColumns) for the whole body, so errors and rare shapes keep
 * exactly their usual results. What the reader accepts is exactly JSON's grammar for these
 * values (RFC 8259), and numbers become what JSON.parse makes of them.
 */
import { parseEventColumnsOf, type EventColumns, type EventLimits, type ParseEventColumnsResult } from "./event.ts";
import {
  FIELD_KEY, FIELD_TAGS, FIELD_TS, FIELD_VALUE, fieldNames, freshStringOfBytes, HASH_SEED, hashStep, keptTagsThrough, newScratchEvent, stringOfBytes,
  BodyCursor, type ScratchEvent,
} from "./body_strings.ts";

/** Thrown inside the reader when the body is not the common case; caught in readBody. */
class NotCommon extends Error {}
const notCommon = new NotCommon("not the common case");

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const NEWLINE = 0x0a;
const END = -1;

/** Longer numbers go the general way (Reader.number). */
const MAX_NUMBER_CHARS = 64;

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];

class Reader extends BodyCursor {
  /** Skips JSON whitespace; the byte at pos then, END at the end of the body. */
  peek(): number {
    const b = this.bytes;
    let p = this.pos;
    let c = b[p];
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p];
    this.pos = p;
    return c === undefined ? END : c;
  }

  /** Skips whitespace and `c`; not common if another byte comes first. */
  expect(c: number): void {
    if (this.peek() !== c) throw notCommon;
    this.pos++;
  }

  /**
   * The string whose opening quote is at pos: escapes and control characters are not common.
   * `cached`: through the string cache (body_strings.ts), for strings that repeat.
   */
  string(cached = true): string {
    const b = this.bytes;
    const start = this.pos + 1;
    let p = start;
    let h = HASH_SEED;
    for (;;) {
      const c = b[p];
      if (c === QUOTE) break;
      if (c === undefined || c === BACKSLASH || c < 0x20) throw notCommon;
      h = hashStep(h, c);
      p++;
    }
    this.pos = p + 1;
    const s = cached ? stringOfBytes(b, start, p - start, h) : freshStringOfBytes(b, start, p - start);
    if (s === undefined) throw notCommon;
    return s;
  }

  /** The number at pos, as JSON.parse reads it; not common if it breaks JSON's number grammar. */
  number(): number {
    const b = this.bytes;
    const start = this.pos;
    let p = start;
    if (b[p] === MINUS) p++;
    const digitsAt = p;
    let whole = 0;
    let c = b[p];
    if (c === 0x30) c = b[++p]; // a leading 0 stands alone ("01" then fails where "," or "}" belongs)
    else if (c !== undefined && c >= 0x31 && c <= 0x39) {
      do {
        whole = whole * 10 + (c - 0x30);
        c = b[++p];
      } while (c !== undefined && c >= 0x30 && c <= 0x39);
    } else throw notCommon;
    // Up to 15 digits, an integer is exact in a double as summed above; anything else is left to
    // the same conversion JSON.parse uses.
    let exact = p - digitsAt <= 15;
    if (c === 0x2e) {
      p = digits(b, p + 1);
      c = b[p];
      exact = false;
    }
    if (c === 0x65 || c === 0x45) {
      c = b[++p];
      if (c === 0x2b || c === MINUS) p++;
      p = digits(b, p);
      exact = false;
    }
    this.pos = p;
    if (exact) return b[start] === MINUS ? -whole : whole;
    // A long number to JSON.parse (no double needs more than ~25 characters): built a character
    // at a time here, 4 million digits took ~0.7 s and ~200 MB against JSON.parse's 15 ms (a
    // hand-run check outside bench/).
    if (p - start > MAX_NUMBER_CHARS) throw notCommon;
    let text = "";
    for (let i = start; i < p; i++) text += String.fromCharCode(b[i]!);
    return Number(text);
  }

  /** A string, number or boolean; null and anything else are not common. `cached` as in string(). */
  scalar(cached = true): string | number | boolean {
    const c = this.peek();
    if (c === QUOTE) return this.string(cached);
    if (c === MINUS || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal(TRUE, true);
    if (c === 0x66) return this.literal(FALSE, false);
    throw notCommon; // null (reported by the general path), an object or an array where a scalar belongs
  }

  literal(text: readonly number[], value: boolean): boolean {
    const b = this.bytes;
    const p = this.pos;
    for (let i = 0; i < text.length; i++) if (b[p + i] !== text[i]) throw notCommon;
    this.pos = p + text.length;
    return value;
  }
}

/** The index after one or more digits from `p`; not common if there is none. */
function digits(b: Uint8Array, p: number): number {
  let c = b[p];
  if (c === undefined || c < 0x30 || c > 0x39) throw notCommon;
  do c = b[++p];
  while (c !== undefined && c >= 0x30 && c <= 0x39);
  return p;
}

// An event's field names as the bytes of a JSON string (quotes included), so a name is matched
// without making a string.
const quotedNames = fieldNames.map((name) => Uint8Array.of(QUOTE, ...new TextEncoder().encode(name), QUOTE));

/** The field named at pos (FIELD_*), its colon skipped; not common for any other name. */
function fieldOf(r: Reader): number {
  if (r.peek() !== QUOTE) throw notCommon;
  const bytes = r.bytes;
  const at = r.pos;
  for (let f = 0; f < quotedNames.length; f++) {
    const name = quotedNames[f]!;
    let same = true;
    for (let i = 1; same && i < name.length; i++) same = bytes[at + i] === name[i];
    if (!same) continue;
    r.pos = at + name.length;
    r.expect(COLON);
    return f;
  }
  throw notCommon;
}

/**
 * The tags object at pos: the checked copy kept for its bytes when they were seen before
 * (body_strings.ts, keptTagsThrough), else read (readTags). `checked`: the validator runs with the
 * default limits, which the kept copies were checked under.
 */
function tagsAt(r: Reader, checked: boolean): unknown {
  if (!checked || !r.tags.worthIt() || r.peek() !== OPEN_BRACE) return readTags(r);
  // Up to the first closing brace: where the tags end unless a string in them holds a brace. A
  // kept copy's bytes are a whole tags object that readTags read to its last byte, so bytes
  // equal to them end there too; on a miss readTags finds the real end, and a copy is kept only
  // when it is this one. (A scan that tracked strings byte by byte was a fifth of the main
  // thread under JSON batches.)
  return keptTagsThrough(r, CLOSE_BRACE, () => readTags(r));
}

/**
 * The next event object into `out`; not common if it is not an object of known, distinct
 * fields. `checked`: tags may come from the cache (the validator runs with the default limits).
 */
function readEvent(r: Reader, out: ScratchEvent, checked: boolean): void {
  r.expect(OPEN_BRACE);
  out.key = out.ts = out.value = out.tags = out.id = undefined;
  if (r.peek() === CLOSE_BRACE) {
    r.pos++;
    return;
  }
  let seen = 0;
  for (;;) {
    const field = fieldOf(r);
    if ((seen & (1 << field)) !== 0) throw notCommon; // JSON.parse keeps the last; the general path says so
    seen |= 1 << field;
    if (field === FIELD_TAGS) out.tags = tagsAt(r, checked);
    else {
      // Made afresh, not through the string cache: keys and ids have many distinct values, and
      // looking them up missed the processor's caches several times a key (slower than a new
      // string); string timestamps seldom repeat.
      const v = r.scalar(false);
      if (field === FIELD_KEY) out.key = v;
      else if (field === FIELD_TS) out.ts = v;
      else if (field === FIELD_VALUE) out.value = v;
      else out.id = v;
    }
    const c = r.peek();
    r.pos++;
    if (c === COMMA) continue;
    if (c === CLOSE_BRACE) return;
    throw notCommon;
  }
}

function readTags(r: Reader): Record<string, unknown> {
  r.expect(OPEN_BRACE);
  const tags: Record<string, unknown> = {};
  if (r.peek() === CLOSE_BRACE) {
    r.pos++;
    return tags;
  }
  for (;;) {
    if (r.peek() !== QUOTE) throw notCommon;
    const name = r.string();
    if (name === "__proto__" || Object.hasOwn(tags, name)) throw notCommon;
    r.expect(COLON);
    tags[name] = r.scalar();
    const c = r.peek();
    r.pos++;
    if (c === COMMA) continue;
    if (c === CLOSE_BRACE) return tags;
    throw notCommon;
  }
}

/** Room for the events of an array at first (it grows): bodies run ~60-100 bytes an event. */
function roomFor(bodyBytes: number, maxEvents: number): number {
  return Math.min(maxEvents, Math.max(16, Math.ceil(bodyBytes / 64)));
}

type FastPathOptions = { maxEvents: number; receivedAt: number; limits?: Partial<EventLimits> };

/**
 * The body's events as columns when the body is the common case and every event is valid;
 * undefined otherwise (take the general path). `maxEvents` as in parseRawBody.
 */
export function jsonEventColumns(bytes: Uint8Array, options: FastPathOptions): EventColumns | undefined {
  return readBody(bytes, options, false);
}

/**
 * jsonEventColumns for NDJSON: one event object per line. Only lines the general path reads the
 * same are read here: an object on one line, blanks (space, tab, CR) around it, and blank
 * lines; an object spread over lines, two on one line, or any other whitespace (which the
 * general path's trim() would take) go the general way.
 */
export function ndjsonEventColumns(bytes: Uint8Array, options: FastPathOptions): EventColumns | undefined {
  return readBody(bytes, options, true);
}

function readBody(bytes: Uint8Array, options: FastPathOptions, lines: boolean): EventColumns | undefined {
  if (options.maxEvents < 1) return undefined;
  const r = new Reader(bytes);
  const event = newScratchEvent();
  const checked = options.limits === undefined;
  const read = () => (readEvent(r, event, checked), event);
  try {
    const first = r.peek();
    let result: ParseEventColumnsResult;
    if (lines) {
      if (first !== OPEN_BRACE) return undefined;
      let start = r.pos;
      // Each event must end its line: no newline inside it, one before the next.
      const hasNext = (i: number): boolean => {
        if (i === 0) return true;
        const end = r.pos;
        const newline = bytes.indexOf(NEWLINE, start);
        if (newline !== -1 && newline < end) throw notCommon;
        const c = r.peek();
        if (c === END) return false;
        if (newline === -1 || newline >= r.pos || i >= options.maxEvents) throw notCommon;
        start = r.pos;
        return true;
      };
      result = parseEventColumnsOf(roomFor(bytes.length, options.maxEvents), read, options, hasNext);
    } else if (first === OPEN_BRACE) result = parseEventColumnsOf(1, read, options);
    else if (first === OPEN_BRACKET) {
      r.pos++;
      if (r.peek() === CLOSE_BRACKET) return undefined;
      // Before every event but the first a comma; after the last the closing bracket.
      const hasNext = (i: number): boolean => {
        if (i === 0) return true;
        const c = r.peek();
        r.pos++;
        if (c === CLOSE_BRACKET) return false;
        if (c !== COMMA || i >= options.maxEvents) throw notCommon;
        return true;
      };
      result = parseEventColumnsOf(roomFor(bytes.length, options.maxEvents), read, options, hasNext);
    } else return undefined;
    if (result.invalid.length > 0 || r.peek() !== END) return undefined;
    return result.columns;
  } catch (error) {
    if (error === notCommon) return undefined;
    throw error;
  }
}
