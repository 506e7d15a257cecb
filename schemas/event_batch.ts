/**
 * The column form of `tw.events` batches (EventBatch, see types.ts): building one from event
 * columns, reading the columns back, and checking one that came from the wire.
 *
 * Why columns: a batch of events as one MessagePack map per event cost decode more than parsing
 * the events did. As columns it is one joined string, two float64 byte blocks and, only when
 * events have them, the distinct tag sets with an index per event and a JSON text of ids — a
 * few native copies per batch. Tag objects are shared between the events that carry equal tags
 * (ingest interns them, see parseEventColumns): treat them as read-only.
 *
 * In-process, the publisher hands consumers the batch with its columns attached (`withColumns`),
 * so nothing is decoded; a batch from bytes is checked once (validateEventBatch) and its decoded
 * columns are remembered for `eventColumnsOf`, so they are decoded once too.
 */
import { describe, isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import { checkStreamName } from "./stream_name.ts";
import { keyProblem, MAX_KEY_BYTES } from "./key.ts";
import type { EventColumns } from "./event.ts";
import type { CanonicalEvent, EventBatch, TagValue } from "./types.ts";
import { float64Bytes, readFloat64s, readUint32s, uint32Bytes } from "./typed_bytes.ts";

/** What separates keys in EventBatch.keys: a key never contains a control character. */
export const KEY_SEPARATOR = "\u0000";

/** An EventBatch as published in this process: the wire fields plus the columns they encode. */
export interface LocalEventBatch extends EventBatch {
  columns: EventColumns;
}

/** Malformed EventBatch content, found while reading columns that were not validated first. */
export class EventBatchError extends Error {
  constructor(readonly issues: ValidationIssue[]) {
    super(`malformed EventBatch: ${issues.slice(0, 3).map((i) => `${i.path || "/"}: ${i.message}`).join("; ")}`);
    this.name = "EventBatchError";
  }
}

/** The wire form of a batch of `columns` (no columns attached: see withColumns). */
export function eventBatch(stream: string, partition: number, rawBatchId: string, columns: EventColumns): EventBatch {
  const batch: EventBatch = {
    stream,
    partition,
    rawBatchId,
    count: columns.length,
    keys: columns.keys.join(KEY_SEPARATOR),
    ts: float64Bytes(columns.ts),
    values: float64Bytes(columns.values),
  };
  if (columns.tags !== undefined) {
    const { sets, of } = distinctTags(columns.tags, columns.length);
    batch.tagSets = tagSetsJson(sets);
    batch.tagOf = uint32Bytes(of);
  }
  if (columns.ids !== undefined) batch.ids = JSON.stringify(columns.ids);
  return batch;
}

/**
 * JSON text of tag objects, by identity. Tag objects are shared and read-only (ingest interns
 * them per request), and decode writes one batch per partition: the same few sets were
 * stringified again for every partition (eventBatch with tags: 9.0 → 4.9 µs a
 * 62-event batch). Weak: a tag object's text goes with it.
 */
const tagJson = new WeakMap<Record<string, TagValue>, string>();

/** JSON.stringify(sets), each set's text made once. */
function tagSetsJson(sets: readonly Record<string, TagValue>[]): string {
  let out = "[";
  for (let k = 0; k < sets.length; k++) {
    const t = sets[k]!;
    let text = tagJson.get(t);
    if (text === undefined) tagJson.set(t, (text = JSON.stringify(t)));
    out += k === 0 ? text : "," + text;
  }
  return out + "]";
}

/**
 * The distinct tag objects of a tags column and, per event, 0 (none) or 1 + the index of its
 * set. Distinct by identity: equal tags share one object when ingest interned them (otherwise
 * each is listed once per event — larger, still correct).
 */
function distinctTags(tags: readonly (Record<string, TagValue> | null)[], n: number): { sets: Record<string, TagValue>[]; of: Uint32Array } {
  const index = new Map<Record<string, TagValue>, number>();
  const sets: Record<string, TagValue>[] = [];
  const of = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const t = tags[i];
    if (t === null || t === undefined) continue;
    let k = index.get(t);
    if (k === undefined) {
      sets.push(t);
      index.set(t, (k = sets.length));
    }
    of[i] = k;
  }
  return { sets, of };
}

