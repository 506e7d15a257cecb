/**
 * The one interface every transport implements: the in-process transport (embedded mode) and
 * NATS JetStream. Both run the same conformance suite (test/conformance/transport.ts).
 *
 * Subjects are dot-separated tokens; consume filters may use NATS wildcards (`*` one token,
 * `>` the rest). Streams group subjects (see StreamSpec) and number their messages with a
 * sequence starting at 1.
 */

export interface StreamSpec {
  /** e.g. "TW_RAW" */
  name: string;
  /** Subject filters the stream captures, e.g. ["tw.raw.>"] */
  subjects: string[];
  /** Bytes the stream may hold unacknowledged before publish fails with BackpressureError. */
  maxBytes?: number;
  /** Age after which messages may be discarded even if unacknowledged (ms, 0 = never). */
  maxAgeMs?: number;
  /** How long a message id is remembered for de-duplication (ms). Defaults to 120 000. */
  duplicateWindowMs?: number;
}

export interface PublishOptions {
  /** De-duplication id: a second publish with the same id inside the window is dropped. */
  msgId?: string;
  headers?: Record<string, string>;
  /**
   * In-process fast path: the decoded value of `data`. A transport that hands messages to a
   * consumer in the same process may pass it along so the consumer skips decoding (the
   * in-process transport: with each group's first delivery only). Consumers must treat it as
   * read-only and decode `data` when it is absent. Ignored by transports that cross a process
   * boundary.
   */
  value?: unknown;
  /**
   * The caller hands `data` over: it will never change or reuse those bytes, so a transport
   * that keeps them may do so without a copy. Without it a transport copies what it keeps.
   */
  owned?: boolean;
}

export interface PublishAck {
  stream: string;
  seq: number;
  /** True when the message id was seen before and this publish was dropped. */
  duplicate: boolean;
}

export interface Delivery {
  subject: string;
  data: Uint8Array;
  /** Stream sequence of this message. */
  seq: number;
  /** 1 on first delivery, 2 on the first redelivery, … */
  deliveryCount: number;
  headers: Record<string, string>;
  msgId?: string;
  /** See PublishOptions.value. */
  value?: unknown;
  /** Done: never deliver again to this group. */
  ack(): void;
  /** Failed: deliver again after `delayMs` (default: the consumer's backoff). */
  nak(delayMs?: number): void;
  /** Poison: never deliver again; the consumer reports it as dead (see ConsumeOptions.onDead). */
  term(reason?: string): void;
  /** Still working: extends the ack deadline. */
  working(): void;
}

export interface DeadLetter {
  subject: string;
  seq: number;
  data: Uint8Array;
  deliveryCount: number;
  reason: string;
  headers: Record<string, string>;
}

export interface ConsumeOptions {
  /** Unacknowledged deliveries at most; delivery pauses at this bound. Defaults to 1000. */
  maxAckPending?: number;
  /** A delivery not acked within this time is redelivered (ms). Defaults to 30 000. */
  ackWaitMs?: number;
  /** Deliveries at most before the message is given up as dead. Defaults to 5. */
  maxDeliver?: number;
  /** Redelivery delays after nak without a delay, by attempt (ms). */
  backoffMs?: number[];
  /** Called once for a message given up (max deliveries reached, or term()). */
  onDead?(dead: DeadLetter): void | Promise<void>;
  /**
   * A live follower (e.g. a read model that is rebuilt from traffic): a new group starts at
   * messages published from now on, and a group no member has been attached to for
   * `idleRemoveMs` is removed, so it never holds messages back for a reader that went away.
   * Defaults to undefined: a durable group that starts at the oldest message kept.
   */
  live?: { idleRemoveMs: number };
  /**
   * For consumers whose state depends on order (event-time windows): when a member attaches
   * while deliveries of an earlier member are still unacknowledged (it crashed), wait until
   * they are due for redelivery, so they come before newer messages. Defaults to false.
   */
  orderedRecovery?: boolean;
}

/**
 * Handler contract: called once per delivery, one at a time per consumer, in stream order
 * (redeliveries may come later than newer messages). The returned promise is awaited before
 * the next delivery: awaiting a full mailbox is how a consumer applies backpressure. The
 * handler settles each delivery with ack/nak/term, now or later; a throw counts as nak().
 */
export type DeliveryHandler = (delivery: Delivery) => void | Promise<void>;

export interface Consumer {
  /** Stops delivering; unacked messages stay for the next consumer of the group. */
  stop(): Promise<void>;
  /** Messages matching the filter not yet acked by this group. */
  pending(): Promise<number>;
}

export interface Transport {
  /** Creates or updates streams; idempotent. */
  ensureStreams(specs: StreamSpec[]): Promise<void>;
  /**
   * Resolves once the message is durable in its stream. Rejects with BackpressureError when
   * the stream is full and TransportUnavailableError when the transport is down or closed.
   */
  publish(subject: string, data: Uint8Array, options?: PublishOptions): Promise<PublishAck>;
  /**
   * Durable consumption by `group`: each message matching `filter` is delivered to one member
   * of the group and redelivered until acked. Resolves once the consumer is attached.
   */
  consume(filter: string, group: string, handler: DeliveryHandler, options?: ConsumeOptions): Promise<Consumer>;
  /**
   * Optional: creates (or updates) the durable consumer of `group` without consuming, for
   * transports whose retention depends on consumers existing (JetStream interest retention):
   * the composition root creates every pipeline consumer before anything publishes.
   */
  ensureConsumer?(filter: string, group: string, options?: ConsumeOptions): Promise<unknown>;
  /**
   * Optional: fire-and-forget delivery to whoever listens on `subject` right now (core NATS
   * publish): not stored, not acknowledged, no retry. For live convenience feeds only.
   */
  notify?(subject: string, data: Uint8Array, headers?: Record<string, string>): void;
  /** Stops consumers, flushes what is buffered, releases resources. */
  close(): Promise<void>;
}

/**
 * Lets go of a delivery's decoded value, for whoever keeps the delivery only to settle it later
 * (a checkpointing actor's held input, the thread bridge's open deliveries): what was folded
 * need not live as long as the acknowledgement. In place, and the delivery is returned: a copy
 * would lose the methods of a delivery that is a class instance (NATS's), and one that called
 * the original's would keep the value reachable.
 */
export function releaseValue(delivery: Delivery): Delivery {
  if (delivery.value !== undefined) delivery.value = undefined;
  return delivery;
}

/** True when `subject` matches the NATS-style `filter`. */
export function subjectMatches(filter: string, subject: string): boolean {
  if (filter === subject || filter === ">") return true;
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
