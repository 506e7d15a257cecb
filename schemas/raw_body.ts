/**
 * Reading a producer's request body: a JSON object or array, NDJSON (one event per line), or
 * MessagePack (one map or an array of maps). Used by ingest (to validate before accepting)
 * and decode (to read the raw archive format). MessagePack decoding is passed in, so this
 * module stays free of dependencies.
 */
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

/** The body format for a Content-Type header value, or undefined if unsupported. */
export function formatOfContentType(contentType: string | null | undefined): RawFormat | undefined {
  if (!contentType) return undefined;
  const media = contentType.split(";")[0]!.trim().toLowerCase();
  return mediaTypes[media];
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
  let events: unknown[];
  if (format === "json") {
    let value: unknown;
    try {
      value = JSON.parse(text(bytes));
    } catch (err) {
      if (err instanceof BodyParseError) throw err;
      throw new BodyParseError(`invalid JSON: ${(err as Error).message}`);
    }
    events = eventsOf(value, "JSON body");
  } else if (format === "ndjson") {
    events = [];
    const lines = text(bytes).split("\n");
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === "") continue;
      if (events.length >= options.maxEvents) throw new TooManyEventsError(options.maxEvents);
      try {
        events.push(JSON.parse(line));
      } catch (err) {
        throw new BodyParseError(`invalid JSON on NDJSON line ${i + 1}: ${(err as Error).message}`, `/${events.length}`);
      }
    }
  } else {
    let value: unknown;
    try {
      value = options.decodeMsgpack(bytes);
    } catch (err) {
      throw new BodyParseError(`invalid MessagePack: ${(err as Error).message}`);
    }
    events = eventsOf(value, "MessagePack body");
  }
  if (events.length > options.maxEvents) throw new TooManyEventsError(options.maxEvents, events.length);
  if (events.length === 0) throw new BodyParseError("no events in body");
  return events;
}

export class TooManyEventsError extends BodyParseError {
  constructor(readonly limit: number, readonly found?: number) {
    super(`more than ${limit} events in one request${found !== undefined ? ` (found ${found})` : ""}; split the batch`);
    this.name = "TooManyEventsError";
  }
}