/**
 * The event columns of a message (a raw batch's parts, one entry each) packed to cross to
 * another thread of this process. Structured cloning pays per string and per object, so the
 * entries travel merged: the keys as one joined string, timestamps and values as one array each,
 * the tags as their distinct sets with an index per event. A batch of 1000 events clones in a
 * few microseconds instead of ~100, and a group of 17 one-event requests as a handful of objects
 * instead of a dozen per request. Same process, same code: nothing is validated again.
 */
export interface PackedColumns {
  packed: true;
  /** Events in each entry. */
  lengths: Uint32Array;
  /** Per entry: bit 1 = it has a tags column, bit 2 = an ids column. */
  shape: Uint8Array;
  keys: string;
  ts: Float64Array;
  values: Float64Array;
  /** Distinct tag sets of all entries, and per event 0 (none) or 1 + its set's index. */
  tagSets?: Record<string, TagValue>[];
  tagOf?: Uint32Array;
  /** Per event (null where none or where its entry has no ids column). */
  ids?: (string | null)[];
}

const HAS_TAGS = 1;
const HAS_IDS = 2;

export function packColumns(list: readonly EventColumns[]): PackedColumns {
  const lengths = new Uint32Array(list.length);
  const shape = new Uint8Array(list.length);
  let n = 0;
  let any = 0;
  for (let e = 0; e < list.length; e++) {
    const c = list[e]!;
    lengths[e] = c.length;
    n += c.length;
    shape[e] = (c.tags !== undefined ? HAS_TAGS : 0) | (c.ids !== undefined ? HAS_IDS : 0);
    any |= shape[e]!;
  }
  const one = list.length === 1 ? list[0] : undefined;
  const out: PackedColumns = {
    packed: true,
    lengths,
    shape,
    keys: (one ? upTo(one.keys, n) : merged(list, n, (c) => c.keys, "")).join(KEY_SEPARATOR),
    ts: one ? one.ts : mergedNumbers(list, n, (c) => c.ts),
    values: one ? one.values : mergedNumbers(list, n, (c) => c.values),
  };
  if (any & HAS_TAGS) {
    const { sets, of } = distinctTags(one?.tags ?? merged(list, n, (c) => c.tags, null), n);
    out.tagSets = sets;
    out.tagOf = of;
  }
  if (any & HAS_IDS) out.ids = one?.ids !== undefined ? upTo(one.ids, n) : merged(list, n, (c) => c.ids, null);
  return out;
}

/** The first `n` items: a column may be longer than its entry's event count. */
function upTo<T>(items: T[], n: number): T[] {
  return items.length === n ? items : items.slice(0, n);
}

/** One column of every entry, one after the other (`none` for each event of an entry without it). */
function merged<T, N>(list: readonly EventColumns[], n: number, column: (c: EventColumns) => ArrayLike<T> | undefined, none: N): (T | N)[] {
  const out = new Array<T | N>(n);
  let at = 0;
  for (const c of list) {
    const values = column(c);
    for (let i = 0; i < c.length; i++) out[at++] = values === undefined ? none : values[i]!;
  }
  return out;
}

function mergedNumbers(list: readonly EventColumns[], n: number, column: (c: EventColumns) => Float64Array): Float64Array {
  const out = new Float64Array(n);
  let at = 0;
  for (const c of list) {
    const from = column(c);
    // Short entries by hand: a group of one-event requests is dozens of one-number entries,
    // and a view per entry for set() cost more than the copying.
    if (c.length > 64) out.set(from.subarray(0, c.length), at);
    else for (let i = 0; i < c.length; i++) out[at + i] = from[i]!;
    at += c.length;
  }
  return out;
}

