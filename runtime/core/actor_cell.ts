/**
 * Runs one actor instance: attaches its inputs to the transport, feeds a bounded mailbox,
 * calls the behaviour one input at a time, acknowledges input by the actor's ack mode,
 * checkpoints stateful actors, and dead-letters what cannot be processed.
 *
 * A cell runs once: after a crash or a stop it is done, and the supervisor starts a new one.
 * `exited` resolves with undefined after an orderly stop and with the error after a crash.
 */
import type { ActorBehaviour, ActorContext, ActorInput, Checkpoint, InputSpec } from "./actor.ts";
import type { EnvelopePublisher } from "./publisher.ts";
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics.ts";
import { Mailbox } from "./mailbox.ts";
import { isEnvelope, type MessageCodec, type Envelope } from "../codec/codec.ts";
import type { ConsumeOptions, Consumer, Delivery, Transport } from "../transport/transport.ts";
import { releaseValue } from "../transport/transport.ts";
import type { CheckpointStore } from "../store/checkpoint_store.ts";

export interface CellDeps {
  transport: Transport;
  codec: MessageCodec;
  publisher: EnvelopePublisher;
  clock: Clock;
  log: Logger;
  metrics: MetricsRegistry;
  checkpoints: CheckpointStore;
  /** Dead letters go to `${subjectPrefix}.${kind}` as envelopes of `type`. */
  deadLetter: { subjectPrefix: string; type: string };
  mailboxCapacity: number;
  /** Inputs whose output is still being made durable, per actor (ack mode "auto"). */
  maxInFlight: number;
  maxDeliver: number;
  maxAckPending: number;
  ackWaitMs: number;
  /** Payload bytes of held input (ack mode "checkpoint") at which the actor checkpoints. */
  maxHeldBytes: number;
}

type MailItem =
  | { kind: "delivery"; spec: InputSpec; delivery: Delivery }
  | { kind: "timer"; name: string }
  | { kind: "checkpoint" };

/** The consumer settings of an input (also used to create consumers ahead of time). */
export function consumeOptions(spec: InputSpec, deps: Pick<CellDeps, "maxAckPending" | "ackWaitMs" | "maxDeliver">): ConsumeOptions {
  return {
    maxAckPending: deps.maxAckPending,
    ackWaitMs: deps.ackWaitMs,
    // A backstop for messages that never finish (ack timeouts, process crashes); poison
    // messages that throw are counted exactly by `failures` and dead-lettered sooner.
    maxDeliver: (spec.maxDeliver ?? deps.maxDeliver) * 4,
    ...(spec.live ? { live: { idleRemoveMs: 5 * 60_000 } } : {}),
    // Checkpointed state folds input in order: after a crash, old input must come back first.
    ...(spec.ack === "checkpoint" ? { orderedRecovery: true } : {}),
  };
}

export class ActorCell<S> {
  readonly mailbox: Mailbox<MailItem>;
  readonly exited: Promise<Error | undefined>;
  #resolveExit!: (reason: Error | undefined) => void;
  #state!: S;
  #consumers: Consumer[] = [];
  #timers = new Map<string, TimerHandle>();
  #held: { filter: string; delivery: Delivery }[] = [];
  /** Payload bytes of #held: what the actor keeps its streams from freeing until it checkpoints. */
  #heldBytes = 0;
  /** The delivery being handled, so a crash can hand it back. */
  #current: Delivery | undefined;
  /** Publishes made by the input being handled (collected by ctx.publish). */
  #effects: Promise<unknown>[] = [];
  /** Inputs handled whose publishes are not yet durable (ack mode "auto"): acked when they are. */
  #inFlight = new Set<{ delivery: Delivery | undefined; done: Promise<void> }>();
  /** Publishes a checkpoint must wait for (ack mode "checkpoint", timers). */
  #unsettledEffects: Promise<unknown>[] = [];
  #crashed = false;
  #keepAliveTimer: TimerHandle | undefined;
  #seqs: Record<string, number> = {};
  /** Restored checkpoint's `folded` sets: redeliveries of these are skipped. */
  #skip = new Map<string, Set<number>>();
  /** #previouslyFolded as sets, for lookups. */
  #lastFolded = new Map<string, Set<number>>();
  /** Seqs of #held by input filter, to recognise a redelivery of input being held. */
  #heldSeqs = new Map<string, Set<number>>();
  /** Seqs acknowledged by the previous checkpoint (carried into the next one, see Checkpoint). */
  #previouslyFolded: Record<string, number[]> = {};
  #restored: Checkpoint | undefined;
  #checkpointTimer: TimerHandle | undefined;
  #done = false;
  #stopping = false;
  readonly ctx: ActorContext;
  readonly #log: Logger;

