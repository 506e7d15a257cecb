/**
 * Accepting a batch of producer events, whatever edge it came through (HTTP request or
 * WebSocket frame): parse the body by format, validate every event, and write the request
 * durably to `tw.raw.<stream>` — alone, or grouped with requests of the same stream that arrive
 * while earlier writes are in flight (raw_writer.ts). The answer is a 202 (with the count) once
 * the request is durable, or an RFC 9457 problem; nothing is published unless the whole batch
 * is valid, so a rejected request leaves no trace.
 */
import {
  BodyParseError,
  parseBodyColumns,
  TooManyEventsError,
  validateStreamName,
  type ParsedBody,
  type RawFormat,
  type RawPart,
  type RawSource,
} from "../../schemas/mod.ts";
import { BackpressureError, TransportUnavailableError } from "../../runtime/core/errors.ts";
import type { Problem } from "../../runtime/http/problem.ts";
import type { PublishAck } from "../../runtime/transport/transport.ts";
import type { PublishMessageOptions } from "../../runtime/core/publisher.ts";
import { throttledWarning, type Logger } from "../../runtime/core/log.ts";
import type { MetricsRegistry } from "../../runtime/core/metrics.ts";
import { randomId } from "../../runtime/core/publisher.ts";
import { RawWriter, type RawWriterOptions } from "./raw_writer.ts";

export type { LocalRawBatch } from "./raw_writer.ts";

export interface IngestLimits {
  /** Largest request body (bytes). Defaults to 10 MiB. */
  maxBodyBytes: number;
  /** Most events in one request or frame. Defaults to 10 000. */
  maxEventsPerRequest: number;
  /** Batches being published at once across the edge before 429. Defaults to 256. */
  maxInFlight: number;
  /** Field errors listed in one 422 response. Defaults to 100. */
  maxReportedErrors: number;
}

export const defaultIngestLimits: IngestLimits = Object.freeze({
  maxBodyBytes: 10 * 1024 * 1024,
  maxEventsPerRequest: 10_000,
  maxInFlight: 256,
  maxReportedErrors: 100,
});

export interface IngestDeps {
  publish(subject: string, type: string, body: unknown, options?: PublishMessageOptions): Promise<PublishAck>;
  decodeMsgpack(bytes: Uint8Array): unknown;
  now(): number;
  log: Logger;
  limits: IngestLimits;
  /** How requests are grouped into raw messages (see raw_writer.ts); defaults apply field by field. */
  grouping?: Partial<RawWriterOptions>;
  /** Runs a function on a later turn of the event loop (Platform.afterPendingMessages), for grouping's regroupTurns. */
  nextTurn?(run: () => void): void;
  onAccepted?(stream: string, events: number, source: RawSource): void;
  /** Where the acceptor reports the batches it is writing (gauge tw_ingest_batches_in_flight). */
  metrics?: MetricsRegistry;
}

export type AcceptResult =
  | { ok: true; accepted: number; batchId: string; duplicate: boolean }
  | { ok: false; problem: Problem; retryAfterMs?: number };

export function badStreamName(stream: string): Problem | undefined {
  const issues = validateStreamName(stream);
  if (issues.length === 0) return undefined;
  return { title: "Invalid stream name", status: 400, detail: `stream "${stream}": ${issues[0]!.message}` };
}

const idempotencyKeyPattern = /^[\x21-\x7e]{1,200}$/;

export class BatchAcceptor {
  #inFlight = 0;
  readonly #writer: RawWriter;

  /** Every request gets its 503 while storage is down; the log gets a line now and then. */
  readonly #unavailable: ReturnType<typeof throttledWarning>;