export function unpackColumns(p: PackedColumns): EventColumns[] {
  let n = 0;
  for (let e = 0; e < p.lengths.length; e++) n += p.lengths[e]!;
  const keys = n === 0 ? [] : p.keys.split(KEY_SEPARATOR);
  const one = p.lengths.length === 1;
  const out: EventColumns[] = new Array(p.lengths.length);
  let at = 0;
  for (let e = 0; e < p.lengths.length; e++) {
    const length = p.lengths[e]!;
    const end = at + length;
    let tags: (Record<string, TagValue> | null)[] | undefined;
    if (p.shape[e]! & HAS_TAGS) {
      tags = new Array(length);
      for (let i = at; i < end; i++) {
        const k = p.tagOf![i]!;
        tags[i - at] = k === 0 ? null : p.tagSets![k - 1]!;
      }
    }
    out[e] = {
      length,
      keys: one ? keys : keys.slice(at, end),
      ts: one ? p.ts : p.ts.subarray(at, end),
      values: one ? p.values : p.values.subarray(at, end),
      tags,
      ids: p.shape[e]! & HAS_IDS ? (one ? p.ids! : p.ids!.slice(at, end)) : undefined,
    };
    at = end;
  }
  return out;
}

/**
 * All events of `p` as one partition's EventBatch, built from the packed form itself: its
 * joined keys, number arrays, distinct tag sets and tag indexes are already the wire fields, so
 * nothing is regrouped, joined or looked up again (decode of a batch that crossed from ingest's
 * thread, with one partition). The batch equals eventBatch() of the entries' merged columns;
 * `columns` are those columns, for same-process consumers (withColumns).
 */
export function packedEventBatch(stream: string, partition: number, rawBatchId: string, p: PackedColumns): { batch: EventBatch; columns: EventColumns } {
  let n = 0;
  for (let e = 0; e < p.lengths.length; e++) n += p.lengths[e]!;
  const ts = p.ts.subarray(0, n);
  const values = p.values.subarray(0, n);
  const batch: EventBatch = { stream, partition, rawBatchId, count: n, keys: n === 0 ? "" : p.keys, ts: float64Bytes(ts), values: float64Bytes(values) };
  let tags: (Record<string, TagValue> | null)[] | undefined;
  if (p.tagSets !== undefined && p.tagSets.length > 0 && p.tagOf !== undefined) {
    const sets = p.tagSets;
    const of = p.tagOf.subarray(0, n);
    tags = new Array(n);
    for (let i = 0; i < n; i++) tags[i] = of[i] === 0 ? null : sets[of[i]! - 1]!;
    // Not tagSetsJson: these sets are fresh copies, each listed once, and remembering their
    // text by identity cost several times what stringifying them does.
    batch.tagSets = JSON.stringify(sets);
    batch.tagOf = uint32Bytes(of);
  }
  // As for merged columns, a column no event has a value in is left out.
  const ids = p.ids?.slice(0, n);
  if (ids !== undefined && ids.some((id) => id !== null)) batch.ids = JSON.stringify(ids);
  return { batch, columns: { length: n, keys: n === 0 ? [] : p.keys.split(KEY_SEPARATOR), ts, values, tags, ids: batch.ids === undefined ? undefined : ids } };
}

export function isPackedColumns(x: unknown): x is PackedColumns {
  return typeof x === "object" && x !== null && (x as { packed?: unknown }).packed === true;
}

/** `batch` with its columns attached, for same-process consumers (PublishMessageOptions.localBody). */
export function withColumns(batch: EventBatch, columns: EventColumns): LocalEventBatch {
  // Not { ...batch, columns }: in V8 a spread copy given a field its source lacks costs ~0.5 µs
  // (a new hidden class each time); spread after the new field ~0.1 µs. A batch has no columns.
  return { columns, ...batch };
}

/** Canonical events as columns (for producers and tests that hold event objects). */
export function columnsOf(events: readonly CanonicalEvent[]): EventColumns {
  const n = events.length;
  const keys: string[] = new Array(n);
  const ts = new Float64Array(n);
  const values = new Float64Array(n);
  let tags: (Record<string, TagValue> | null)[] | undefined;
  let ids: (string | null)[] | undefined;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    keys[i] = e.key;
    ts[i] = e.ts;
    values[i] = e.value;
    if (e.tags !== undefined) (tags ??= new Array<null>(n).fill(null))[i] = e.tags;
    if (e.id !== undefined) (ids ??= new Array<null>(n).fill(null))[i] = e.id;
  }
  return { length: n, keys, ts, values, tags, ids };
}

