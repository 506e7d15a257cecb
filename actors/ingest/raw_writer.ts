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
 *   in flight, a request is written at once, alone (regrouping, below, waits only in the
 *   moments after a large group is answered).
 * - Bounded: a message holds at most `maxPartsPerMessage` requests and `maxMessageBytes` body
 *   bytes (a larger request goes alone); the number of requests waiting is bounded by the
 *   acceptor's in-flight limit (429 beyond it).
 * - A full group does not wait for a slot (`maxWritesWhenFull`): when the oldest waiting group
 *   can no longer grow (the waiting requests' bodies exceed `maxMessageBytes`, or they number
 *   `maxPartsPerMessage`), waiting would only leave the transport idle between two writes for
 *   the time an acknowledgement takes to come back and the next message to go out. (With two
 *   writes in flight, the first may be refused with a 503 and the second accepted: a retried
 *   request then lands after a later one, as over NATS.)
 * - Requests with an Idempotency-Key always go alone: their key is the message id the transport
 *   de-duplicates on.
 * - Regrouping after a convoy (`regroupTurns`): many clients answered at once by one large
 *   group come back at nearly the same moment. The first of their next requests found the
 *   stream idle and went out alone, and the rest waited a whole write for it: groups alternated
 *   between one request and all the others, and the stream's writes sat idle while each group
 *   gathered. Best is two groups of about half the clients each, one gathering while the other
 *   is written. So when a group of `regroupMinParts` or more is answered and fewer than half as
 *   many requests are waiting, a write starting within `regroupWindowMs` of that answer waits
 *   until ceil((answered + waiting) / 2) requests are waiting, or `regroupTurns` turns of the
 *   event loop have passed (no timer), or the waiting ones fill a message; once per answer.
 */
import { MessageType, type EventColumns, type RawBatch, type RawPart } from "../../schemas/mod.ts";
import type { PublishAck } from "../../runtime/transport/transport.ts";
import type { PublishMessageOptions } from "../../runtime/core/publisher.ts";

export interface RawWriterOptions {
  /** Writes of one stream in flight at once before requests wait to be grouped. Defaults to 2. */
  maxWritesPerStream: number;
  /**
   * Writes of one stream in flight at once when the waiting requests fill a whole message
   * (`maxPartsPerMessage` or `maxMessageBytes`). Defaults to 2; below `maxWritesPerStream` it
   * has no effect.
   */
  maxWritesWhenFull: number;
  /** Most requests in one message. Defaults to 1024. */
  maxPartsPerMessage: number;
  /**
   * Most body bytes in one grouped message; a larger request goes alone. Defaults to 512 KiB,
   * so that grouping never makes a message too large for NATS's default max_payload (1 MiB).
   */
  maxMessageBytes: number;
  /**
   * Turns of the event loop a write regrouping after a convoy waits at most for more requests to
   * join it (see above). 0, the default, sends at once; the embedded pipeline uses 2.
   */
  regroupTurns: number;
}

export const defaultRawWriterOptions: RawWriterOptions = Object.freeze({
  maxWritesPerStream: 2,
  maxWritesWhenFull: 2,
  maxPartsPerMessage: 1024,
  maxMessageBytes: 512 * 1024,
  regroupTurns: 0,
});

/** A group this large is a convoy's: the write after it regroups (regroupTurns). */
export const regroupMinParts = 8;
/**
 * How long after a convoy's answer a write still regroups (ms): its clients come back within
 * a few ms under load; a request later than that finds the stream idle and goes at once.
 */
export const regroupWindowMs = 5;
/** Streams remembered as due to regroup; beyond it they are forgotten (they only lose the wait). */
const maxRegroupingStreams = 1024;

/** What regrouping needs from the runtime. */
export interface RegroupScheduler {
  /** Runs a function on a later turn of the event loop, after the I/O already waiting. */
  nextTurn(run: () => void): void;
  /** Milliseconds, for regroupWindowMs. */
  now(): number;
}

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
  /** Body bytes of the waiting requests. */
  waitingBytes: number;
  /** While the next write waits to regroup: the requests it waits for, and the turns left. */
  regrouping?: { target: number; turns: number };
}

export class RawWriter {
  readonly #publish: PublishRaw;
  readonly #o: RawWriterOptions;
  readonly #scheduler: RegroupScheduler | undefined;
  readonly #streams = new Map<string, StreamQueue>();
  /** Streams whose next write regroups (a convoy's group was answered): the requests it waits for, and when. */
  readonly #regroup = new Map<string, { target: number; at: number }>();

