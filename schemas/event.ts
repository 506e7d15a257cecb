/**
 * Producer events: validation and normalisation into CanonicalEvent. This runs once per event
 * in decode, so it makes one pass over each field, allocates only the result, and reports every
 * problem of an event (up to a cap) so a producer can fix them all from one response.
 */
import { describe, isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import { checkKey } from "./key.ts";
import { parseTimestamp } from "./timestamp.ts";
import type { CanonicalEvent, TagValue } from "./types.ts";
import { utf8ByteLength } from "./utf8.ts";

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
  invalid: { index: number; issues: ValidationIssue[] }[];
}

const FIELDS = "key, ts, value, tags, id";
const TAG_NAME = /^[A-Za-z0-9_.:-]+$/;

/** Validates one producer event and returns it in canonical form, or every issue found (capped). */
export function parseEvent(input: unknown, opts: ParseEventOptions): ParseEventResult {
  return parseWith(input, opts.receivedAt, opts.path ?? "", resolveLimits(opts.limits));
}

/** parseEvent over a batch: keeps the valid events in order and reports the invalid ones by index. */
export function parseEvents(inputs: unknown[], opts: ParseEventOptions): ParseEventsResult {
  const limits = resolveLimits(opts.limits);
  const base = opts.path ?? "";
  const events: CanonicalEvent[] = [];
  const invalid: ParseEventsResult["invalid"] = [];
  for (let i = 0; i < inputs.length; i++) {
    const r = parseWith(inputs[i], opts.receivedAt, `${base}/${i}`, limits);
    if (r.ok) events.push(r.event);
    else invalid.push({ index: i, issues: r.issues });
  }
  return { events, invalid };
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

function parseWith(input: unknown, receivedAt: number, base: string, limits: EventLimits): ParseEventResult {
  if (!isPlainObject(input)) {
    return { ok: false, issues: [{ path: base, message: `expected an event object {${FIELDS}}, got ${describe(input)}` }] };
  }
  const issues: ValidationIssue[] = [];
  const cap = limits.maxIssuesPerEvent;

  for (const name in input) {
    if (name === "key" || name === "ts" || name === "value" || name === "tags" || name === "id") continue;
    if (issues.length >= cap) break;
    issues.push({ path: pointer(base, name), message: `unknown field ${JSON.stringify(name)} (allowed: ${FIELDS})` });
  }

  const key = input.key;
  if (key === undefined) {
    issues.push({ path: `${base}/key`, message: `expected a non-empty string of at most ${limits.maxKeyBytes} UTF-8 bytes, got nothing (key is required)` });
  } else {
    checkKey(key, `${base}/key`, limits.maxKeyBytes, issues);
  }

  let ts = receivedAt;
  if (input.ts !== undefined) {
    const r = parseTimestamp(input.ts, limits.minTs, limits.maxTs);
    if (!r.ok) issues.push({ path: `${base}/ts`, message: r.message });
    else if (r.ts - receivedAt > limits.maxFutureMs) {
      // One event far in the future would drag its stream's watermark along and make every
      // on-time event late.
      issues.push({ path: `${base}/ts`, message: `expected a time at most ${limits.maxFutureMs} ms ahead of the server clock, got one ${r.ts - receivedAt} ms ahead (check the producer's clock and units)` });
    } else ts = r.ts;
  }

  let value = 1;
  const v = input.value;
  if (v !== undefined) {
    if (typeof v === "number" && Number.isFinite(v)) value = v;
    else {
      const hint = typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v)) ? " (numeric strings are not converted; send a JSON number)" : "";
      issues.push({ path: `${base}/value`, message: `expected a finite number, got ${describe(v)}${hint}` });
    }
  }

  const tags = input.tags === undefined ? undefined : parseTags(input.tags, `${base}/tags`, limits, issues);

  const id = input.id;
  if (id !== undefined && (typeof id !== "string" || id.length === 0 || id.length > limits.maxIdLength)) {
    const found = typeof id === "string" && id.length > limits.maxIdLength ? `${id.length} characters` : describe(id);
    issues.push({ path: `${base}/id`, message: `expected a non-empty string of at most ${limits.maxIdLength} characters, got ${found}` });
  }

  if (issues.length > 0) return { ok: false, issues: issues.length > cap ? issues.slice(0, cap) : issues };
  const event: CanonicalEvent = { key: key as string, ts, value };
  if (tags !== undefined) event.tags = tags;
  if (id !== undefined) event.id = id as string;
  return { ok: true, event };
}

/** Validates tags into a fresh object (never aliasing the input); appends issues; returns undefined on any issue. */
function parseTags(x: unknown, path: string, limits: EventLimits, issues: ValidationIssue[]): Record<string, TagValue> | undefined {
  if (!isPlainObject(x)) {
    issues.push({ path, message: `expected an object of at most ${limits.maxTags} tags, got ${describe(x)}` });
    return undefined;
  }
  const names = Object.keys(x);
  if (names.length > limits.maxTags) {
    // Checking each of an unbounded number of tags would only repeat the point.
    issues.push({ path, message: `expected at most ${limits.maxTags} tags, got ${names.length}` });
    return undefined;
  }
  const before = issues.length;
  const out: Record<string, TagValue> = {};
  for (const name of names) {
    if (issues.length >= limits.maxIssuesPerEvent) break;
    if (name.length === 0 || name.length > limits.maxTagNameLength || !TAG_NAME.test(name)) {
      const found = name.length > limits.maxTagNameLength ? `${name.length} characters` : describe(name);
      issues.push({ path: pointer(path, name), message: `expected a tag name of 1..${limits.maxTagNameLength} characters [A-Za-z0-9_.:-], got ${found}` });
      continue;
    }
    const v = x[name];
    if (typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) {
      // ok
    } else if (typeof v === "string") {
      const bytes = utf8ByteLength(v);
      if (bytes > limits.maxTagValueBytes) {
        issues.push({ path: pointer(path, name), message: `expected a tag value of at most ${limits.maxTagValueBytes} UTF-8 bytes, got ${bytes} bytes` });
        continue;
      }
    } else {
      issues.push({ path: pointer(path, name), message: `expected a tag value that is a string, a finite number or a boolean, got ${describe(v)}` });
      continue;
    }
    // "__proto__" is a legal tag name; plain assignment would set the prototype instead.
    if (name === "__proto__") Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
    else out[name] = v;
  }
  return issues.length > before ? undefined : out;
}