  constructor(readonly deps: IngestDeps) {
    this.#unavailable = throttledWarning(deps.log, "transport unavailable", () => deps.now());
    this.#writer = new RawWriter((subject, type, body, options) => deps.publish(subject, type, body, options), deps.grouping,
      deps.nextTurn ? { nextTurn: (run) => deps.nextTurn!(run), now: () => deps.now() } : undefined,
    );
    const metrics = deps.metrics;
    if (metrics) {
      const gauge = metrics.gauge("tw_ingest_batches_in_flight", "Requests and frames accepted for writing and not yet durable (429 beyond maxInFlight)");
      metrics.collect(() => gauge.set(this.#inFlight));
    }
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  async accept(input: {
    stream: string;
    format: RawFormat;
    bytes: Uint8Array;
    source: RawSource;
    idempotencyKey?: string;
  }): Promise<AcceptResult> {
    const { stream, format, bytes, source, idempotencyKey } = input;
    const { limits } = this.deps;
    const bad = badStreamName(stream);
    if (bad) return { ok: false, problem: bad };
    if (idempotencyKey !== undefined && !idempotencyKeyPattern.test(idempotencyKey)) {
      return { ok: false, problem: { title: "Invalid Idempotency-Key", status: 400, detail: "Idempotency-Key must be 1 to 200 visible ASCII characters" } };
    }
    if (bytes.byteLength > limits.maxBodyBytes) return { ok: false, problem: tooLarge(limits.maxBodyBytes) };
    const receivedAt = this.deps.now();
    let parsed: ParsedBody;
    try {
      parsed = parseBodyColumns(format, bytes, { maxEvents: limits.maxEventsPerRequest, decodeMsgpack: this.deps.decodeMsgpack, receivedAt });
    } catch (err) {
      if (err instanceof TooManyEventsError) {
        return { ok: false, problem: { title: "Too many events", status: 413, detail: (err as TooManyEventsError).message, limit: (err as TooManyEventsError).limit } };
      }
      if (err instanceof BodyParseError) {
        return { ok: false, problem: { title: "Malformed body", status: 400, detail: `${format} body: ${(err as Error).message}` } };
      }
      throw err;
    }
    const { columns, invalid } = parsed;
    if (invalid.length > 0) {
      const errors = invalid.flatMap((i) => i.issues).slice(0, limits.maxReportedErrors).map((i) => ({ pointer: i.path, detail: i.message }));
      const first = errors[0]!;
      return {
        ok: false,
        problem: {
          title: "Invalid events",
          status: 422,
          detail: `${invalid.length} of ${parsed.values.length} events are invalid; nothing was accepted. First: ${first.pointer}: ${first.detail}`,
          errors,
        },
      };
    }
    if (this.#inFlight >= limits.maxInFlight) {
      return { ok: false, problem: { title: "Too many requests in flight", status: 429, detail: `more than ${limits.maxInFlight} batches are being written; retry shortly` }, retryAfterMs: 1000 };
    }
    const batchId = idempotencyKey !== undefined ? `idem:${stream}:${idempotencyKey}` : `b:${randomId()}`;
    const count = columns.length;
    const part: RawPart = { batchId, receivedAt, format, count, source, body: bytes };
    this.#inFlight++;
    try {
      const ack = await this.#writer.write(stream, part, columns, idempotencyKey !== undefined);
      this.#unavailable.over("transport available again");
      if (!ack.duplicate) this.deps.onAccepted?.(stream, count, source);
      return { ok: true, accepted: count, batchId, duplicate: ack.duplicate };
    } catch (err) {
      if (err instanceof BackpressureError) {
        return { ok: false, problem: { title: "Pipeline full", status: 503, detail: "the pipeline is behind; nothing was accepted, retry later" }, retryAfterMs: err.retryAfterMs };
      }
      if (err instanceof TransportUnavailableError) {
        this.#unavailable.warn({ err });
        return { ok: false, problem: { title: "Storage unavailable", status: 503, detail: "events cannot be stored durably right now; nothing was accepted, retry later" }, retryAfterMs: err.retryAfterMs };
      }
      throw err;
    } finally {
      this.#inFlight--;
    }
  }
}

export function tooLarge(maxBodyBytes: number): Problem {
  return { title: "Body too large", status: 413, detail: `the body exceeds ${maxBodyBytes} bytes; split the batch`, limit: maxBodyBytes };
}
