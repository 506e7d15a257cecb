/**
 * A consumer group over one stream of the in-process transport: what it has settled (an ack
 * floor plus the settled sequences above it), what is out for delivery, waiting to be
 * redelivered, or waiting to be reported dead — and what the next free member should do.
 * Members (in_process_consumer.ts) call take() and run handlers; this file only keeps books,
 * with every timer on the injected clock.
 *
 * Delivery counts: 1 on first delivery, +1 per redelivery. After a restart a message handed
 * out before continues from its persisted count (see in_process_group_state.ts); messages
 * handed out after the last persisted state start again at 1.
 */
import type { Clock, TimerHandle } from "../core/clock.ts";
import type { GroupSnapshot } from "./in_process_group_state.ts";
import { DEFAULT_GROUP_CONFIG, type GroupConfig } from "./in_process_options.ts";
import { toRanges } from "./in_process_group_state.ts";
import type { StoredMessage, StreamState } from "./in_process_stream.ts";
import { subjectMatches } from "./transport.ts";

/** One hand-out of a message to a member. */
export interface Attempt {
  readonly msg: StoredMessage;
  readonly count: number;
  timer: TimerHandle | undefined;
  settled: boolean;
}

export interface DeadItem {
  readonly msg: StoredMessage;
  readonly count: number;
  readonly reason: string;
}

export type Work = { kind: "deliver"; attempt: Attempt } | { kind: "dead"; dead: DeadItem };

export class Group {
  readonly name: string;
  readonly stream: StreamState;
  filter: string;
  config: GroupConfig = { ...DEFAULT_GROUP_CONFIG };
  /** Every sequence <= floor is settled. */
  floor: number;
  /** Settled sequences above the floor. */
  readonly acked = new Set<number>();
  /** Next sequence to look at for a first delivery. */
  cursor: number;
  members = 0;
  /** Changed since last persisted. */
  dirty = false;
  #closed = false;
  readonly #clock: Clock;
  readonly #onDirty: () => void;
  /** Handed out at least once, not yet settled: what maxAckPending bounds. */
  readonly #counts = new Map<number, number>();
  /** Delivery counts restored from a snapshot, for messages not handed out since. */
  readonly #prior = new Map<number, number>();
  readonly #attempts = new Map<number, Attempt>();
  readonly #waiting = new Map<number, TimerHandle>();
  #due: number[] = [];
  #dead: DeadItem[] = [];
  readonly #dying = new Set<number>();
  readonly #retries = new Set<TimerHandle>();
  #wakers: (() => void)[] = [];
  readonly #matchCache = new Map<string, boolean>();

  constructor(name: string, stream: StreamState, filter: string, floor: number, clock: Clock, onDirty: () => void) {
    this.name = name;
    this.stream = stream;
    this.filter = filter;
    this.floor = floor;
    this.cursor = floor + 1;
    this.#clock = clock;
    this.#onDirty = onDirty;
  }

  static fromSnapshot(s: GroupSnapshot, stream: StreamState, clock: Clock, onDirty: () => void): Group {
    const group = new Group(s.group, stream, s.filter, s.floor, clock, onDirty);
    for (const [from, to] of s.acked) for (let seq = from; seq <= to; seq++) if (seq > s.floor) group.acked.add(seq);
    for (const [seq, count] of s.delivered) if (!group.isDone(seq)) group.#prior.set(seq, count);
    return group;
  }

