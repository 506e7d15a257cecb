/**
 * A member of a consumer group of the in-process transport: one loop that takes the group's
 * next job and runs it — a handler call or an onDead report — awaiting each before the next.
 * That await is the backpressure path: a handler stuck on a full mailbox stops this member.
 */
import type { Attempt, DeadItem, Group } from "./in_process_group.ts";
import type { Consumer, DeadLetter, Delivery, DeliveryHandler } from "./transport.ts";

/**
 * A member that has worked this long (ms of wall time, not clock time: this is about sharing
 * the CPU) without giving up the thread yields to the event loop, so a backlog of quick
 * handlers does not starve I/O and timers.
 */
const SLICE_MS = 10;

export class Member implements Consumer {
  readonly #group: Group;
  readonly #handler: DeliveryHandler;
  readonly #onDead: ((dead: DeadLetter) => void | Promise<void>) | undefined;
  readonly #onStop: () => Promise<void>;
  #active = true;
  #stopping: Promise<void> | undefined;

  constructor(
    group: Group,
    handler: DeliveryHandler,
    onDead: ((dead: DeadLetter) => void | Promise<void>) | undefined,
    onStop: () => Promise<void>,
  ) {
    this.#group = group;
    this.#handler = handler;
    this.#onDead = onDead;
    this.#onStop = onStop;
    group.members++;
    // Deliveries start on the next turn, after consume() has resolved to this member: a
    // handler may use the Consumer it was registered with.
    setTimeout(() => void this.#run(), 0);
  }

  /** Stops taking work; what this member holds unacked is redelivered after its ack wait. */
  stop(): Promise<void> {
    if (!this.#stopping) {
      this.#active = false;
      this.#group.members--;
      this.#group.kick();
      this.#stopping = this.#onStop();
    }
    return this.#stopping;
  }

  async pending(): Promise<number> {
    return this.#group.pending();
  }

  /** Stops without persisting (the transport persists once for everyone on close). */
  detach(): void {
    if (this.#active) {
      this.#active = false;
      this.#group.members--;
      this.#stopping = Promise.resolve();
    }
  }

  async #run(): Promise<void> {
    let sliceStart = performance.now();
    while (this.#active) {
      const job = this.#group.take();
      if (!job) {
        await this.#group.wait();
        sliceStart = performance.now();
        continue;
      }
      if (job.kind === "dead") await this.#reportDead(job.dead);
      else await this.#deliver(job.attempt);
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        sliceStart = performance.now();
      }
    }
  }

  async #deliver(attempt: Attempt): Promise<void> {
    const group = this.#group;
    const { msg } = attempt;
    const delivery: Delivery = {
      subject: msg.subject,
      data: msg.data,
      seq: msg.seq,
      deliveryCount: attempt.count,
      headers: msg.headers,
      msgId: msg.msgId,
      value: msg.value,
      ack: () => group.ack(attempt),
      nak: (delayMs?: number) => group.nak(attempt, delayMs),
      term: (reason?: string) => group.term(attempt, reason),
      working: () => group.working(attempt),
    };
    // Once every group has had the value, the held message lets it go: a redelivery decodes
    // `data`, as after recovery, and a message held until a checkpoint keeps only its bytes.
    if (attempt.count === 1 && --msg.firstDeliveries <= 0) msg.value = undefined;
    try {
      await this.#handler(delivery);
    } catch {
      group.nak(attempt);
    }
  }

  async #reportDead(item: DeadItem): Promise<void> {
    const { msg } = item;
    try {
      await this.#onDead?.({
        subject: msg.subject, seq: msg.seq, data: msg.data, deliveryCount: item.count,
        reason: item.reason, headers: msg.headers,
      });
    } catch {
      this.#group.deadFailed(item);
      return;
    }
    this.#group.deadReported(item);
  }
}
