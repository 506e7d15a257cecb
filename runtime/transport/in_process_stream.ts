/**
 * One stream of the in-process transport, in memory: the messages it still holds, their
 * de-duplication ids, the byte bound, and retention.
 *
 * Retention: a message is *claimed* while some known group (one that has ever consumed the
 * stream) matches its subject and has not settled it; it is dropped from memory once every
 * such group has. Claimed messages count against `maxBytes`, and a publish that would exceed
 * it fails with BackpressureError — the embedded mode's backpressure signal. A message no
 * group matches (e.g. a stream nobody consumes yet) is *unclaimed*: it is kept for groups that
 * attach later, and the oldest unclaimed messages are dropped to make room when the stream is
 * full. `maxAgeMs` drops any message older than that (checked on publish and periodically).
 *
 * Sizes count payload bytes (`data`), including publishes still on their way to disk.
 */
import type { Clock } from "../core/clock.ts";
import { BackpressureError } from "../core/errors.ts";
import type { Group } from "./in_process_group.ts";
import { encodeRecord, type LogRecord } from "./log_record.ts";
import type { SegmentLog } from "./log_segments.ts";
import type { PublishAck, PublishOptions, StreamSpec } from "./transport.ts";

export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly headers: Record<string, string>;
  readonly msgId?: string;
  /** Decoded value from the publisher (not persisted: undefined after recovery). */
  value?: unknown;
  /** Groups yet to receive this message's first delivery (its value is let go at 0). */
  firstDeliveries: number;
  /** Publish time (epoch ms, on the transport's clock). */
  readonly ts: number;
  /** Known groups that match the subject and have not settled this message. */
  interest: number;
}

/** Bytes a stream holds before publishes fail. Defaults to 256 MiB. */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** How long message ids are remembered. Defaults to 2 minutes (as JetStream). */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

const NO_HEADERS: Record<string, string> = Object.freeze({});
const DURABLE = Promise.resolve();

interface Seen {
  seq: number;
  ts: number;
  durable: Promise<void>;
}

export class StreamState {
  spec: Required<StreamSpec>;
  /** Held messages by sequence; insertion order is sequence order. */
  readonly messages = new Map<number, StoredMessage>();
  readonly groups = new Map<string, Group>();
  /** Payload bytes held or being written. */
  bytes = 0;
  /** Last sequence assigned. */
  lastSeq = 0;
  /** Last sequence made visible to consumers (durable, in sequence order). */
  visibleSeq = 0;
  log: SegmentLog | undefined;
  readonly #unclaimed = new Set<number>();
  readonly #seen = new Map<string, Seen>();
  readonly #clock: Clock;
  /** Tells the transport that something changed that its maintenance should look at. */
  readonly #onChange: () => void;
  #kickQueued = false;

  constructor(spec: StreamSpec, clock: Clock, onChange: () => void) {
    this.spec = resolveSpec(spec);
    this.#clock = clock;
    this.#onChange = onChange;
  }