  snapshot(): GroupSnapshot {
    const delivered = new Map([...this.#prior, ...this.#counts]);
    return { group: this.name, filter: this.filter, floor: this.floor, acked: toRanges(this.acked), delivered: [...delivered] };
  }

  /** The highest sequence the group's state mentions: new sequences must lie above it. */
  highestKnownSeq(): number {
    let high = this.floor;
    for (const seq of this.acked) high = Math.max(high, seq);
    for (const seq of this.#prior.keys()) high = Math.max(high, seq);
    return high;
  }

  matches(subject: string): boolean {
    let hit = this.#matchCache.get(subject);
    if (hit === undefined) {
      if (this.#matchCache.size >= 10_000) this.#matchCache.clear();
      hit = subjectMatches(this.filter, subject);
      this.#matchCache.set(subject, hit);
    }
    return hit;
  }

  isDone(seq: number): boolean {
    return seq <= this.floor || this.acked.has(seq);
  }

  /** A new group takes an interest in every held message it matches. */
  claimHeld(): void {
    for (const msg of this.stream.messages.values()) {
      if (!this.isDone(msg.seq) && this.matches(msg.subject)) this.stream.claim(msg);
    }
  }

  /** Changes the filter (no member attached): held messages are re-claimed accordingly. */
  setFilter(filter: string): void {
    const before = new Set<StoredMessage>();
    for (const msg of this.stream.messages.values()) if (!this.isDone(msg.seq) && this.matches(msg.subject)) before.add(msg);
    this.filter = filter;
    this.#matchCache.clear();
    for (const msg of this.stream.messages.values()) {
      if (this.isDone(msg.seq)) continue;
      const now = this.matches(msg.subject);
      if (now && !before.has(msg)) this.stream.claim(msg);
      else if (!now && before.has(msg)) this.stream.release(msg, false);
    }
    this.#changed();
  }

  /** Next job for a free member: dead letters first, then due redeliveries, then new messages. */
  take(): Work | undefined {
    if (this.#closed) return undefined;
    const dead = this.#dead.shift();
    if (dead) return { kind: "dead", dead };
    while (this.#due.length > 0) {
      const seq = this.#due.shift()!;
      if (!this.#counts.has(seq) || this.#dying.has(seq)) continue;
      const msg = this.stream.messages.get(seq);
      if (msg) return { kind: "deliver", attempt: this.#begin(msg) };
      this.#finish(seq); // dropped by the stream (maxAge)
    }
    if (this.#counts.size >= this.config.maxAckPending) return undefined;
    while (this.cursor <= this.stream.visibleSeq) {
      const seq = this.cursor++;
      const msg = this.stream.messages.get(seq);
      if (!msg || !this.matches(msg.subject)) {
        if (this.#settle(seq)) this.#changed();
      } else if (!this.isDone(seq)) {
        return { kind: "deliver", attempt: this.#begin(msg) };
      }
    }
    return undefined;
  }

  /** Accepted from any attempt, even a superseded one: the work is done either way. */
  ack(attempt: Attempt): void {
    attempt.settled = true;
    const seq = attempt.msg.seq;
    if (this.#closed || this.isDone(seq) || this.#dying.has(seq)) return;
    this.#finish(seq);
  }

  nak(attempt: Attempt, delayMs?: number): void {
    if (!this.#current(attempt)) return;
    attempt.settled = true;
    attempt.timer?.cancel();
    this.#attempts.delete(attempt.msg.seq);
    const backoff = this.config.backoffMs;
    const delay = delayMs ?? backoff[Math.min(attempt.count, backoff.length) - 1] ?? 0;
    this.#retry(attempt, delay);
  }

  term(attempt: Attempt, reason?: string): void {
    attempt.settled = true;
    const seq = attempt.msg.seq;
    if (this.#closed || this.isDone(seq) || this.#dying.has(seq)) return;
    this.#clearTimers(seq);
    this.#attempts.delete(seq);
    this.#die(attempt.msg, this.#counts.get(seq) ?? attempt.count, reason ?? "terminated");
  }

  working(attempt: Attempt): void {
    if (!this.#current(attempt)) return;
    attempt.timer?.cancel();
    attempt.timer = this.#clock.setTimeout(() => this.#expire(attempt), this.config.ackWaitMs);
  }

  /** onDead returned: the dead message counts as settled. */
  deadReported(item: DeadItem): void {
    if (!this.#closed) this.#finish(item.msg.seq);
  }

  /** onDead threw: report it again later rather than lose it. */
  deadFailed(item: DeadItem): void {
    if (this.#closed) return;
    const delay = this.config.backoffMs.at(-1) ?? 1000;
    const timer = this.#clock.setTimeout(() => {
      this.#retries.delete(timer);
      this.#dead.push(item);
      this.kick();
    }, delay);
    this.#retries.add(timer);
  }

  /** Held messages matching the filter that this group has not settled. */
  pending(): number {
    let n = 0;
    for (const msg of this.stream.messages.values()) if (!this.isDone(msg.seq) && this.matches(msg.subject)) n++;
    return n;
  }

  /** Resolves at the next kick(). */
  wait(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  /** Wakes idle members: there may be work. */
  kick(): void {
    const wakers = this.#wakers;
    this.#wakers = [];
    for (const wake of wakers) wake();
  }

  /** Stops all books-keeping timers for good; later settles are ignored. */
  close(): void {
    this.#closed = true;
    for (const a of this.#attempts.values()) a.timer?.cancel();
    for (const t of this.#waiting.values()) t.cancel();
    for (const t of this.#retries) t.cancel();
    this.#attempts.clear();
    this.#waiting.clear();
    this.#retries.clear();
    this.kick();
  }

  #current(attempt: Attempt): boolean {
    return !this.#closed && !attempt.settled && this.#attempts.get(attempt.msg.seq) === attempt;
  }

  #begin(msg: StoredMessage): Attempt {
    const seq = msg.seq;
    const count = (this.#counts.get(seq) ?? this.#prior.get(seq) ?? 0) + 1;
    this.#prior.delete(seq);
    this.#counts.set(seq, count);
    const attempt: Attempt = { msg, count, timer: undefined, settled: false };
    attempt.timer = this.#clock.setTimeout(() => this.#expire(attempt), this.config.ackWaitMs);
    this.#attempts.set(seq, attempt);
    return attempt;
  }

  #expire(attempt: Attempt): void {
    if (!this.#current(attempt)) return;
    attempt.settled = true;
    this.#attempts.delete(attempt.msg.seq);
    this.#retry(attempt, 0);
  }

  #retry(attempt: Attempt, delayMs: number): void {
    const seq = attempt.msg.seq;
    if (attempt.count >= this.config.maxDeliver) {
      this.#die(attempt.msg, attempt.count, `max deliveries (${this.config.maxDeliver}) reached`);
    } else if (delayMs <= 0) {
      this.#makeDue(seq);
    } else {
      this.#waiting.set(seq, this.#clock.setTimeout(() => {
        this.#waiting.delete(seq);
        this.#makeDue(seq);
      }, delayMs));
    }
  }

  #makeDue(seq: number): void {
    // Sorted, so the oldest redelivery goes first.
    let i = this.#due.length;
    while (i > 0 && this.#due[i - 1] > seq) i--;
    this.#due.splice(i, 0, seq);
    this.kick();
  }

  #die(msg: StoredMessage, count: number, reason: string): void {
    this.#dying.add(msg.seq);
    this.#dead.push({ msg, count, reason });
    this.kick();
  }

  /** Settles `seq` for good: timers off, books updated, the stream may drop the message. */
  #finish(seq: number): void {
    this.#clearTimers(seq);
    this.#attempts.delete(seq);
    this.#counts.delete(seq);
    this.#prior.delete(seq);
    this.#dying.delete(seq);
    const msg = this.stream.messages.get(seq);
    if (this.#settle(seq) && msg && this.matches(msg.subject)) this.stream.release(msg);
    this.#changed();
    this.kick();
  }

  #clearTimers(seq: number): void {
    this.#attempts.get(seq)?.timer?.cancel();
    this.#waiting.get(seq)?.cancel();
    this.#waiting.delete(seq);
  }

  /** Marks `seq` settled and advances the floor over what is contiguous; false if it was. */
  #settle(seq: number): boolean {
    if (this.isDone(seq)) return false;
    this.acked.add(seq);
    while (this.acked.delete(this.floor + 1)) this.floor++;
    return true;
  }

  #changed(): void {
    this.dirty = true;
    this.#onDirty();
  }
}
