/**
 * One member of a consumer group on JetStream: a loop over a nats.js `consume()` of the
 * group's durable pull consumer that awaits the handler for each message (that await is the
 * backpressure: the iterator pulls more only as it is drained), plus the bookkeeping the
 * server does not do for us:
 *
 * - Max deliveries. The server's max_deliver is off (-1); a nak at the last allowed delivery,
 *   or a delivery beyond it (ack wait ran out), hands the message to onDead and then acks it,
 *   so the dead letter carries the data and the partition keeps flowing. term() does the same.
 *   If onDead throws, the message is nak'd and reported again when it comes back.
 * - Stall recovery. nats.js can end up with no pull request outstanding while the consumer has
 *   messages (consumer deleted or recreated behind its back, a lost pull after a reconnect);
 *   it then waits for two missed heartbeats. check() — run by the transport's watchdog and on
 *   the iterator's status events — restarts the consume(), recreating the consumer if gone.
 *
 * A stopped consume() cannot take back a pull request the server already holds: messages the
 * server sends to it go nowhere and come back after the ack wait. That is why stop() and a
 * restart lose no message but may delay some by `ackWaitMs`, and why a fresh consume() is
 * never restarted before a full watchdog interval has passed.
 */
import type { ConsumerMessages, JetStreamClient, JetStreamManager, JsMsg } from "@nats-io/jetstream";
import type { Consumer, DeadLetter, DeliveryHandler } from "../transport.ts";
import { headersOf, NatsDelivery, quietly, type Settler } from "./delivery.ts";
import { ApiCode, isApiError } from "./errors.ts";

/** A pull request's lifetime (ms); heartbeats come every half of it, so a lost pull shows within it. */
const EXPIRES_MS = 10_000;
/** At most this many dead letters wait to be reported again after onDead failed. */
const MAX_DEAD_RETRIES = 10_000;

export interface MemberOptions {
  maxDeliver: number;
  /** See ConsumeOptions.orderedRecovery; `ackWaitMs` is the consumer's ack wait. */
  orderedRecovery?: { ackWaitMs: number };
  backoffMs: number[];
  onDead?: (dead: DeadLetter) => void | Promise<void>;
}

/** What a member needs from its transport. */
export interface MemberContext {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  /** The durable consumer's name. */
  name: string;
  /** Messages pulled ahead of the handler. */
  batch: number;
  /** Creates the consumer again (after it was deleted). */
  recreate(): Promise<void>;
  log(message: string, detail?: unknown): void;
  /** Counts a restart of a stalled or broken consume(). */
  onRestart(reason: string): void;
  onDead(): void;
  onStop(member: NatsMember): void;
}

interface DeadRetry {
  reason: string;
  count: number;
}

export class NatsMember implements Consumer, Settler {
  readonly #ctx: MemberContext;
  readonly #handler: DeliveryHandler;
  readonly #opts: MemberOptions;
  #active = true;
  #iter: ConsumerMessages | undefined;
  /** The current consume() is being replaced: messages still buffered in it are nak'd. */
  #restarting = false;
  #busy = false;
  #deliveredSinceCheck = false;
  #redeliveredLastCheck = false;
  #checking = false;
  readonly #dying = new Set<number>();
  readonly #deadRetries = new Map<number, DeadRetry>();
  #deadChain: Promise<void> = Promise.resolve();

  readonly group: string;
  readonly filter: string;

