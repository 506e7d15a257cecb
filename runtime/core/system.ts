/**
 * The actor system: the shared services every actor runs with (transport, codec, clock,
 * checkpoints, logs, metrics) and the factories that turn behaviours into supervised children.
 * Everything is passed in; nothing is global, so tests build as many systems as they like.
 */
import type { ActorBehaviour } from "./actor.ts";
import { ActorCell, consumeOptions, type CellDeps } from "./actor_cell.ts";
import { systemClock, type Clock } from "./clock.ts";
import { createLogger, type Logger } from "./log.ts";
import { MetricsRegistry } from "./metrics.ts";
import { EnvelopePublisher, type PublishMessageOptions } from "./publisher.ts";
import { Supervisor, type Child, type ChildSpec, type SupervisorSpec } from "./supervisor.ts";
import { MessageCodec } from "../codec/codec.ts";
import type { Transport } from "../transport/transport.ts";
import { MemoryCheckpointStore, type CheckpointStore } from "../store/checkpoint_store.ts";

export interface ActorSystemOptions {
  transport: Transport;
  clock?: Clock;
  log?: Logger;
  metrics?: MetricsRegistry;
  /** Defaults to an in-memory store (no recovery across processes). */
  checkpoints?: CheckpointStore;
  /** Where runtime-level dead letters go. Defaults to subjects `tw.dlq.<kind>`, type "tw.dead_letter.v1". */
  deadLetter?: { subjectPrefix: string; type: string };
  /** Mailbox capacity per actor. Defaults to 64 (messages are batches). */
  mailboxCapacity?: number;
  /** Inputs per actor whose output is still being made durable. Defaults to 64. */
  maxInFlight?: number;
  /** Deliveries before a failing message is dead-lettered. Defaults to 5. */
  maxDeliver?: number;
  /** Unacknowledged deliveries per consumer. Defaults to 1024. */
  maxAckPending?: number;
  /** Defaults to 30 000 ms. */
  ackWaitMs?: number;
  /**
   * Payload bytes of held input (ack mode "checkpoint") at which an actor checkpoints, however
   * soon after the last one: keep it well under the streams' max bytes. Defaults to 16 MiB.
   */
  maxHeldBytes?: number;
}

/** A running actor as its supervisor sees it. */
export interface ActorRef extends Child {
  readonly name: string;
  backlog(): Promise<number>;
}

export class ActorSystem {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: MetricsRegistry;
  readonly codec = new MessageCodec();
  readonly publisher: EnvelopePublisher;
  readonly #cellDeps: CellDeps;
  /** Live actors by instance name, for drains and health. */
  readonly actors = new Map<string, ActorRef>();

  constructor(options: ActorSystemOptions) {
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? createLogger();
    this.metrics = options.metrics ?? new MetricsRegistry();
    this.publisher = new EnvelopePublisher(this.transport, this.codec, this.clock);
    this.#cellDeps = {
      transport: this.transport,
      codec: this.codec,
      publisher: this.publisher,
      clock: this.clock,
      log: this.log,
      metrics: this.metrics,
      checkpoints: options.checkpoints ?? new MemoryCheckpointStore(),
      deadLetter: options.deadLetter ?? { subjectPrefix: "tw.dlq", type: "tw.dead_letter.v1" },
      mailboxCapacity: options.mailboxCapacity ?? 64,
      maxInFlight: options.maxInFlight ?? 64,
      maxDeliver: options.maxDeliver ?? 5,
      maxAckPending: options.maxAckPending ?? 1024,
      ackWaitMs: options.ackWaitMs ?? 30_000,
      maxHeldBytes: options.maxHeldBytes ?? 16 * 1024 * 1024,
    };
  }

  /** Publishes outside any actor (the HTTP edges); see ActorContext.publish. */
  publish(subject: string, type: string, body: unknown, options?: PublishMessageOptions) {
    return this.publisher.publish(subject, type, body, options);
  }

  /** A child spec that runs `behaviour` as actor `name`, a fresh cell on every (re)start. */
  actor<S>(name: string, behaviour: ActorBehaviour<S>): ChildSpec {
    const failures = new Map<string, number>();
    return {
      id: name,
      start: async () => {
        const cell = new ActorCell(behaviour, name, this.#cellDeps, failures);
        const ref: ActorRef = {
          name,
          exited: cell.exited,
          stop: () => cell.stop(),
          backlog: () => cell.backlog(),
          drain: (timeoutMs) => this.#drain(cell, timeoutMs),
        };
        this.actors.set(name, ref);
        void cell.exited.then(() => {
          if (this.actors.get(name) === ref) this.actors.delete(name);
        });
        await cell.start();
        return ref;
      },
    };
  }

  /**
   * Creates the durable consumers of `behaviours`' inputs ahead of time, where the transport
   * needs that (JetStream interest retention keeps messages only for consumers that exist).
   */
  async ensureConsumers(behaviours: ActorBehaviour<unknown>[]): Promise<void> {
    const ensure = this.transport.ensureConsumer?.bind(this.transport);
    if (!ensure) return;
    for (const b of behaviours) for (const spec of b.inputs) await ensure(spec.filter, spec.group, consumeOptions(spec, this.#cellDeps));
  }

  /** A child spec for a nested supervisor. */
  supervisor(name: string, spec: SupervisorSpec): ChildSpec {
    return { id: name, start: () => this.startSupervisor(name, spec) };
  }

  /** Starts a supervisor (the root of a tree, or a nested one). */
  startSupervisor(name: string, spec: SupervisorSpec): Promise<Supervisor> {
    const restarts = this.metrics.counter("tw_actor_restarts_total", "Actor restarts by supervisors");
    return new Supervisor(name, spec, {
      clock: this.clock,
      log: this.log,
      onRestart: (child) => restarts.inc({ child }),
    }).start();
  }

  async #drain(cell: ActorCell<unknown>, timeoutMs: number): Promise<void> {
    const deadline = this.clock.now() + timeoutMs;
    while ((await cell.backlog()) > 0 || cell.mailbox.size > 0) {
      if (this.clock.now() >= deadline) {
        this.log.warn("drain timed out", { actor: cell.name, backlog: await cell.backlog() });
        return;
      }
      await this.clock.sleep(10);
    }
  }
}
