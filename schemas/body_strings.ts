/**
 * What the body readers that skip a decoded object per event share (msgpack_events.ts,
 * json_events.ts): the cursor they read a body with, the reused event they hand the validator,
 * a cache of the strings that repeat from body to body (tag names and values), and one of tags
 * objects, both found by their bytes. (A JSON object and a MessagePack map never have the same bytes: "{" is no map header.)
 */
import { checkedTagsCopy } from "./event_tags.ts";
import { defaultEventLimits } from "./event.ts";

/** One event at a time, as the validator sees it: fields absent are undefined. */
export interface ScratchEvent {
  key: unknown;
  ts: unknown;
  value: unknown;
  tags: unknown;
  id: unknown;
}

export function newScratchEvent(): ScratchEvent {
  return { key: undefined, ts: undefined, value: undefined, tags: undefined, id: undefined };
}

/** The fields a reader knows, by number (a bit each in a set of fields seen); id is 4. */
export const FIELD_KEY = 0;
export const FIELD_TS = 1;
export const FIELD_VALUE = 2;
export const FIELD_TAGS = 3;
export const fieldNames: readonly string[] = ["key", "ts", "value", "tags", "id"];

/** FNV-1a's starting value; a reader that hashes as it scans starts from it (hashStep). */
export const HASH_SEED = 0x811c9dc5;