  constructor(ctx: MemberContext, handler: DeliveryHandler, options: MemberOptions, group: string, filter: string) {
    this.group = group;
    this.filter = filter;
    this.#ctx = ctx;
    this.#handler = handler;
    this.#opts = options;
    // The loop starts on the next turn, after consume() has resolved to this member: a handler
    // may use the Consumer it was registered with.
    setTimeout(() => void this.#run(), 0);
  }

  get active(): boolean {
    return this.#active;
  }

  /** Stops pulling; messages buffered but not handled are nak'd so other members get them now. */
  async stop(): Promise<void> {
    if (!this.#active) return;
    this.#active = false;
    this.#iter?.stop();
    this.#ctx.onStop(this);
    await this.#deadChain;
  }

  async pending(): Promise<number> {
    const info = await this.#ctx.jsm.consumers.info(this.#ctx.stream, this.#ctx.name);
    return info.num_pending + info.num_ack_pending;
  }

  /**
   * The watchdog's look at this member. Restarts the consume() when the consumer is gone, or
   * when it has messages for us while nothing reached the idle handler since the last check
   * (`force`: a status event said something is wrong, skip the "no delivery" condition).
   */
  async check(force = false): Promise<void> {
    if (!this.#active || this.#checking) return;
    const delivered = this.#deliveredSinceCheck;
    this.#deliveredSinceCheck = false;
    if (this.#busy || (delivered && !force)) {
      this.#redeliveredLastCheck = false;
      return;
    }
    this.#checking = true;
    try {
      const info = await this.#ctx.jsm.consumers.info(this.#ctx.stream, this.#ctx.name);
      const room = info.num_ack_pending < (info.config.max_ack_pending ?? Infinity);
      // Redelivered messages may be waiting out a nak delay or an ack wait: only a second
      // check in a row that sees them undelivered counts them as stuck.
      const stuckRedeliveries = info.num_redelivered > 0 && this.#redeliveredLastCheck;
      this.#redeliveredLastCheck = info.num_redelivered > 0;
      if (room && (info.num_pending > 0 || stuckRedeliveries) && !this.#busy && !this.#deliveredSinceCheck) {
        this.#restart(`stalled: ${info.num_pending} pending, ${info.num_redelivered} redelivered, handler idle`);
      }
    } catch (error) {
      if (isApiError(error, ApiCode.ConsumerNotFound)) {
        await this.#recreate();
        this.#restart("consumer was deleted; recreated");
      } else if (this.#active) {
        this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: check failed`, error);
      }
    } finally {
      this.#checking = false;
    }
  }

  // Settler: called by NatsDelivery.

  nakMessage(msg: JsMsg, seq: number, count: number, delayMs: number | undefined): void {
    if (count >= this.#opts.maxDeliver) {
      this.#die(msg, seq, count, `max deliveries (${this.#opts.maxDeliver}) reached`);
      return;
    }
    const backoff = this.#opts.backoffMs;
    const delay = delayMs ?? backoff[Math.min(count, backoff.length) - 1] ?? 0;
    quietly(() => msg.nak(delay));
  }

  terminate(msg: JsMsg, seq: number, count: number, reason: string): void {
    this.#die(msg, seq, count, reason);
  }

  /**
   * Ordered recovery: deliveries a crashed member left unacknowledged come back only when
   * their ack wait runs out, while new messages flow at once; JetStream serves due
   * redeliveries before new messages, so the ack wait is waited out before pulling. That alone
   * does not restore the order: the server's redelivery queue is in the order messages were
   * handed back or ran out (a nak'd message it first offers to the dead member's pull request
   * goes back at the end of the queue), not in stream order. So the earlier deliveries are
   * then fetched until all of them are here (new messages that come with them are held too),
   * and handed to the handler in stream-sequence order before consume() starts.
   */
  async #recoverInOrder(): Promise<void> {
    const recovery = this.#opts.orderedRecovery;
    if (!recovery) return;
    let info;
    try {
      info = await this.#ctx.jsm.consumers.info(this.#ctx.stream, this.#ctx.name);
    } catch {
      return; // the consume loop reports and recovers from a missing consumer
    }
    const want = info.num_ack_pending;
    if (want === 0) return;
    const through = info.delivered.stream_seq;
    this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: ${want} deliveries of an earlier member unacknowledged; waiting ${recovery.ackWaitMs} ms so they come back first`);
    const until = Date.now() + recovery.ackWaitMs + 500;
    // Real time: this waits for the server's ack-wait timer.
    while (this.#active && Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(250, until - Date.now())));
    const held = new Map<number, JsMsg>();
    let earlier = 0;
    const deadline = Date.now() + 2 * recovery.ackWaitMs + 1000;
    try {
      const consumer = await this.#ctx.js.consumers.get(this.#ctx.stream, this.#ctx.name);
      while (this.#active && earlier < want && Date.now() < deadline) {
        const expires = Math.max(1000, Math.floor(recovery.ackWaitMs / 3));
        const batch = await consumer.fetch({ max_messages: Math.max(1, want - earlier), expires });
        for await (const msg of batch) {
          const seq = msg.info.streamSequence;
          if (!held.has(seq) && seq <= through) earlier++;
          held.set(seq, msg); // a second delivery of a held message replaces it
        }
        for (const msg of held.values()) quietly(() => msg.working());
      }
    } catch (error) {
      if (this.#active) this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: ordered recovery fetch failed`, error);
    }
    if (earlier < want) this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: ordered recovery got ${earlier} of ${want} earlier deliveries; going on`);
    for (const msg of [...held.values()].sort((a, b) => a.info.streamSequence - b.info.streamSequence)) {
      if (!this.#active) {
        quietly(() => msg.nak());
        continue;
      }
      const pending = this.#deliver(msg);
      if (pending) await this.#whileBusy(pending);
    }
  }

  /** Waits for an async handler, marked busy meanwhile (the watchdog does not count that as a stall). */
  async #whileBusy(pending: Promise<unknown>): Promise<void> {
    this.#busy = true;
    try {
      await pending;
    } finally {
      this.#busy = false;
    }
  }

  async #run(): Promise<void> {
    await this.#recoverInOrder();
    let failures = 0;
    while (this.#active) {
      let iter: ConsumerMessages;
      try {
        const consumer = await this.#ctx.js.consumers.get(this.#ctx.stream, this.#ctx.name);
        iter = await consumer.consume({ max_messages: this.#ctx.batch, expires: EXPIRES_MS });
      } catch (error) {
        if (!this.#active) break;
        if (isApiError(error, ApiCode.ConsumerNotFound)) await this.#recreate();
        else this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: cannot start consuming`, error);
        // Real time, not the clock: this paces I/O retries, it is not logic a test steps through.
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** failures++, 5000)));
        continue;
      }
      failures = 0;
      this.#iter = iter;
      this.#restarting = false;
      // A fresh consume() gets a whole watchdog interval before it can count as stalled: a
      // restart right away would leave its first pull request (already sent, inbox gone) to
      // take messages into the void until their ack wait runs out.
      this.#deliveredSinceCheck = true;
      if (!this.#active) iter.stop();
      void this.#watch(iter);
      try {
        for await (const msg of iter) {
          if (!this.#active || this.#restarting) {
            quietly(() => msg.nak());
            continue;
          }
          this.#deliveredSinceCheck = true;
          // A synchronous handler costs no promise: only an async one is awaited.
          const pending = this.#deliver(msg);
          if (pending) await this.#whileBusy(pending);
        }
      } catch (error) {
        if (this.#active && !this.#restarting) this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: consume ended`, error);
      }
      this.#iter = undefined;
    }
  }

  #deliver(msg: JsMsg): Promise<void> | undefined {
    const info = msg.info;
    const seq = info.streamSequence;
    const count = info.deliveryCount;
    if (this.#dying.has(seq)) return undefined; // its dead-letter report is in flight and will ack it
    const retry = this.#deadRetries.get(seq);
    if (retry) {
      this.#deadRetries.delete(seq);
      this.#die(msg, seq, retry.count, retry.reason);
      return undefined;
    }
    if (count > this.#opts.maxDeliver) {
      // The previous delivery ran out of ack wait on the last allowed attempt.
      this.#die(msg, seq, count - 1, `max deliveries (${this.#opts.maxDeliver}) reached`);
      return undefined;
    }
    const delivery = new NatsDelivery(msg, seq, count, this);
    let result: void | Promise<void>;
    try {
      result = this.#handler(delivery);
    } catch {
      delivery.nak();
      return undefined;
    }
    return result ? result.then(undefined, () => delivery.nak()) : undefined;
  }

  /** Reports the message to onDead (one report at a time), then acks it for this group. */
  #die(msg: JsMsg, seq: number, count: number, reason: string): void {
    this.#dying.add(seq);
    quietly(() => msg.working());
    this.#deadChain = this.#deadChain.then(async () => {
      try {
        await this.#opts.onDead?.({ subject: msg.subject, seq, data: msg.data, deliveryCount: count, reason, headers: headersOf(msg.headers) });
        quietly(() => msg.ack());
        this.#ctx.onDead();
      } catch (error) {
        this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: onDead failed for seq ${seq}; will report it again`, error);
        if (this.#deadRetries.size >= MAX_DEAD_RETRIES) this.#deadRetries.delete(this.#deadRetries.keys().next().value!);
        this.#deadRetries.set(seq, { reason, count });
        quietly(() => msg.nak(this.#opts.backoffMs.at(-1) ?? 1000));
      } finally {
        this.#dying.delete(seq);
      }
    });
  }

  /** Reacts to what the iterator reports: a deleted consumer or missed heartbeats mean a check now. */
  async #watch(iter: ConsumerMessages): Promise<void> {
    try {
      for await (const s of iter.status()) {
        switch (s.type) {
          case "consumer_deleted":
          case "consumer_not_found":
          case "heartbeats_missed":
            this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: ${s.type}`);
            void this.check(true);
            break;
          case "stream_not_found":
            this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: stream not found`);
            break;
          case "exceeded_limits":
            this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: ${s.description}`);
            break;
        }
      }
    } catch {
      // the iterator ended
    }
  }

  #restart(reason: string): void {
    if (!this.#active || this.#restarting) return;
    this.#ctx.onRestart(reason);
    this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: restarting consume (${reason})`);
    this.#restarting = true;
    this.#iter?.stop();
  }

  async #recreate(): Promise<void> {
    try {
      await this.#ctx.recreate();
    } catch (error) {
      this.#ctx.log(`consumer ${this.#ctx.stream}/${this.#ctx.name}: cannot recreate`, error);
    }
  }
}
