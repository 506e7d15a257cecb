/**
 * Supervision as in Erlang/OTP, declared as data: a strategy, an intensity (restarts allowed
 * within a period), an exponential backoff, and child specs started in order and stopped in
 * reverse. A supervisor is itself a Child, so trees nest; when restarts exceed the intensity it
 * stops its children and exits with EscalationError, which its parent handles in turn (at the
 * top, the application exits non-zero so the scheduler restarts the process).
 */
import type { Clock, TimerHandle } from "./clock.ts";
import type { Logger } from "./log.ts";
import { EscalationError } from "./errors.ts";

/** A running thing under supervision. */
export interface Child {
  /** Resolves once: undefined after an orderly stop, the error after a crash. */
  readonly exited: Promise<Error | undefined>;
  /** Orderly stop; resolves when stopped. */
  stop(): Promise<void>;
  /** Optional: wait until input already accepted upstream has been processed (before stop). */
  drain?(timeoutMs: number): Promise<void>;
}

export interface ChildSpec {
  id: string;
  /** Starts the child; a throw counts as a crash. */
  start(): Promise<Child>;
}

export type Strategy = "one_for_one" | "rest_for_one";

export interface SupervisorSpec {
  strategy: Strategy;
  /** Restarts allowed within periodMs before escalating. */
  intensity: number;
  periodMs: number;
  backoff: { initialMs: number; maxMs: number };
  /** Time given to each child to drain on an orderly stop. Defaults to 10 000 ms. */
  drainTimeoutMs?: number;
  children: ChildSpec[];
}

interface Slot {
  spec: ChildSpec;
  child: Child | undefined;
  /** Bumped on each start, so a stale exit of an earlier incarnation is ignored. */
  generation: number;
  timer: TimerHandle | undefined;
}

export class Supervisor implements Child {
  readonly exited: Promise<Error | undefined>;
  #resolveExit!: (reason: Error | undefined) => void;
  #slots: Slot[];
  #restarts: number[] = [];
  #stopping = false;
  #done = false;
  /** Total restarts performed, for metrics and tests. */
  restartCount = 0;

  constructor(
    readonly name: string,
    readonly spec: SupervisorSpec,
    readonly deps: { clock: Clock; log: Logger; onRestart?: (childId: string, error: Error) => void },
  ) {
    this.exited = new Promise((resolve) => (this.#resolveExit = resolve));
    this.#slots = spec.children.map((c) => ({ spec: c, child: undefined, generation: 0, timer: undefined }));
  }

  /** Starts every child in order. A child failing to start is handled like a crash. */
  async start(): Promise<this> {
    for (const slot of this.#slots) {
      if (this.#done) break;
      await this.#startSlot(slot);
    }
    return this;
  }

  child(id: string): Child | undefined {
    return this.#slots.find((s) => s.spec.id === id)?.child;
  }

  async drain(timeoutMs: number): Promise<void> {
    for (const slot of this.#slots) await slot.child?.drain?.(timeoutMs);
  }

  /** Stops children in reverse start order, draining each first. */
  async stop(): Promise<void> {
    if (this.#stopping) return void (await this.exited);
    this.#stopping = true;
    await this.#stopSlots(this.#slots, true);
    this.#finish(undefined);
  }

  async #startSlot(slot: Slot): Promise<void> {
    slot.timer = undefined;
    if (this.#stopping || this.#done) return;
    const generation = ++slot.generation;
    try {
      const child = await slot.spec.start();
      if (this.#stopping || this.#done || generation !== slot.generation) {
        await child.stop();
        return;
      }
      slot.child = child;
      void child.exited.then((reason) => {
        if (generation === slot.generation && reason) this.#onCrash(slot, reason);
      });
    } catch (err) {
      if (generation === slot.generation) this.#onCrash(slot, err instanceof Error ? err : new Error(String(err)));
    }
  }

  #onCrash(slot: Slot, reason: Error): void {
    if (this.#stopping || this.#done) return;
    slot.child = undefined;
    const now = this.deps.clock.now();
    this.#restarts = this.#restarts.filter((t) => now - t < this.spec.periodMs);
    this.#restarts.push(now);
    if (this.#restarts.length > this.spec.intensity) {
      this.deps.log.error("restart intensity exceeded, escalating", { supervisor: this.name, child: slot.spec.id, err: reason });
      this.#stopping = true;
      void this.#stopSlots(this.#slots, false).then(() => this.#finish(new EscalationError(slot.spec.id, { cause: reason })));
      return;
    }
    const n = this.#restarts.length;
    const delay = Math.min(this.spec.backoff.maxMs, this.spec.backoff.initialMs * 2 ** (n - 1));
    this.restartCount++;
    this.deps.onRestart?.(slot.spec.id, reason);
    this.deps.log.warn("restarting child", { supervisor: this.name, child: slot.spec.id, delayMs: delay, err: reason });
    const affected = this.spec.strategy === "rest_for_one" ? this.#slots.slice(this.#slots.indexOf(slot)) : [slot];
    slot.generation++; // a pending start of this slot is now stale
    void (async () => {
      // rest_for_one: the younger siblings depend on the crashed one; stop them first.
      const younger = affected.slice(1);
      for (const s of younger) s.generation++;
      await this.#stopSlots(younger, false);
      slot.timer = this.deps.clock.setTimeout(async () => {
        for (const s of affected) await this.#startSlot(s);
      }, delay);
    })();
  }

  async #stopSlots(slots: Slot[], drain: boolean): Promise<void> {
    for (const slot of [...slots].reverse()) {
      slot.timer?.cancel();
      slot.timer = undefined;
      const child = slot.child;
      slot.child = undefined;
      if (!child) continue;
      try {
        if (drain) await child.drain?.(this.spec.drainTimeoutMs ?? 10_000);
        await child.stop();
      } catch (err) {
        this.deps.log.error("child failed to stop", { supervisor: this.name, child: slot.spec.id, err });
      }
    }
  }

  #finish(reason: Error | undefined): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolveExit(reason);
  }
}
