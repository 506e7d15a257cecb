/**
 * What an actor is: a behaviour value. `init` makes the state, `receive` is the transition
 * `(state, input, ctx) → state`, and every effect (publish, timers, logs, metrics) goes through
 * `ctx`, so a behaviour can be unit-tested with a fake context and no system.
 *
 * Lifecycle, as the runtime drives it: init once per (re)start → receive for each input, one
 * at a time → checkpoint now and then (ack mode "checkpoint") → stop on an orderly shutdown
 * (not after a crash). A throw from receive or init crashes the actor: its supervisor restarts
 * it, and input it had not acknowledged is delivered again.
 */
import type { Clock } from "./clock.ts";
import type { Logger } from "./log.ts";
import type { MetricsRegistry } from "./metrics.ts";
import type { PublishAck } from "../transport/transport.ts";
import type { PublishMessageOptions } from "./publisher.ts";

/** A message taken from the transport, already decoded from its envelope. */
export interface MessageInput<B = unknown> {
  kind: "message";
  subject: string;
  /** Stream sequence; stateful actors record the last one they folded in. */
  seq: number;
  deliveryCount: number;
  type: string;
  id: string;
  ts: number;
  headers: Record<string, string>;
  body: B;
}

export interface TimerInput {
  kind: "timer";
  name: string;
}

export type ActorInput = MessageInput | TimerInput;


export interface ActorContext {
  /** Instance name, e.g. "aggregate-0". */
  readonly name: string;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  /** Encodes `{v, type, id, ts, body}` and resolves once the transport holds it durably. */
  publish(subject: string, type: string, body: unknown, options?: PublishMessageOptions): Promise<PublishAck>;
  /**
   * Live, unstored copy of a message for whoever listens on `subject` now (core NATS). No
   * effect where the transport has no such feed (embedded mode).
   */
  notify(subject: string, data: Uint8Array, headers?: Record<string, string>): void;
  /** Delivers `{kind: "timer", name}` to receive after `delayMs`; replaces a pending timer of that name. */
  setTimer(name: string, delayMs: number): void;
  cancelTimer(name: string): void;
  /** The last checkpoint saved by this actor (see ActorBehaviour.checkpoint), or undefined. */
  restored(): Checkpoint | undefined;
}

export interface Checkpoint {
  /** Highest input sequence per input (by filter) folded into `snapshot`; informational. */
  seqs: Record<string, number>;
  /**
   * Sequences per input (by filter) folded into `snapshot` whose acknowledgement may not have
   * reached the transport: those acknowledged by this checkpoint and by the one before. After a
   * restart, a redelivered input in these sets is skipped, not folded twice. A set, not a
   * "skip at or below" bound: JetStream may redeliver an older message after a newer one.
   */
  folded?: Record<string, number[]>;
  snapshot: unknown;
}

export interface InputSpec {
  /** Subject filter, e.g. "tw.events.>" or "tw.events.3". */
  filter: string;
  /** Consumer group (durable name): instances of a kind share one. */
  group: string;
  /** Expected envelope type; anything else is dead-lettered. */
  type: string;
  /** Validates a body decoded from bytes; issues dead-letter the message. */
  validate?: (body: unknown) => { path: string; message: string }[];
  /**
   * "auto" (default): acknowledged when receive returns. "checkpoint": acknowledged only when a
   * checkpoint that includes it has been saved.
   */
  ack?: "auto" | "checkpoint";
  /** Deliveries before a failing message is dead-lettered. Defaults to the system's. */
  maxDeliver?: number;
  /** A live follower: starts at new messages, removed after 5 minutes unattended (ConsumeOptions.live). */
  live?: boolean;
}

export interface ActorBehaviour<S> {
  /** Kind name, e.g. "decode"; also the dead-letter stage name. */
  kind: string;
  inputs: InputSpec[];
  init(ctx: ActorContext): S | Promise<S>;
  receive(state: S, input: ActorInput, ctx: ActorContext): S | Promise<S>;
  /**
   * For ack mode "checkpoint": make the state durable-ready. Returns the snapshot to save
   * (undefined saves none, e.g. a stage that just flushed its output), and the state to go on
   * with. Input received before this call is acknowledged once the snapshot is saved. The
   * snapshot may share memory with the state (e.g. typed-array views): it is encoded and saved
   * before the next receive.
   */
  checkpoint?(state: S, ctx: ActorContext): { state: S; snapshot?: unknown } | Promise<{ state: S; snapshot?: unknown }>;
  /** Orderly stop: flush what is buffered (publish through ctx). Not called after a crash. */
  stop?(state: S, ctx: ActorContext): void | Promise<void>;
  /** Checkpoint at least this often (ms) while input is held. Defaults to 1000. */
  checkpointIntervalMs?: number;
}