/** The events of columns as objects (tests, tools; the pipeline reads columns). */
export function eventsOf(columns: EventColumns): CanonicalEvent[] {
  const out: CanonicalEvent[] = [];
  for (let i = 0; i < columns.length; i++) out.push(eventAt(columns, i));
  return out;
}

/** Event `i` of the columns as a CanonicalEvent. */
export function eventAt(columns: EventColumns, i: number): CanonicalEvent {
  const e: CanonicalEvent = { key: columns.keys[i]!, ts: columns.ts[i]!, value: columns.values[i]! };
  const tags = columns.tags?.[i];
  if (tags != null) e.tags = tags;
  const id = columns.ids?.[i];
  if (id != null) e.id = id;
  return e;
}

const decoded = new WeakMap<object, EventColumns>();

/**
 * The columns of a batch: attached ones (published in this process), or decoded from the wire
 * fields (once per batch object). Throws EventBatchError if a batch that was not validated is
 * malformed.
 */
export function eventColumnsOf(batch: EventBatch): EventColumns {
  const local = (batch as Partial<LocalEventBatch>).columns;
  if (local !== undefined) return local;
  const known = decoded.get(batch);
  if (known !== undefined) return known;
  const issues: ValidationIssue[] = [];
  const columns = checkEventBatch(batch, issues, 100);
  if (columns === undefined) throw new EventBatchError(issues);
  return columns;
}

/**
 * Checks an EventBatch body from the wire, appending at most `maxIssues` issues; returns its
 * columns when it is valid (and remembers them for eventColumnsOf). Keys are checked as keys;
 * tags' values are checked but not their count or sizes (decode may run with non-default
 * EventLimits, and these already passed them).
 */