export function hashStep(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

/**
 * Direct-mapped cache of short strings by their bytes (bounded; a collision just replaces).
 * A slot's bytes sit in one flat array, MAX_CACHED_BYTES apart, its length + 1 (0: empty) in a
 * small array of their own: a lookup reads the length, then the slot's bytes from one cache
 * line, instead of following a slot's own Uint8Array to its header and then to its separately
 * allocated bytes (dependent loads: with 10 000 keys through it, the MessagePack reader spent
 * 10-19 % less time per event this way). Even so, a string with thousands of distinct values
 * (an event's key or id) is cheaper made afresh (freshStringOfBytes): its lookup misses the
 * processor's caches several times (in the pipeline, 0.23 µs of main-thread time an event).
 * The bytes (4 MiB) are allocated on first use; the lengths and the string slots (~0.6 MB)
 * when the module loads. Only valid UTF-8 gets in.
 */
const CACHE_SLOTS = 1 << 16;
const MAX_CACHED_BYTES = 64;
const cachedStrings: (string | undefined)[] = new Array(CACHE_SLOTS);
let cachedBytes: Uint8Array | undefined;
const cachedLengths = new Uint8Array(CACHE_SLOTS);

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The string that `bytes[at, at + length)` encode as UTF-8, or undefined when they are not
 * valid UTF-8 or start with a byte order mark (the caller's general path then answers).
 * `hash`: hashStep over those bytes from HASH_SEED, for a reader that computed it while
 * finding the string's end.
 */
export function stringOfBytes(bytes: Uint8Array, at: number, length: number, hash?: number): string | undefined {
  if (length > MAX_CACHED_BYTES) return decodeUtf8(bytes.subarray(at, at + length));
  let h = hash ?? HASH_SEED;
  if (hash === undefined) for (let i = at; i < at + length; i++) h = hashStep(h, bytes[i]!);
  const slot = (h >>> 0) & (CACHE_SLOTS - 1);
  const flat = (cachedBytes ??= new Uint8Array(CACHE_SLOTS * MAX_CACHED_BYTES));
  const base = slot * MAX_CACHED_BYTES;
  if (cachedLengths[slot] === length + 1) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (flat[base + i] !== bytes[at + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedStrings[slot]!;
  }
  const s = asciiOrUtf8(bytes, at, length);
  if (s === undefined) return undefined;
  flat.set(bytes.subarray(at, at + length), base);
  cachedLengths[slot] = length + 1;
  cachedStrings[slot] = s;
  return s;
}

/** stringOfBytes without the cache: for strings that seldom repeat (event keys, ids, timestamps). */
export function freshStringOfBytes(bytes: Uint8Array, at: number, length: number): string | undefined {
  return length > MAX_CACHED_BYTES ? decodeUtf8(bytes.subarray(at, at + length)) : asciiOrUtf8(bytes, at, length);
}

/** Short ASCII strings in JS (a call into TextDecoder costs more than they do), others decoded. */
function asciiOrUtf8(bytes: Uint8Array, at: number, length: number): string | undefined {
  const end = at + length;
  let any = 0;
  for (let i = at; i < end; i++) any |= bytes[i]!;
  if (any >= 0x80) return decodeUtf8(bytes.subarray(at, end));
  // Eight characters a call: String.fromCharCode with fixed arguments is the cheapest way to a
  // short string in JS (10 characters: ~28 ns, one at a time ~57, in a loop outside bench/).
  let s = "";
  let i = at;
  for (; i + 8 <= end; i += 8) {
    s += String.fromCharCode(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!, bytes[i + 3]!, bytes[i + 4]!, bytes[i + 5]!, bytes[i + 6]!, bytes[i + 7]!);
  }
  for (; i + 2 <= end; i += 2) s += String.fromCharCode(bytes[i]!, bytes[i + 1]!);
  return i < end ? s + String.fromCharCode(bytes[i]!) : s;
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  // A leading U+FEFF: TextDecoder drops it, and so does the MessagePack decoder for strings over
  // 200 bytes, but not for shorter ones, and JSON.parse never does; the general path decides.
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Tags objects by their bytes: a direct-mapped cache (a collision replaces) of a tags object's
 * encoding (at most MAX_KEPT_TAGS_BYTES) and the checked copy it stands for (checkedTagsCopy,
 * under the default limits), so an event whose tags repeat earlier ones costs one pass over
 * their bytes instead of reading, checking and copying them: producers send a few tag sets
 * over and over. The bytes (768 KiB) are allocated on first use.
 */
const TAGS_SLOTS = 1 << 12;
export const MAX_KEPT_TAGS_BYTES = 192;
let keptTagsBytes: Uint8Array | undefined;
let keptTagsView: DataView | undefined;
const keptTagsLengths = new Uint16Array(TAGS_SLOTS);
const keptTagsCopies: (Readonly<Record<string, unknown>> | undefined)[] = new Array(TAGS_SLOTS);

/**
 * How a body's tags fared in the cache so far: once most lookups of a body miss (tags that
 * differ from event to event), the rest of its tags are read as usual, neither looked up nor
 * kept (a miss costs the lookup, a frozen copy and a slot's bytes on top of reading them).
 */
class TagsLookups {
  found = 0;
  missed = 0;

  worthIt(): boolean {
    return this.missed < 32 || this.missed < 4 * this.found;
  }
}

/**
 * The slot of the tags encoded in `view`'s bytes [start, end): FNV-1a over their 4-byte words
 * (then mixed with the length, as the slot takes the low bits), a quarter of the steps of a
 * byte-wise hash: these loops were most of the JSON reader's time per event (`--profile`, line
 * by line). keptTagsThrough computes the same while it finds `end`.
 */
function tagsSlot(view: DataView, start: number, end: number): number {
  return slotOfHash(hashWords(view, start, end, HASH_SEED), end - start);
}

/** `h` stepped over `view`'s bytes [i, end): 4-byte words while they fit, then single bytes. */
function hashWords(view: DataView, i: number, end: number, h: number): number {
  for (; i + 4 <= end; i += 4) h = hashStep(h, view.getUint32(i, true));
  for (; i < end; i++) h = hashStep(h, view.getUint8(i));
  return h;
}

function slotOfHash(h: number, length: number): number {
  h ^= length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) & (TAGS_SLOTS - 1);
}

/** A reader's place in a body: its bytes, a view over them, where it is, and how its tags fared. */
export class BodyCursor {
  pos = 0;
  readonly tags = new TagsLookups();
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

/**
 * The tags encoded from `r.pos` to `end`: the copy kept for those bytes when they were seen
 * before (r.pos then moves to `end`), else what `read` makes of them, kept as a checked copy
 * when `read` stopped at `end` (a reader's guess at the end may be wrong: then nothing is kept).
 */
export function keptTagsOr(r: BodyCursor, end: number, read: () => unknown): unknown {
  return keptOrRead(r, end, tagsSlot(r.view, r.pos, end), read);
}

/**
 * keptTagsOr with `end` just past the first `endByte` from r.pos (JSON's "}": where a tags
 * object ends unless a string in it holds one; read() then finds the real end and nothing is
 * kept). That byte is found a 4-byte word at a time while the words are hashed, one pass where
 * the native indexOf and then tagsSlot were two (indexOf alone was ~0.05 µs an event, the
 * busiest line of the JSON reader in `--profile`). Tags longer than MAX_KEPT_TAGS_BYTES are
 * read and not kept.
 */
export function keptTagsThrough(r: BodyCursor, endByte: number, read: () => unknown): unknown {
  const view = r.view;
  const start = r.pos;
  const limit = Math.min(view.byteLength, start + MAX_KEPT_TAGS_BYTES);
  const repeated = Math.imul(endByte, 0x01010101);
  let h = HASH_SEED;
  let i = start;
  for (; i + 4 <= limit; i += 4) {
    const word = view.getUint32(i, true);
    // A word holding `endByte` has a zero byte once xored with its copies (the exact zero-byte test).
    const x = word ^ repeated;
    if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
    h = hashStep(h, word);
  }
  let end = -1;
  for (let j = i; j < limit; j++) {
    if (view.getUint8(j) === endByte) {
      end = j + 1;
      break;
    }
  }
  if (end < 0) return read();
  return keptOrRead(r, end, slotOfHash(hashWords(view, i, end, h), end - start), read);
}

function keptOrRead(r: BodyCursor, end: number, slot: number, read: () => unknown): unknown {
  const start = r.pos;
  const kept = tagsOfBytes(r.view, start, end, slot);
  if (kept !== undefined) {
    r.tags.found++;
    r.pos = end;
    return kept;
  }
  r.tags.missed++;
  const tags = read();
  return r.pos === end ? keepTags(r.bytes, start, end, slot, tags) : tags;
}

/** The copy kept in `slot` for the tags encoded in `view`'s bytes [start, end); undefined if none. */
function tagsOfBytes(view: DataView, start: number, end: number, slot: number): Readonly<Record<string, unknown>> | undefined {
  const length = end - start;
  const kept = keptTagsView;
  if (keptTagsLengths[slot] !== length || kept === undefined) return undefined;
  const base = slot * MAX_KEPT_TAGS_BYTES;
  let i = 0;
  for (; i + 4 <= length; i += 4) if (kept.getUint32(base + i, true) !== view.getUint32(start + i, true)) return undefined;
  for (; i < length; i++) if (kept.getUint8(base + i) !== view.getUint8(start + i)) return undefined;
  return keptTagsCopies[slot];
}

/**
 * `tags`, read from `bytes[start, end)`, as the checked copy to hand the validator, kept in
 * `slot` (tagsSlot of those bytes); `tags` itself when they are invalid (the validator says
 * why) or too long to keep.
 */
function keepTags(bytes: Uint8Array, start: number, end: number, slot: number, tags: unknown): unknown {
  const length = end - start;
  if (length > MAX_KEPT_TAGS_BYTES) return tags;
  const copy = checkedTagsCopy(tags, defaultEventLimits);
  if (copy === undefined) return tags;
  if (keptTagsView === undefined) {
    keptTagsBytes = new Uint8Array(TAGS_SLOTS * MAX_KEPT_TAGS_BYTES);
    keptTagsView = new DataView(keptTagsBytes.buffer);
  }
  keptTagsBytes!.set(bytes.subarray(start, end), slot * MAX_KEPT_TAGS_BYTES);
  keptTagsLengths[slot] = length;
  keptTagsCopies[slot] = copy;
  return copy;
}