  /** `scheduler` is needed for `regroupTurns` > 0. */
  constructor(publish: PublishRaw, options: Partial<RawWriterOptions> = {}, scheduler?: RegroupScheduler) {
    this.#publish = publish;
    this.#o = { ...defaultRawWriterOptions, ...definedOnly(options) };
    if (this.#o.regroupTurns > 0 && scheduler === undefined) throw new Error("regroupTurns needs a scheduler");
    this.#scheduler = scheduler;
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
      if (q === undefined) this.#streams.set(stream, (q = { writing: 0, waiting: [], waitingBytes: 0 }));
      q.waiting.push({ part, columns, resolve, reject });
      q.waitingBytes += part.body.byteLength;
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
    if (q.regrouping !== undefined) {
      if (q.waiting.length < q.regrouping.target && !this.#fillsMessage(q)) return; // the regrouping write takes them
      q.regrouping = undefined;
    }
    while (q.waiting.length > 0 && (q.writing < this.#o.maxWritesPerStream || (q.writing < this.#o.maxWritesWhenFull && this.#fillsMessage(q)))) {
      if (this.#startRegrouping(stream, q)) return;
      const group = this.#takeGroup(q);
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
          if (group.length >= regroupMinParts) this.#regroupAfter(stream, q, group.length);
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

  /**
   * Whether this write waits to regroup (#regroupAfter): within regroupWindowMs of the answer,
   * until its target of requests is waiting or the waiting ones fill a message, for at most
   * `regroupTurns` turns; then it writes what has gathered.
   */
  #startRegrouping(stream: string, q: StreamQueue): boolean {
    const mark = this.#regroup.get(stream);
    if (mark === undefined) return false;
    this.#regroup.delete(stream);
    const scheduler = this.#scheduler!;
    if (scheduler.now() - mark.at > regroupWindowMs || q.waiting.length >= mark.target || this.#fillsMessage(q)) return false;
    const regrouping = { target: mark.target, turns: this.#o.regroupTurns };
    q.regrouping = regrouping;
    const turn = () => {
      if (q.regrouping !== regrouping) return; // enough arrived: already written
      if (--regrouping.turns > 0) return scheduler.nextTurn(turn);
      q.regrouping = undefined;
      this.#pump(stream, q);
    };
    scheduler.nextTurn(turn);
    return true;
  }

  /**
   * A convoy's group of `parts` requests was just answered. If fewer than half as many are
   * waiting, the stream's next write regroups: it waits for half of those clients and the
   * waiting requests together, so that the two halves alternate.
   */
  #regroupAfter(stream: string, q: StreamQueue, parts: number): void {
    if (this.#o.regroupTurns === 0 || q.regrouping !== undefined) return; // one wait at a time
    const waiting = q.waiting.length;
    if (waiting * 2 >= parts) return;
    if (this.#regroup.size >= maxRegroupingStreams) this.#regroup.clear();
    this.#regroup.set(stream, { target: Math.ceil((parts + waiting) / 2), at: this.#scheduler!.now() });
  }

  /** Whether the waiting requests fill a whole message (the group #takeGroup takes is as large as a group gets). */
  #fillsMessage(q: StreamQueue): boolean {
    return q.waiting.length >= this.#o.maxPartsPerMessage || q.waitingBytes > this.#o.maxMessageBytes;
  }

  /** The oldest waiting request, and those after it that fit in the same message. */
  #takeGroup(q: StreamQueue): Waiting[] {
    const waiting = q.waiting;
    let n = 1;
    let bytes = waiting[0]!.part.body.byteLength;
    while (n < waiting.length && n < this.#o.maxPartsPerMessage) {
      const next = waiting[n]!.part.body.byteLength;
      if (bytes + next > this.#o.maxMessageBytes) break;
      bytes += next;
      n++;
    }
    q.waitingBytes -= bytes;
    return waiting.splice(0, n);
  }

  #send(stream: string, parts: RawPart[], columns: EventColumns[]): Promise<PublishAck> {
    let count = 0;
    for (const p of parts) count += p.count;
    const first = parts[0]!;
    const batch: RawBatch = { stream, batchId: first.batchId, receivedAt: first.receivedAt, count, parts };
    // Built whole rather than as { ...batch, columns }: a spread copy given a field its source
    // lacks cost ~0.5 µs in V8 (a loop outside bench/; node_direct_routes.ts's writeAnswer).
    const local: LocalRawBatch = { stream, batchId: batch.batchId, receivedAt: batch.receivedAt, count, parts, columns };
    return this.#publish(`tw.raw.${stream}`, MessageType.RawBatch, batch, { id: batch.batchId, localBody: local });
  }
}

function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
