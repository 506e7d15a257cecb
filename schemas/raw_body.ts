/**
 * Reading a producer's request body: a JSON object or array, NDJSON (one event per line), or
 * MessagePack (one map or an array of maps). Used by ingest (to validate before accepting)
 * and decode (to read the raw archive format). MessagePack decoding is passed in, so this
 * module stays free of dependencies.
 */
import { parseEventColumns, type EventColumns, type EventLimits, type InvalidEvent } from "./event.ts";
import { jsonEventColumns, ndjsonEventColumns } from "./json_events.ts";
import { msgpackEventColumns } from "./msgpack_events.ts";
import type { RawFormat } from "./types.ts";

export class BodyParseError extends Error {
  constructor(message: string, readonly pointer = "") {
    super(message);
    this.name = "BodyParseError";
  }
}

const mediaTypes: Record<string, RawFormat> = {
  "application/json": "json",
  "application/x-ndjson": "ndjson",
  "application/ndjson": "ndjson",
  "application/jsonl": "ndjson",
  "application/x-jsonlines": "ndjson",
  "application/msgpack": "msgpack",
  "application/x-msgpack": "msgpack",
  "application/vnd.msgpack": "msgpack",
};

export const supportedMediaTypes: readonly string[] = Object.keys(mediaTypes);

/** Content-Type values seen, and their format: producers send the same few on every request. */
const seenContentTypes = new Map<string, RawFormat | undefined>();

/** The body format for a Content-Type header value, or undefined if unsupported. */
export function formatOfContentType(contentType: string | null | undefined): RawFormat | undefined {
  if (!contentType) return undefined;
  if (seenContentTypes.has(contentType)) return seenContentTypes.get(contentType);
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  const format = Object.hasOwn(mediaTypes, media) ? mediaTypes[media] : undefined;
  if (seenContentTypes.size >= 256) seenContentTypes.clear();
  seenContentTypes.set(contentType, format);
  return format;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function text(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BodyParseError("body is not valid UTF-8");
  }
}

function eventsOf(value: unknown, what: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object") return [value];
  throw new BodyParseError(`${what}: expected an event object or an array of events, got ${value === null ? "null" : typeof value}`);
}

/**
 * Parses a body into event values (not yet validated). Stops with BodyParseError as soon as
 * more than `maxEvents` are found, so a huge batch costs no more than reading it.
 */
export function parseRawBody(
  format: RawFormat,
  bytes: Uint8Array,
  options: { maxEvents: number; decodeMsgpack: (bytes: Uint8Array) => unknown },
): unknown[] {
  if (format !== "msgpack") return parseText(format, text(bytes), options.maxEvents);
  let value: unknown;
  try {
    value = options.decodeMsgpack(bytes);
  } catch (err) {
    throw new BodyParseError(`invalid MessagePack: ${(err as Error).message}`);
  }
  return checkCount(eventsOf(value, "MessagePack body"), options.maxEvents);
}

function parseText(format: "json" | "ndjson", body: string, maxEvents: number): unknown[] {
  let events: unknown[];
  if (format === "json") {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      throw new BodyParseError(`invalid JSON: ${(err as Error).message}`);
    }
    events = eventsOf(value, "JSON body");
  } else {
    events = [];
    const lines = body.split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "") continue;
      if (events.length >= maxEvents) throw new TooManyEventsError(maxEvents);
      try {
        events.push(JSON.parse(line));
      } catch (err) {
        throw new BodyParseError(`invalid JSON on NDJSON line ${i + 1}: ${(err as Error).message}`, `/${events.length}`);
      }
    }
  }
  return checkCount(events, maxEvents);
}

function checkCount(events: unknown[], maxEvents: number): unknown[] {
  if (events.length > maxEvents) throw new TooManyEventsError(maxEvents, events.length);
  if (events.length === 0) throw new BodyParseError("no events in body");
  return events;
}

export interface ParsedBody {
  /** The valid events, in body order. */
  columns: EventColumns;
  /** The invalid ones, by index into `values`. */
  invalid: InvalidEvent[];
  /** The parsed event values (what the invalid ones were); empty when every event was valid and the body took a fast path. */
  values: unknown[];
}

/**
 * parseRawBody + parseEventColumns in one: the body's events, validated, as columns. Throws
 * as parseRawBody does. MessagePack, JSON and NDJSON bodies of the common shape skip the
 * per-event objects (msgpack_events.ts, json_events.ts), with the same result.
 */
export function parseBodyColumns(
  format: RawFormat,
  bytes: Uint8Array,
  options: { maxEvents: number; decodeMsgpack: (bytes: Uint8Array) => unknown; receivedAt: number; limits?: Partial<EventLimits> },
): ParsedBody {
  const fast = format === "msgpack" ? msgpackEventColumns(bytes, options) : format === "json" ? jsonEventColumns(bytes, options) : ndjsonEventColumns(bytes, options);
  if (fast !== undefined) return { columns: fast, invalid: [], values: [] };
  const values = parseRawBody(format, bytes, options);
  const { columns, invalid } = parseEventColumns(values, { receivedAt: options.receivedAt, limits: options.limits });
  return { columns, invalid, values };
}

export class TooManyEventsError extends BodyParseError {
  constructor(readonly limit: number, readonly found?: number) {
    super(`more than ${limit} events in one request${found !== undefined ? ` (found ${found})` : ""}; split the batch`);
    this.name = "TooManyEventsError";
  }
}
