/**
 * Producer events: validation and normalisation into CanonicalEvent (or straight into columns,
 * parseEventColumns). This runs once per event at the edge (and in decode for bodies that did
 * not come through it), so a valid event costs one pass over each field and no allocation but
 * its result: issue paths and messages are built only for invalid events. Every problem of an
 * event is reported (up to a cap) so a producer can fix them all from one response.
 */
import { describe, isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import { checkKey, keyProblem } from "./key.ts";
import { parseTimestamp } from "./timestamp.ts";
import type { CanonicalEvent, TagValue } from "./types.ts";
import { copyTags, newTagNode, tagIssues, type TagNode } from "./event_tags.ts";

/** Bounds on one event. Every limit keeps a hostile or buggy producer from costing unbounded memory downstream. */
export interface EventLimits {
  /** Maximum UTF-8 bytes of `key`. Defaults to 256. */
  maxKeyBytes: number;
  /** Maximum number of entries in `tags`. Defaults to 32. */
  maxTags: number;
  /** Maximum length of a tag name (which must match `[A-Za-z0-9_.:-]+`). Defaults to 64. */
  maxTagNameLength: number;
  /** Maximum UTF-8 bytes of a string tag value. Defaults to 256. */
  maxTagValueBytes: number;
  /** Maximum length of `id`, in UTF-16 code units (JavaScript string length). Defaults to 128. */
  maxIdLength: number;
  /** Earliest accepted `ts`, epoch ms, inclusive. Defaults to 946684800000 (2000-01-01T00:00:00Z). */
  minTs: number;
  /** End of the accepted `ts` range, epoch ms, exclusive. Defaults to 4102444800000 (2100-01-01T00:00:00Z). */
  maxTs: number;
  /** How far `ts` may be ahead of the time the event was received (ms). Defaults to 300 000 (5 minutes). */
  maxFutureMs: number;
  /** Most issues reported for one event; further ones are dropped. Defaults to 20. */
  maxIssuesPerEvent: number;
}

export const defaultEventLimits: EventLimits = Object.freeze({
  maxKeyBytes: 256,
  maxTags: 32,
  maxTagNameLength: 64,
  maxTagValueBytes: 256,
  maxIdLength: 128,
  minTs: Date.UTC(2000, 0, 1),
  maxTs: Date.UTC(2100, 0, 1),
  maxFutureMs: 300_000,
  maxIssuesPerEvent: 20,
});

export interface ParseEventOptions {
  /** Epoch ms the event was received; becomes `ts` when the event has none. */
  receivedAt: number;
  /** JSON Pointer prefixed to every issue path, e.g. "/3" for the fourth event of a batch. Defaults to "". */
  path?: string;
  /** Overrides of defaultEventLimits. */
  limits?: Partial<EventLimits>;
}

export type ParseEventResult = { ok: true; event: CanonicalEvent } | { ok: false; issues: ValidationIssue[] };

export interface ParseEventsResult {
  /** Valid events, normalised, in input order. */
  events: CanonicalEvent[];
  /** One entry per rejected input; issue paths start with `/<index>`. */
  invalid: InvalidEvent[];
}

export interface InvalidEvent {
  index: number;
  issues: ValidationIssue[];
}

/**
 * Valid events column by column, in input order: `keys[i]`, `ts[i]`, `values[i]`, and
 * `tags[i]` / `ids[i]` (null for an event without) — each array undefined when no event has
 * one. What ingest hands decode in-process and what tw.events batches carry (event_batch.ts):
 * no object per event.
 */
export interface EventColumns {
  length: number;
  keys: string[];
  ts: Float64Array;
  values: Float64Array;
  /**
   * Read-only: events with equal tags share one object, and ingest's fast readers hand out
   * frozen copies shared across requests (body_strings.ts), so a write would throw there only.
   */
  tags: (Record<string, TagValue> | null)[] | undefined;
  ids: (string | null)[] | undefined;
}

export interface ParseEventColumnsResult {
  columns: EventColumns;
  invalid: InvalidEvent[];
}

const FIELDS = "key, ts, value, tags, id";
/** Numbers below this look like epoch seconds (see timestamp.ts); the fast path leaves them to it. */
const SECONDS_SUSPECT_BELOW = 1e11;

// The fields of the event the last successful parseCore() call accepted. One module-level slot
// instead of a result object per event: parsing is synchronous and not re-entrant.
let outKey = "";
let outTs = 0;
let outValue = 1;
let outTags: Record<string, TagValue> | undefined;
let outId: string | undefined;

/** Validates one producer event and returns it in canonical form, or every issue found (capped). */
export function parseEvent(input: unknown, opts: ParseEventOptions): ParseEventResult {
  const issues = parseCore(input, opts.receivedAt, opts.path ?? "", -1, resolveLimits(opts.limits));
  return issues === undefined ? { ok: true, event: lastEvent() } : { ok: false, issues };
}

/** parseEvent over a batch: keeps the valid events in order and reports the invalid ones by index. */
export function parseEvents(inputs: unknown[], opts: ParseEventOptions): ParseEventsResult {
  const limits = resolveLimits(opts.limits);
  const base = opts.path ?? "";
  const events: CanonicalEvent[] = [];
  const invalid: InvalidEvent[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const issues = parseCore(inputs[i], opts.receivedAt, base, i, limits);
    if (issues === undefined) events.push(lastEvent());
    else invalid.push({ index: i, issues });
  }
  return { events, invalid };
}

/**
 * parseEvents straight into columns, with no object per event. Tags are copied, so the result
 * shares nothing with `inputs`; events with equal tags share one copy (treat tags as read-only).
 */
export function parseEventColumns(inputs: unknown[], opts: ParseEventOptions): ParseEventColumnsResult {
  return parseEventColumnsOf(inputs.length, (i) => inputs[i], opts);
}

/**
 * parseEventColumns over `n` events that `eventAt(i)` supplies, in order i = 0 … n − 1: the
 * event is read before the next call, so a reader may hand out one reused object
 * (msgpack_events.ts). With `hasNext`, a reader that learns the count only as it goes
 * (json_events.ts): events are read while `hasNext(i)` is true, and `n` is only the room
 * allocated at first (it grows as needed).
 */
export function parseEventColumnsOf(
  n: number,
  eventAt: (i: number) => unknown,
  opts: ParseEventOptions,
  hasNext?: (i: number) => boolean,
): ParseEventColumnsResult {
  const limits = resolveLimits(opts.limits);
  const base = opts.path ?? "";
  const keys: string[] = [];
  let ts: Float64Array = new Float64Array(n);
  let values: Float64Array = new Float64Array(n);
  let tags: (Record<string, TagValue> | null)[] | undefined;
  let ids: (string | null)[] | undefined;
  const invalid: InvalidEvent[] = [];
  // Sharing pays only when events can repeat tags: one event (a single-event request) needs no trie.
  const interned = n > 1 || hasNext !== undefined ? newTagNode() : undefined;
  let j = 0;
  for (let i = 0; hasNext === undefined ? i < n : hasNext(i); i++) {
    const issues = parseCore(eventAt(i), opts.receivedAt, base, i, limits, interned);
    if (issues !== undefined) {
      invalid.push({ index: i, issues });
      continue;
    }
    if (j === ts.length) {
      ts = grown(ts);
      values = grown(values);
    }
    keys.push(outKey);
    ts[j] = outTs;
    values[j] = outValue;
    if (outTags !== undefined) (tags ??= new Array<null>(j).fill(null))[j] = outTags;
    else if (tags !== undefined) tags[j] = null;
    if (outId !== undefined) (ids ??= new Array<null>(j).fill(null))[j] = outId;
    else if (ids !== undefined) ids[j] = null;
    j++;
  }
  if (j < ts.length) {
    // A reader's first guess at the room can be far too large: copy then, not to keep it.
    ts = hasNext !== undefined ? ts.slice(0, j) : ts.subarray(0, j);
    values = hasNext !== undefined ? values.slice(0, j) : values.subarray(0, j);
  }
  return { columns: { length: j, keys, ts, values, tags, ids }, invalid };
}

function grown(xs: Float64Array): Float64Array {
  const out = new Float64Array(Math.max(16, xs.length * 2));
  out.set(xs);
  return out;
}

/**
 * The canonical ts of a producer's `ts`: integer epoch ms within the limits and at most
 * maxFutureMs ahead of `receivedAt`; NaN when it is not acceptable (parseCore says why).
 */
function acceptedTs(t: number | string, receivedAt: number, limits: EventLimits): number {
  const whole = typeof t === "number" ? Math.floor(t) : NaN;
  // The common case, decided without a result object.
  if (whole >= SECONDS_SUSPECT_BELOW && whole >= limits.minTs && whole < limits.maxTs && whole - receivedAt <= limits.maxFutureMs) return whole;
  const r = parseTimestamp(t, limits.minTs, limits.maxTs);
  return r.ok && r.ts - receivedAt <= limits.maxFutureMs ? r.ts : NaN;
}

function lastEvent(): CanonicalEvent {
  const event: CanonicalEvent = { key: outKey, ts: outTs, value: outValue };
  if (outTags !== undefined) event.tags = outTags;
  if (outId !== undefined) event.id = outId;
  return event;
}

function resolveLimits(overrides: Partial<EventLimits> | undefined): EventLimits {
  if (overrides === undefined) return defaultEventLimits;
  const limits = { ...defaultEventLimits };
  for (const name of Object.keys(defaultEventLimits) as (keyof EventLimits)[]) {
    const v = overrides[name];
    if (v !== undefined) limits[name] = v;
  }
  return limits;
}

/**
 * The JSON Pointer of `rest` within the event at `index` of a batch under `prefix` (index -1:
 * the event is not in a batch). Built only when there is an issue to report: the path of a
 * valid event is never needed.
 */
function at(prefix: string, index: number, rest: string): string {
  return (index < 0 ? prefix : `${prefix}/${index}`) + rest;
}

/**
 * Checks one event. Valid: returns undefined and leaves the canonical fields in the out*
 * slots. Invalid: returns every issue found (capped). Nothing is allocated for a valid event
 * but its tags copy — and with `interned`, not even that for tags equal to earlier ones.
 */
function parseCore(
  input: unknown,
  receivedAt: number,
  prefix: string,
  index: number,
  limits: EventLimits,
  interned?: TagNode,
): ValidationIssue[] | undefined {
  if (!isPlainObject(input)) {
    return [{ path: at(prefix, index, ""), message: `expected an event object {${FIELDS}}, got ${describe(input)}` }];
  }
  let issues: ValidationIssue[] | undefined;
  const cap = limits.maxIssuesPerEvent;

  for (const name in input) {
    if (name === "key" || name === "ts" || name === "value" || name === "tags" || name === "id") continue;
    if ((issues ??= []).length >= cap) break;
    issues.push({ path: pointer(at(prefix, index, ""), name), message: `unknown field ${JSON.stringify(name)} (allowed: ${FIELDS})` });
  }

  const key = input.key;
  if (key === undefined) {
    (issues ??= []).push({ path: at(prefix, index, "/key"), message: `expected a non-empty string of at most ${limits.maxKeyBytes} UTF-8 bytes, got nothing (key is required)` });
  } else if (keyProblem(key, limits.maxKeyBytes) !== undefined) {
    checkKey(key, at(prefix, index, "/key"), limits.maxKeyBytes, (issues ??= []));
  }

  let ts = receivedAt;
  const t = input.ts;
  if (t !== undefined) {
    const accepted = typeof t === "number" || typeof t === "string" ? acceptedTs(t, receivedAt, limits) : NaN;
    if (accepted === accepted) ts = accepted;
    else {
      const r = parseTimestamp(t, limits.minTs, limits.maxTs);
      if (!r.ok) (issues ??= []).push({ path: at(prefix, index, "/ts"), message: r.message });
      else {
        // One event far in the future would drag its stream's watermark along and make every
        // on-time event late.
        (issues ??= []).push({ path: at(prefix, index, "/ts"), message: `expected a time at most ${limits.maxFutureMs} ms ahead of the server clock, got one ${r.ts - receivedAt} ms ahead (check the producer's clock and units)` });
      }
    }
  }

  let value = 1;
  const v = input.value;
  if (v !== undefined) {
    if (typeof v === "number" && Number.isFinite(v)) value = v;
    else {
      const hint = typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? " (numeric strings are not converted; send a JSON number)" : "";
      (issues ??= []).push({ path: at(prefix, index, "/value"), message: `expected a finite number, got ${describe(v)}${hint}` });
    }
  }

  let tags: Record<string, TagValue> | undefined;
  if (input.tags !== undefined) {
    tags = copyTags(input.tags, limits, interned);
    if (tags === undefined) tagIssues(input.tags, at(prefix, index, "/tags"), limits, (issues ??= []));
  }

  const id = input.id;
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > limits.maxIdLength)) {
    const found = typeof id === "string" && id.length > limits.maxIdLength ? `${id.length} characters` : describe(id);
    (issues ??= []).push({ path: at(prefix, index, "/id"), message: `expected a non-empty string of at most ${limits.maxIdLength} characters, got ${found}` });
  }

  if (issues !== undefined && issues.length > 0) return issues.length > cap ? issues.slice(0, cap) : issues;
  outKey = key as string;
  outTs = ts;
  outValue = value;
  outTags = tags;
  outId = id as string | undefined;
  return undefined;
}
