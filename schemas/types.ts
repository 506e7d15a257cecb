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

/** tw.raw.<stream>: what ingest accepted, exactly as received (the body bytes), plus how to read it. */
export interface RawBatch {
  stream: string;
  batchId: string;
  receivedAt: number;
  format: RawFormat;
  count: number;
  source: "http" | "ws" | "nats";
  body: Uint8Array;
}

/**
 * tw.events.<partition>: canonical events of one stream and one partition.
 * `rawBatchId` = `batchId` of the raw batch they came from.
 */
export interface EventBatch {
  stream: string;
  partition: number;
  rawBatchId: string;
  events: CanonicalEvent[];
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
  RawBatch: "tw.raw_batch.v1",
  EventBatch: "tw.event_batch.v1",
  AggBatch: "tw.agg_batch.v1",
  TrendSignal: "tw.trend_signal.v1",
  DeadLetter: "tw.dead_letter.v1",
} as const);

export type MessageTypeName = (typeof MessageType)[keyof typeof MessageType];