  async publish(subject: string, data: Uint8Array, options: PublishOptions): Promise<PublishAck> {
    const name = this.spec.name;
    const now = this.#clock.now();
    const msgId = options.msgId || undefined;
    if (msgId !== undefined) {
      this.pruneIds(now);
      const seen = this.#seen.get(msgId);
      if (seen) {
        await seen.durable;
        return { stream: name, seq: seen.seq, duplicate: true };
      }
    }
    this.dropAged(now);
    this.#reserve(data.length);
    const seq = ++this.lastSeq;
    const headers = options.headers ? { ...options.headers } : NO_HEADERS;
    // Copied (once: into the log record when durable) unless the publisher hands the bytes
    // over: the log writes them later, and consumers must not see a publisher's later changes.
    const record = this.log ? encodeRecord({ seq, ts: now, subject, msgId, headers, data }, options.owned === true) : undefined;
    const msg: StoredMessage = {
      seq, subject, data: record ? record.data : options.owned ? data : copyOf(data), headers, msgId, value: options.value, ts: now, interest: 0, firstDeliveries: 0,
    };
    const durable = this.log && record
      ? this.log.append(record, seq, now, () => this.#insert(msg))
      : (this.#insert(msg), DURABLE);
    const seen: Seen | undefined = msgId === undefined ? undefined : { seq, ts: now, durable };
    if (seen) this.#seen.set(msgId!, seen);
    try {
      await durable;
      // Ids are remembered for the whole duplicate window (up to ~600 k of them at a few
      // thousand messages a second): each keeps the shared settled promise, not its own.
      if (seen) seen.durable = DURABLE;
    } catch (error) {
      this.bytes -= data.length;
      if (msgId !== undefined && this.#seen.get(msgId)?.seq === seq) this.#seen.delete(msgId);
      throw error;
    }
    return { stream: name, seq, duplicate: false };
  }

  /** Rebuilds memory from a log record during recovery (call in sequence order). */
  restore(record: LogRecord, now: number): void {
    const { seq, ts, subject } = record;
    if (record.msgId !== undefined && ts > now - this.spec.duplicateWindowMs) {
      this.#seen.set(record.msgId, { seq, ts, durable: DURABLE });
    }
    this.lastSeq = this.visibleSeq = Math.max(this.lastSeq, seq);
    if (this.spec.maxAgeMs > 0 && ts <= now - this.spec.maxAgeMs) return;
    let matched = 0;
    let interest = 0;
    for (const group of this.groups.values()) {
      if (!group.matches(subject)) continue;
      matched++;
      if (!group.isDone(seq)) interest++;
    }
    if (matched > 0 && interest === 0) return; // settled by every group that wants it
    const msg: StoredMessage = {
      seq, subject, data: copyOf(record.data), headers: record.headers ?? NO_HEADERS,
      msgId: record.msgId, ts, interest, firstDeliveries: 0,
    };
    this.messages.set(seq, msg);
    this.bytes += msg.data.length;
    if (interest === 0) {
      this.#unclaimed.add(seq);
      this.#dropUnclaimed(0);
    }
  }

  /** A group (newly attached or with a new filter) now wants this held message. */
  claim(msg: StoredMessage): void {
    if (msg.interest++ === 0) this.#unclaimed.delete(msg.seq);
    if (msg.value !== undefined) msg.firstDeliveries++;
  }

  /**
   * A group no longer wants this message: it settled it (`settled`, the message goes once
   * nobody wants it) or its filter changed (the message becomes unclaimed).
   */
  release(msg: StoredMessage, settled = true): void {
    if (--msg.interest > 0 || !this.messages.has(msg.seq)) return;
    if (settled) this.#remove(msg.seq);
    else this.#unclaimed.add(msg.seq);
  }

  /** The lowest sequence still held (visibleSeq + 1 when none): older log segments can go. */
  lowestHeldSeq(): number {
    for (const seq of this.messages.keys()) return seq;
    return this.visibleSeq + 1;
  }

  /** Drops messages older than maxAgeMs. */
  dropAged(now: number): void {
    if (this.spec.maxAgeMs <= 0) return;
    let dropped = false;
    for (const msg of this.messages.values()) {
      if (msg.ts > now - this.spec.maxAgeMs) break;
      this.#remove(msg.seq);
      dropped = true;
    }
    if (dropped) this.#onChange();
  }

  /** Forgets message ids older than the duplicate window. */
  pruneIds(now: number): void {
    for (const [id, seen] of this.#seen) {
      if (seen.ts > now - this.spec.duplicateWindowMs) break;
      this.#seen.delete(id);
    }
  }

  #reserve(size: number): void {
    const max = this.spec.maxBytes;
    if (this.bytes + size > max) this.#dropUnclaimed(size);
    if (this.bytes > 0 && this.bytes + size > max) {
      throw new BackpressureError(`stream ${this.spec.name} is full: ${this.bytes} bytes unacknowledged (maxBytes ${max})`, 1000);
    }
    this.bytes += size;
  }

  #dropUnclaimed(room: number): void {
    let dropped = false;
    for (const seq of this.#unclaimed) {
      if (this.bytes + room <= this.spec.maxBytes) break;
      this.#remove(seq);
      dropped = true;
    }
    if (dropped) this.#onChange();
  }

  #insert(msg: StoredMessage): void {
    for (const group of this.groups.values()) if (group.matches(msg.subject)) msg.interest++;
    msg.firstDeliveries = msg.interest;
    this.messages.set(msg.seq, msg);
    this.visibleSeq = msg.seq;
    if (msg.interest === 0) this.#unclaimed.add(msg.seq);
    if (!this.#kickQueued) {
      // One wake-up per flushed batch rather than per message.
      this.#kickQueued = true;
      queueMicrotask(() => {
        this.#kickQueued = false;
        for (const group of this.groups.values()) group.kick();
      });
    }
  }

  #remove(seq: number): void {
    const msg = this.messages.get(seq);
    if (!msg) return;
    this.messages.delete(seq);
    this.#unclaimed.delete(seq);
    this.bytes -= msg.data.length;
  }
}

/** A copy of `bytes` (not `bytes.slice()`: on a Node Buffer, such as a file read back, that is a view). */
function copyOf(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

export function resolveSpec(spec: StreamSpec): Required<StreamSpec> {
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    maxBytes: spec.maxBytes ?? DEFAULT_MAX_BYTES,
    maxAgeMs: spec.maxAgeMs ?? 0,
    duplicateWindowMs: spec.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS,
  };
}
