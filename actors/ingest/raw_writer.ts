/**
 * Group commit at the edge: requests for one stream that arrive while earlier writes of that
 * stream are in flight wait, and go out together as one `tw.raw.<stream>` message of several
 * parts as soon as a write finishes. Every stage after ingest then pays its per-message costs
 * (envelope, log record, delivery, acknowledgement, checkpoint share) once per group rather than
 * once per request — what makes one-event requests affordable.
 *
 * - Each request's promise resolves only when the message holding it is durable (or rejects
 *   with that message's error: every request in it gets the same answer).
 * - No added latency when idle: while fewer than `maxWritesPerStream` writes of the stream are
 *   in flight, a request is written at once, alone.
 * - Bounded: a message holds at most `maxPartsPerMessage` requests and `maxMessageBytes` body
 *   bytes (a larger request goes alone); the number of requests waiting is bounded by the
 *   acceptor's in-flight limit (429 beyond it).
 * - Requests with an Idempotency-Key always go alone: their key is the message id the transport
 *   de-duplicates on.
 */
import { MessageType, type EventColumns, type RawBatch, type RawPart } from "../../schemas/mod.ts";
import type { PublishAck } from "../../runtime/transport/transport.ts";
import type { PublishMessageOptions } from "../../runtime/core/publisher.ts";

export interface RawWriterOptions {
  /** Writes of one stream in flight at once before requests wait to be grouped. Defaults to 2. */
  maxWritesPerStream: number;
  /** Most requests in one message. Defaults to 1024. */
  maxPartsPerMessage: number;
  /**
   * Most body bytes in one grouped message; a larger request goes alone. Defaults to 512 KiB,
   * so that grouping never makes a message too large for NATS's default max_payload (1 MiB).
   */
  maxMessageBytes: number;
}

export const defaultRawWriterOptions: RawWriterOptions = Object.freeze({
  maxWritesPerStream: 2,
  maxPartsPerMessage: 1024,
  maxMessageBytes: 512 * 1024,
});

export type PublishRaw = (subject: string, type: string, body: unknown, options?: PublishMessageOptions) => Promise<PublishAck>;

/** What same-process consumers (decode, persist) receive: the raw batch plus each part's validated events. */
export interface LocalRawBatch extends RawBatch {
  /** `columns[i]`: the events of `parts[i]`, already parsed and validated by ingest. */
  columns: EventColumns[];
}

interface Waiting {
  part: RawPart;
  columns: EventColumns;
  resolve(ack: PublishAck): void;
  reject(error: unknown): void;
}

interface StreamQueue {
  writing: number;
  waiting: Waiting[];
}

export class RawWriter {
  readonly #publish: PublishRaw;
  readonly #o: RawWriterOptions;
  readonly #streams = new Map<string, StreamQueue>();

  constructor(publish: PublishRaw, options: Partial<RawWriterOptions> = {}) {
    this.#publish = publish;
    this.#o = { ...defaultRawWriterOptions, ...definedOnly(options) };
  }

  /**
   * Writes one accepted request (`part`, with its validated events); resolves once it is
   * durable. With `alone`, the part is written at once as its own message, its batchId being
   * the message id (Idempotency-Key requests).
   */
  write(stream: string, part: RawPart, columns: EventColumns, alone = false): Promise<PublishAck> {
    if (alone) return this.#send(stream, [part], [columns]);
    return new Promise((resolve, reject) => {
      let q = this.#streams.get(stream);
      if (q === undefined) this.#streams.set(stream, (q = { writing: 0, waiting: [] }));
      q.waiting.push({ part, columns, resolve, reject });
      this.#pump(stream, q);
    });
  }

  /** Requests waiting for a write slot, over all streams (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const q of this.#streams.values()) n += q.waiting.length;
    return n;
  }

  #pump(stream: string, q: StreamQueue): void {
    while (q.writing < this.#o.maxWritesPerStream && q.waiting.length > 0) {
      const group = this.#takeGroup(q.waiting);
      q.writing++;
      let sent: Promise<PublishAck>;
      try {
        sent = this.#send(stream, group.map((w) => w.part), group.map((w) => w.columns));
      } catch (error) {
        sent = Promise.reject(error); // e.g. an encoding failure: answered like a failed write
      }
      sent.then(
        (ack) => {
          for (const w of group) w.resolve(ack);
        },
        (error) => {
          for (const w of group) w.reject(error);
        },
      ).finally(() => {
        q.writing--;
        if (q.waiting.length > 0) this.#pump(stream, q);
        else if (q.writing === 0 && this.#streams.get(stream) === q) this.#streams.delete(stream);
      });
    }
  }

  /** The oldest waiting request, and those after it that fit in the same message. */
  #takeGroup(waiting: Waiting[]): Waiting[] {
    let n = 1;
    let bytes = waiting[0]!.part.body.byteLength;
    while (n < waiting.length && n < this.#o.maxPartsPerMessage) {
      const next = waiting[n]!.part.body.byteLength;
      if (bytes + next > this.#o.maxMessageBytes) break;
      bytes += next;
      n++;
    }
    return waiting.splice(0, n);
  }

  #send(stream: string, parts: RawPart[], columns: EventColumns[]): Promise<PublishAck> {
    let count = 0;
    for (const p of parts) count += p.count;
    const first = parts[0]!;
    const batch: RawBatch = { stream, batchId: first.batchId, receivedAt: first.receivedAt, count, parts };
    const local: LocalRawBatch = { ...batch, columns };
    return this.#publish(`tw.raw.${stream}`, MessageType.RawBatch, batch, { id: batch.batchId, localBody: local });
  }
}

function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