  constructor(
    readonly behaviour: ActorBehaviour<S>,
    readonly name: string,
    readonly deps: CellDeps,
    /** Failures per input message, kept across restarts of this actor (bounded). */
    readonly failures: Map<string, number> = new Map(),
  ) {
    this.mailbox = new Mailbox(deps.mailboxCapacity);
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    this.#log = deps.log.child({ actor: name });
    const cell = this;
    this.ctx = {
      name,
      clock: deps.clock,
      log: this.#log,
      metrics: deps.metrics,
      publish(subject, type, body, options) {
        const done = deps.publisher.publish(subject, type, body, options);
        cell.#effects.push(done);
        return done;
      },
      notify(subject, data, headers) {
        deps.transport.notify?.(subject, data, headers);
      },
      setTimer(timerName, delayMs) {
        cell.#timers.get(timerName)?.cancel();
        cell.#timers.set(
          timerName,
          deps.clock.setTimeout(() => {
            cell.#timers.delete(timerName);
            cell.mailbox.putSystem({ kind: "timer", name: timerName });
          }, delayMs),
        );
      },
      cancelTimer(timerName) {
        cell.#timers.get(timerName)?.cancel();
        cell.#timers.delete(timerName);
      },
      restored: () => cell.#restored,
    };
  }

  /** Restores the checkpoint, runs init, attaches the inputs and starts the loop. A throw here is a crash. */
  /**
   * Slow work keeps its input: every third of the ack wait, deliveries still being handled,
   * in flight or held for a checkpoint are reported as in progress, so the transport does not
   * redeliver them meanwhile.
   */
  #keepAlive(): void {
    this.#keepAliveTimer = this.deps.clock.setTimeout(() => {
      if (this.#done || this.#crashed) return;
      this.#current?.working();
      for (const e of this.#inFlight) e.delivery?.working();
      for (const h of this.#held) h.delivery.working();
      this.#keepAlive();
    }, Math.max(1_000, Math.floor(this.deps.ackWaitMs / 3)));
  }

  async start(): Promise<void> {
    this.#keepAlive();
    const saved = await this.deps.checkpoints.load(this.name);
    if (saved) {
      this.#restored = this.deps.codec.decodeValue(saved) as Checkpoint;
      this.#seqs = { ...this.#restored.seqs };
      for (const [filter, list] of Object.entries(this.#restored.folded ?? {})) this.#skip.set(filter, new Set(list));
      this.#previouslyFolded = { ...(this.#restored.folded ?? {}) };
    }
    this.#state = await this.behaviour.init(this.ctx);
    this.#log.debug("actor initialised", { restored: saved !== undefined });
    void this.#loop();
    try {
      for (const spec of this.behaviour.inputs) {
        const consumer = await this.deps.transport.consume(
          spec.filter,
          spec.group,
          async (delivery) => {
            if (!(await this.mailbox.put({ kind: "delivery", spec, delivery }))) return;
          },
          {
            ...consumeOptions(spec, this.deps),
            onDead: (dead) =>
              this.#deadLetter(`${dead.reason} (after ${dead.deliveryCount} deliveries)`, dead.subject, dead.seq, dead.data),
          },
        );
        this.#consumers.push(consumer);
        this.#log.debug("input attached", { filter: spec.filter, group: spec.group });
      }
    } catch (err) {
      this.#crash(err);
      throw err;
    }
  }

  /** Messages of this actor's inputs not yet processed (delivered-and-held ones excluded). */
  async backlog(): Promise<number> {
    let pending = 0;
    for (const c of this.#consumers) pending += await c.pending();
    return Math.max(0, pending - this.#held.length);
  }

  /** Orderly stop: no new input, process what is queued, behaviour.stop, final checkpoint. */
  async stop(): Promise<void> {
    if (this.#done || this.#stopping) return void (await this.exited);
    this.#stopping = true;
    await this.#stopConsumers();
    this.mailbox.close();
    await this.exited;
  }

  async #loop(): Promise<void> {
    for (;;) {
      const item = await this.mailbox.take();
      if (item === undefined) break;
      try {
        await this.#handle(item);
      } catch (err) {
        for (const e of this.#effects.splice(0)) e.catch(() => {});
        this.#crash(err);
        return;
      }
      if (this.#crashed) return;
    }
    if (this.#crashed) return;
    // The mailbox was closed by stop() and is drained.
    try {
      await this.#settleInFlight();
      await this.behaviour.stop?.(this.#state, this.ctx);
      await this.#settleEffects();
      if (this.behaviour.checkpoint || this.#held.length > 0) await this.#checkpoint();
    } catch (err) {
      this.#crash(err);
      return;
    }
    this.#finish(undefined);
  }

  async #handle(item: MailItem): Promise<void> {
    if (item.kind === "timer") {
      this.#state = await this.behaviour.receive(this.#state, { kind: "timer", name: item.name }, this.ctx);
      this.#track(undefined, this.#effects.splice(0));
    } else if (item.kind === "checkpoint") {
      this.#checkpointTimer = undefined;
      await this.#checkpoint();
    } else {
      this.#current = item.delivery;
      await this.#handleDelivery(item.spec, item.delivery);
      this.#current = undefined;
    }
  }

  async #handleDelivery(spec: InputSpec, delivery: Delivery): Promise<void> {
    const checkpointed = spec.ack === "checkpoint";
    let envelope: Envelope;
    const local = isEnvelope(delivery.value);
    if (local) {
      envelope = delivery.value as Envelope; // same-process publish: already decoded
    } else {
      try {
        envelope = this.deps.codec.decode(delivery.data);
      } catch (err) {
        return this.#reject(delivery, `undecodable message: ${(err as Error).message}`);
      }
    }
    if (envelope.type !== spec.type) {
      return this.#reject(delivery, `unexpected message type ${envelope.type} (expected ${spec.type})`);
    }
    if (!local) {
      // Bodies built by this process's own stages are trusted; bytes from elsewhere are checked.
      const issues = spec.validate?.(envelope.body) ?? [];
      if (issues.length > 0) {
        const detail = issues.slice(0, 5).map((i) => `${i.path || "/"}: ${i.message}`).join("; ");
        return this.#reject(delivery, `invalid ${spec.type}: ${detail}`);
      }
    }
    if (checkpointed && this.#alreadyFolded(spec.filter, delivery)) return;
    const input: ActorInput = {
      kind: "message",
      subject: delivery.subject,
      seq: delivery.seq,
      deliveryCount: delivery.deliveryCount,
      type: envelope.type,
      id: envelope.id,
      ts: envelope.ts,
      headers: delivery.headers,
      body: envelope.body,
    };
    const failureKey = `${spec.filter} ${delivery.seq}`;
    try {
      this.#state = await this.behaviour.receive(this.#state, input, this.ctx);
      if (this.failures.size > 0) this.failures.delete(failureKey);
    } catch (err) {
      // Count failures of this very message (not redeliveries caused by a sibling's crash).
      const failed = (this.failures.get(failureKey) ?? 0) + 1;
      if (failed < (spec.maxDeliver ?? this.deps.maxDeliver)) {
        this.failures.set(failureKey, failed);
        if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value as string);
        throw err; // crash; redelivered to the restarted actor
      }
      this.failures.delete(failureKey);
      for (const e of this.#effects.splice(0)) e.catch(() => {});
      this.#log.error("giving up on message", { subject: delivery.subject, seq: delivery.seq, err });
      await this.#deadLetter(`failed ${failed} times: ${(err as Error).message}`, delivery.subject, delivery.seq, delivery.data);
      if (!checkpointed) return delivery.ack();
    }
    const effects = this.#effects.splice(0);
    if (!checkpointed) {
      // Acknowledge once what it published is durable; meanwhile take the next input, so one
      // slow durable write does not serialise the stage (bounded by maxInFlight).
      if (effects.length === 0) return delivery.ack();
      await this.#track(delivery, effects);
      return;
    }
    this.#track(undefined, effects);
    // Held without its decoded value: what was folded need not outlive receive (a raw batch's
    // parsed events, held by persist until its checkpoint, were old-space garbage to trace).
    this.#held.push({ filter: spec.filter, delivery: releaseValue(delivery) });
    let heldSeqs = this.#heldSeqs.get(spec.filter);
    if (!heldSeqs) this.#heldSeqs.set(spec.filter, (heldSeqs = new Set()));
    heldSeqs.add(delivery.seq);
    this.#heldBytes += delivery.data.byteLength;
    if (delivery.seq > (this.#seqs[spec.filter] ?? 0)) this.#seqs[spec.filter] = delivery.seq;
    // Checkpoint (which acknowledges what is held) before any one input's consumer reaches
    // maxAckPending unacknowledged and stops delivering, and at most every
    // 4 × maxAckPending held inputs in all. Not maxAckPending / 2 in all: with 16 partition
    // inputs, aggregate checkpointed its whole state ~19 times a second under load. And before
    // the held input's bytes reach maxHeldBytes: a stream keeps what is held, and under a
    // steady ~40 MB/s of raw batches persist held ~50 MiB of a 64 MiB stream between two
    // timed checkpoints, so ingest answered 503 "pipeline full" to a pipeline that kept up.
    if (
      heldSeqs.size >= this.deps.maxAckPending / 2 ||
      this.#held.length >= this.deps.maxAckPending * 4 ||
      this.#heldBytes >= this.deps.maxHeldBytes
    ) {
      await this.#checkpoint();
    } else if (!this.#checkpointTimer) {
      this.#checkpointTimer = this.deps.clock.setTimeout(
        () => this.mailbox.putSystem({ kind: "checkpoint" }),
        this.behaviour.checkpointIntervalMs ?? 1000,
      );
    }
  }

  async #reject(delivery: Delivery, reason: string): Promise<void> {
    await this.#deadLetter(reason, delivery.subject, delivery.seq, delivery.data);
    delivery.ack();
  }

  /**
   * Follows publishes made for an input (or a timer). With a delivery: acks it once they are
   * durable, waiting first if too many inputs are in flight. A failed publish crashes the actor
   * (its unacknowledged input is redelivered; deterministic ids make the republish idempotent).
   */
  async #track(delivery: Delivery | undefined, effects: Promise<unknown>[]): Promise<void> {
    if (effects.length === 0) return;
    if (!delivery) {
      this.#unsettledEffects.push(...effects);
      for (const e of effects) e.catch((err) => this.#crash(err));
      return;
    }
    const entry = { delivery: delivery as Delivery | undefined, done: Promise.resolve() };
    entry.done = Promise.all(effects).then(
      () => {
        this.#inFlight.delete(entry);
        if (!this.#crashed) delivery.ack();
      },
      (err) => {
        this.#inFlight.delete(entry);
        this.#crash(err);
      },
    );
    this.#inFlight.add(entry);
    while (this.#inFlight.size >= this.deps.maxInFlight && !this.#crashed) {
      await Promise.race([...this.#inFlight].map((e) => e.done));
    }
  }

  async #settleInFlight(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight].map((e) => e.done));
  }

  async #settleEffects(): Promise<void> {
    const effects = [...this.#unsettledEffects.splice(0), ...this.#effects.splice(0)];
    await Promise.all(effects);
  }

  async #checkpoint(): Promise<void> {
    this.#checkpointTimer?.cancel();
    this.#checkpointTimer = undefined;
    // Output of the folded input must be durable before the input is acknowledged.
    await this.#settleEffects();
    if (this.#crashed) return;
    if (this.behaviour.checkpoint) {
      const { state, snapshot } = await this.behaviour.checkpoint(this.#state, this.ctx);
      this.#state = state;
      await this.#settleEffects(); // what checkpoint() itself published (e.g. persist's flush)
      if (snapshot !== undefined) {
        const folded: Record<string, number[]> = {};
        for (const d of this.#held) (folded[d.filter] ??= []).push(d.delivery.seq);
        const carried: Record<string, number[]> = {};
        for (const f of new Set([...Object.keys(folded), ...Object.keys(this.#previouslyFolded)])) {
          carried[f] = [...(folded[f] ?? []), ...(this.#previouslyFolded[f] ?? [])];
        }
        const checkpoint: Checkpoint = { seqs: { ...this.#seqs }, folded: carried, snapshot };
        // In parts: a snapshot's large binaries (a state slab) are written as they are, not copied
        // (they may be the live state, which no receive changes before this checkpoint is saved).
        await this.#save(this.deps.codec.encodeLargeParts(checkpoint));
        this.#previouslyFolded = folded;
        this.#lastFolded = new Map(Object.entries(folded).map(([f, list]) => [f, new Set(list)]));
      }
    }
    for (const h of this.#held.splice(0)) h.delivery.ack();
    this.#heldSeqs.clear();
    this.#heldBytes = 0;
  }

  /**
   * A redelivery of input already folded in: into the restored checkpoint (its ack may have
   * been lost), into the previous checkpoint, or since the last one (JetStream redelivers a
   * message held past its ack wait while the first delivery is still held). Folding it again
   * would count it twice; it is acknowledged with the rest instead.
   */
  #alreadyFolded(filter: string, delivery: Delivery): boolean {
    const seq = delivery.seq;
    if (this.#skip.get(filter)?.has(seq) || this.#lastFolded.get(filter)?.has(seq)) {
      delivery.ack();
      return true;
    }
    if (this.#heldSeqs.get(filter)?.has(seq)) {
      this.#held.push({ filter, delivery: releaseValue(delivery) });
      return true;
    }
    return false;
  }

  /**
   * Saves a checkpoint, retrying a few times with backoff before giving up (a crash): right
   * after a NATS server restart, JetStream answers nothing for a few seconds while it recovers.
   */
  async #save(bytes: readonly Uint8Array[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.deps.checkpoints.save(this.name, bytes);
      } catch (err) {
        if (attempt >= 5 || this.#crashed) throw err;
        this.#log.warn("checkpoint save failed; retrying", { attempt, err });
        await this.deps.clock.sleep(Math.min(4_000, 250 * 2 ** attempt));
      }
    }
  }

  async #deadLetter(reason: string, subject: string, seq: number, data: Uint8Array): Promise<void> {
    const kind = this.behaviour.kind;
    this.deps.metrics.counter("tw_dead_letters_total", "Messages and events dead-lettered, by stage").inc({ stage: kind });
    this.#log.warn("dead-lettered", { subject, seq, reason });
    await this.deps.publisher.publish(
      `${this.deps.deadLetter.subjectPrefix}.${kind}`,
      this.deps.deadLetter.type,
      { stage: kind, reason, at: this.deps.clock.now(), subject, seq, payload: data },
      { id: `dlq:${kind}:${subject}:${seq}` },
    );
  }

  #crash(err: unknown): void {
    if (this.#done || this.#crashed) return;
    this.#crashed = true;
    this.#log.error("actor crashed", { err });
    this.mailbox.close();
    // Hand back everything not acknowledged (the failing message, queued and held input) for
    // redelivery now, oldest first, rather than after the ack wait.
    const unacked = [...this.#held.map((h) => h.delivery), ...(this.#current ? [this.#current] : [])];
    for (const e of this.#inFlight) if (e.delivery) unacked.push(e.delivery);
    this.#inFlight.clear();
    for (const e of this.#unsettledEffects.splice(0)) e.catch(() => {});
    for (const item of this.mailbox.drain()) if (item.kind === "delivery") unacked.push(item.delivery);
    unacked.sort((a, b) => a.seq - b.seq);
    for (const d of unacked) d.nak(0);
    this.#held = [];
    this.#heldSeqs.clear();
    this.#heldBytes = 0;
    this.#current = undefined;
    void this.#stopConsumers().then(() => this.#finish(err instanceof Error ? err : new Error(String(err))));
  }

  /**
   * Stops every input, bounded in time: a consumer that cannot confirm its stop (e.g. a
   * transport mid-reconnect) must not keep the supervisor from restarting this actor. A stopped
   * consumer delivers nothing more either way.
   */
  async #stopConsumers(): Promise<void> {
    const stops = Promise.all(this.#consumers.map((c) => c.stop().catch((err) => this.#log.warn("input did not stop cleanly", { err }))));
    let timer: { cancel(): void } | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = this.deps.clock.setTimeout(() => {
        this.#log.warn("inputs did not confirm their stop in time; going on");
        resolve();
      }, 10_000);
    });
    await Promise.race([stops, bound]);
    timer?.cancel();
  }

  #finish(reason: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#keepAliveTimer?.cancel();
    this.#checkpointTimer?.cancel();
    for (const t of this.#timers.values()) t.cancel();
    this.#timers.clear();
    this.#resolveExit(reason);
  }
}
