/**
 * The messages that cross actor boundaries, as TypeScript types, and the type names the codec
 * envelope (`{v, type, id, ts, body}`) carries for each. Validators for these bodies live in
 * messages.ts; producer events are parsed in event.ts.
 */

export type TagValue = string | number | boolean;

/** An event as producers send it. */
export interface EventInput {
  key: string;
  ts?: number | string;
  value?: number;
  tags?: Record<string, TagValue>;
  id?: string;
}

/**
 * An event after decode: timestamp resolved to epoch ms, value defaulted to 1. Optional fields
 * are absent (never present with `undefined`) when the producer did not send them.
 */
export interface CanonicalEvent {
  key: string;
  ts: number;
  value: number;
  tags?: Record<string, TagValue>;
  id?: string;
}

export type RawFormat = "json" | "ndjson" | "msgpack";

export type RawSource = "http" | "ws" | "nats";

/**
 * One accepted request (or WebSocket frame, or NATS-published batch): its body exactly as
 * received, plus how to read it. `batchId` is what its producer got back with the 202.
 */
export interface RawPart {
  batchId: string;
  receivedAt: number;
  format: RawFormat;
  count: number;
  source: RawSource;
  body: Uint8Array;
}

/**
 * tw.raw.<stream>: what ingest accepted for one stream — one request, or several written
 * together (ingest coalesces requests that arrive while an earlier write of their stream is in
 * flight: group commit at the edge). Parts are in order of receipt.
 *
 * `batchId` is the message id: the first part's batchId (so a request with an Idempotency-Key,
 * which always travels alone, is de-duplicated by its key). `receivedAt` is the first part's;
 * `count` the sum of the parts' counts.
 */
export interface RawBatch {
  stream: string;
  batchId: string;
  receivedAt: number;
  count: number;
  parts: RawPart[];
}

/**
 * tw.events.<partition>: canonical events of one stream and one partition, column-wise so that
 * encoding a batch costs a few copies instead of one MessagePack map per event
 * (event_batch.ts builds and reads this form). Event `i`:
 *
 * - key: the i-th of `keys`, the keys joined by U+0000 (a key never contains a control character);
 * - ts, value: the i-th of `ts` / `values`, `count` IEEE-754 float64 numbers each, little-endian
 *   (ts: integer epoch ms);
 * - tags: `tagOf` holds `count` little-endian uint32: 0 = no tags, k = the k-th object of
 *   `tagSets` (JSON text of an array of distinct tag objects — events mostly repeat a few);
 *   both absent when no event of the batch has tags;
 * - id: the i-th entry of `ids` (JSON text of an array of `count` strings or nulls); absent
 *   when no event has an id.
 *
 * `rawBatchId` = `batchId` of the raw message the events came from.
 */
export interface EventBatch {
  stream: string;
  partition: number;
  rawBatchId: string;
  count: number;
  keys: string;
  ts: Uint8Array;
  values: Uint8Array;
  tagSets?: string;
  tagOf?: Uint8Array;
  ids?: string;
}

/** One closed (or revised) event-time window of one key. */
export interface WindowAggregate {
  stream: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  revision: number;
  /**
   * True when the window was emitted while still open (on shutdown) with the totals so far; a
   * later revision carries the final totals. Detection scores only windows that are not partial.
   */
  partial?: boolean;
}

/**
 * tw.agg.<partition>: windows closed by one aggregate step; `watermarks` maps each stream to its
 * watermark (epoch ms) when the batch was emitted.
 */
export interface AggBatch {
  partition: number;
  windows: WindowAggregate[];
  watermarks: Record<string, number>;
}

export type Direction = "up" | "down";

/** tw.trends.<stream>.<key> (key encoded with encodeSubjectToken) */
export interface TrendSignal {
  stream: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  observed: number;
  expected: number;
  spread: number;
  score: number;
  threshold: number;
  direction: Direction;
  detector: string;
  explanation: string;
  emittedAt: number;
}

/** tw.dlq.<stage> */
export interface DeadLetterEntry {
  stage: string;
  reason: string;
  at: number;
  stream?: string;
  subject?: string;
  seq?: number;
  index?: number;
  payload?: unknown;
}

/**
 * Type names for the codec envelope's `type` field. The suffix is bumped on a breaking change
 * to a body; additive optional fields keep the name (validators ignore unknown body fields).
 */
export const MessageType = Object.freeze({
  // v2: several requests per message (parts); v1 carried one request at the top level.
  RawBatch: "tw.raw_batch.v2",
  // v2: column-wise events; v1 carried an array of event maps.
  EventBatch: "tw.event_batch.v2",
  AggBatch: "tw.agg_batch.v1",
  TrendSignal: "tw.trend_signal.v1",
  DeadLetter: "tw.dead_letter.v1",
} as const);

export type MessageTypeName = (typeof MessageType)[keyof typeof MessageType];