export function checkEventBatch(x: unknown, issues: ValidationIssue[], maxIssues: number): EventColumns | undefined {
  if (!isPlainObject(x)) {
    issues.push({ path: "", message: `expected an EventBatch object, got ${describe(x)}` });
    return undefined;
  }
  const before = issues.length;
  checkStreamName(x.stream, "/stream", issues);
  if (!(Number.isSafeInteger(x.partition) && (x.partition as number) >= 0)) issues.push({ path: "/partition", message: `expected a non-negative integer, got ${describe(x.partition)}` });
  if (typeof x.rawBatchId !== "string" || x.rawBatchId.length === 0) issues.push({ path: "/rawBatchId", message: `expected a non-empty string, got ${describe(x.rawBatchId)}` });
  const count = x.count;
  const okCount = Number.isSafeInteger(count) && (count as number) >= 0;
  if (!okCount) issues.push({ path: "/count", message: `expected a non-negative integer, got ${describe(count)}` });
  if (typeof x.keys !== "string") issues.push({ path: "/keys", message: `expected a string of keys separated by U+0000, got ${describe(x.keys)}` });
  for (const name of ["ts", "values"] as const) {
    const b = x[name];
    if (!(b instanceof Uint8Array)) issues.push({ path: `/${name}`, message: `expected bytes (a Uint8Array) of float64 numbers, got ${describe(b)}` });
    else if (okCount && b.byteLength !== (count as number) * 8) {
      issues.push({ path: `/${name}`, message: `expected ${count} float64 numbers (${(count as number) * 8} bytes), got ${b.byteLength} bytes` });
    }
  }
  for (const name of ["tagSets", "ids"] as const) {
    if (x[name] !== undefined && typeof x[name] !== "string") issues.push({ path: `/${name}`, message: `expected JSON text, got ${describe(x[name])}` });
  }
  if ((x.tagSets === undefined) !== (x.tagOf === undefined)) {
    issues.push({ path: x.tagOf === undefined ? "/tagOf" : "/tagSets", message: "expected tagSets and tagOf together (or neither)" });
  } else if (x.tagOf !== undefined) {
    if (!(x.tagOf instanceof Uint8Array)) issues.push({ path: "/tagOf", message: `expected bytes (a Uint8Array) of uint32 numbers, got ${describe(x.tagOf)}` });
    else if (okCount && x.tagOf.byteLength !== (count as number) * 4) {
      issues.push({ path: "/tagOf", message: `expected ${count} uint32 numbers (${(count as number) * 4} bytes), got ${x.tagOf.byteLength} bytes` });
    }
  }
  if (issues.length > before) return undefined;
  const n = count as number;
  const keys = n === 0 && x.keys === "" ? [] : (x.keys as string).split(KEY_SEPARATOR);
  if (keys.length !== n) {
    issues.push({ path: "/keys", message: `expected ${n} keys separated by U+0000, got ${keys.length}` });
    return undefined;
  }
  for (let i = 0; i < n && issues.length < maxIssues; i++) {
    const problem = keyProblem(keys[i], MAX_KEY_BYTES);
    if (problem !== undefined) issues.push({ path: `/keys/${i}`, message: problem });
  }
  const ts = readFloat64s(x.ts as Uint8Array);
  const values = readFloat64s(x.values as Uint8Array);
  for (let i = 0; i < n && issues.length < maxIssues; i++) {
    if (!Number.isSafeInteger(ts[i])) issues.push({ path: `/ts/${i}`, message: `expected an integer, got ${describe(ts[i])}` });
    if (!Number.isFinite(values[i])) issues.push({ path: `/values/${i}`, message: `expected a finite number, got ${describe(values[i])}` });
  }
  let tags: (Record<string, TagValue> | null)[] | undefined;
  if (x.tagSets !== undefined) {
    const sets = jsonArray(x.tagSets as string, "/tagSets", "of tag objects", undefined, issues);
    if (sets !== undefined) {
      for (let k = 0; k < sets.length && issues.length < maxIssues; k++) checkTags(sets[k], `/tagSets/${k}`, issues, maxIssues);
      const of = readUint32s(x.tagOf as Uint8Array);
      tags = new Array(n);
      for (let i = 0; i < n; i++) {
        const k = of[i]!;
        if (k > sets.length) {
          if (issues.length < maxIssues) issues.push({ path: `/tagOf/${i}`, message: `expected 0 (no tags) to ${sets.length} (a tag set), got ${k}` });
          continue;
        }
        tags[i] = k === 0 ? null : (sets[k - 1] as Record<string, TagValue>);
      }
    }
  }
  const ids = x.ids === undefined ? undefined : jsonArray(x.ids as string, "/ids", `of ${n} entries`, n, issues);
  if (ids !== undefined) {
    for (let i = 0; i < n && issues.length < maxIssues; i++) {
      const id = ids[i];
      if (id !== null && (typeof id !== "string" || id.length === 0)) issues.push({ path: `/ids/${i}`, message: `expected a non-empty string or null, got ${describe(id)}` });
    }
  }
  if (issues.length > before) return undefined;
  const columns: EventColumns = {
    length: n,
    keys,
    ts,
    values,
    tags,
    ids: ids as (string | null)[] | undefined,
  };
  decoded.set(x, columns);
  return columns;
}

/** JSON text of an array (of `length` entries, when given), parsed; undefined after an issue. */
function jsonArray(text: string, path: string, what: string, length: number | undefined, issues: ValidationIssue[]): unknown[] | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    issues.push({ path, message: `expected JSON text of an array ${what}, got text that is not JSON` });
    return undefined;
  }
  if (!Array.isArray(value) || (length !== undefined && value.length !== length)) {
    issues.push({ path, message: `expected JSON text of an array ${what}, got ${Array.isArray(value) ? `${value.length} entries` : describe(value)}` });
    return undefined;
  }
  return value;
}

function checkTags(x: unknown, path: string, issues: ValidationIssue[], maxIssues: number): void {
  if (!isPlainObject(x)) {
    issues.push({ path, message: `expected an object of tags, got ${describe(x)}` });
    return;
  }
  for (const name of Object.keys(x)) {
    const v = x[name];
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) continue;
    issues.push({ path: pointer(path, name), message: `expected a tag value that is a string, a finite number or a boolean, got ${describe(v)}` });
    if (issues.length >= maxIssues) return;
  }
}
