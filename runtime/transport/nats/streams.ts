/**
 * Streams and consumers as JetStream configuration: what ensureStreams and ensureConsumer ask
 * the server for, and the holding consumer.
 *
 * Every stream uses **interest retention** with **discard new**: a message goes once every
 * consumer of the stream has acked it, and a full stream refuses a publish (BackpressureError)
 * rather than dropping data. Interest retention has one sharp edge: a message published while
 * the stream has no consumer at all is dropped at once (the server acks it and stores nothing).
 * So (a) the composition root creates every pipeline consumer up front with ensureConsumer,
 * before anything publishes, and (b) unless `holdUntilConsumed` is false, a stream without
 * consumers gets a holding consumer (HOLD_CONSUMER, never read) that keeps its messages until
 * the first real consumer is created, which then deletes it — the in-process transport's
 * "unclaimed messages wait for the first group" behaviour. A held stream that nobody ever
 * consumes fills up to maxBytes and then refuses publishes.
 *
 * De-duplication (`Nats-Msg-Id`, duplicate_window) holds across client reconnects and new
 * connections. Across a *server* restart it covers only messages still stored: the server
 * rebuilds its id map from the stream's messages (stream.go rebuildDedupe), and interest
 * retention has already removed the ones every consumer acked. A producer retrying after a
 * server restart can so store a second copy of a message that was already consumed.
 */
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, ReplayPolicy, RetentionPolicy, StorageType,
  type ConsumerConfig, type JetStreamManager, type StreamConfig, type StreamUpdateConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { ConfigError } from "../../core/errors.ts";
import type { ConsumeOptions, StreamSpec } from "../transport.ts";
import { ApiCode, isApiError, mapApiError } from "./errors.ts";
import { HOLD_CONSUMER } from "./names.ts";
import { nonNegative, positive, type NatsStreamDefaults } from "./options.ts";

/** A consume() call's settings over the defaults (the same defaults as the in-process transport). */
export interface GroupSettings {
  maxAckPending: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffMs: number[];
  /** See ConsumeOptions.live. */
  live: { idleRemoveMs: number } | undefined;
}

export function groupSettings(o: ConsumeOptions): GroupSettings {
  const maxAckPending = positive("maxAckPending", o.maxAckPending ?? 1000);
  const maxDeliver = positive("maxDeliver", o.maxDeliver ?? 5);
  if (!Number.isInteger(maxAckPending)) throw new ConfigError("maxAckPending", `must be an integer, got ${maxAckPending}`);
  return {
    maxAckPending,
    ackWaitMs: positive("ackWaitMs", o.ackWaitMs ?? 30_000),
    maxDeliver,
    backoffMs: (o.backoffMs ?? [100, 500, 2000, 5000]).map((ms, i) => nonNegative(`backoffMs[${i}]`, ms)),
    live: o.live ? { idleRemoveMs: positive("live.idleRemoveMs", o.live.idleRemoveMs) } : undefined,
  };
}

export function streamConfig(spec: StreamSpec, d: Required<NatsStreamDefaults>): Partial<StreamConfig> & { name: string } {
  if (!spec.name) throw new ConfigError("streams.name", "must not be empty");
  if (spec.subjects.length === 0) throw new ConfigError(`streams.${spec.name}.subjects`, "must not be empty");
  const maxAgeMs = spec.maxAgeMs ?? d.maxAgeMs;
  let duplicateWindowMs = spec.duplicateWindowMs ?? d.duplicateWindowMs;
  // The server requires duplicate_window <= max_age.
  if (maxAgeMs > 0) duplicateWindowMs = Math.min(duplicateWindowMs, maxAgeMs);
  return {
    name: spec.name,
    subjects: [...spec.subjects],
    retention: RetentionPolicy.Interest,
    discard: DiscardPolicy.New,
    storage: d.storage === "memory" ? StorageType.Memory : StorageType.File,
    num_replicas: d.replicas,
    max_age: nanos(maxAgeMs),
    max_bytes: spec.maxBytes ?? d.maxBytes,
    duplicate_window: nanos(duplicateWindowMs),
  };
}

/** Creates or updates one stream; gives it the holding consumer when it has no consumer. */
export async function ensureStream(jsm: JetStreamManager, config: Partial<StreamConfig> & { name: string }, hold: boolean): Promise<void> {
  const what = `ensure stream ${config.name}`;
  try {
    let info = await jsm.streams.info(config.name).catch((error) => {
      if (isApiError(error, ApiCode.StreamNotFound)) return undefined;
      throw error;
    });
    if (!info) info = await jsm.streams.add(config);
    else if (differs(info.config, config)) {
      const { name, ...changes } = config;
      // Retention, storage and the like cannot change on a live stream: the server says so.
      info = await jsm.streams.update(name, changes as Partial<StreamUpdateConfig>);
    }
    if (hold && info.state.consumer_count === 0) {
      await jsm.consumers.add(config.name, holdConfig());
      // Someone may have attached a real consumer meanwhile: then the hold must not stay.
      const after = await jsm.streams.info(config.name);
      if (after.state.consumer_count > 1) await releaseHold(jsm, config.name);
    }
  } catch (error) {
    throw mapApiError(error, what);
  }
}

function differs(have: StreamConfig, want: Partial<StreamConfig>): boolean {
  return (Object.keys(want) as (keyof StreamConfig)[]).some((k) => JSON.stringify(have[k]) !== JSON.stringify(want[k]));
}

function holdConfig(): Partial<ConsumerConfig> {
  return {
    durable_name: HOLD_CONSUMER,
    description: "Trendwire: holds messages until the first consumer attaches; deleted then",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
  };
}

/** Deletes the holding consumer if there is one. */
export async function releaseHold(jsm: JetStreamManager, stream: string): Promise<void> {
  try {
    await jsm.consumers.delete(stream, HOLD_CONSUMER);
  } catch (error) {
    if (!isApiError(error, ApiCode.ConsumerNotFound)) throw error;
  }
}

export function consumerConfig(name: string, filter: string, s: GroupSettings): Partial<ConsumerConfig> {
  return {
    durable_name: name,
    ack_policy: AckPolicy.Explicit,
    // A live follower starts at new messages and is removed by the server once unattended.
    deliver_policy: s.live ? DeliverPolicy.New : DeliverPolicy.All,
    ...(s.live ? { inactive_threshold: nanos(s.live.idleRemoveMs) } : {}),
    replay_policy: ReplayPolicy.Instant,
    filter_subject: filter,
    ack_wait: nanos(s.ackWaitMs),
    max_ack_pending: s.maxAckPending,
    // Max deliveries are counted by the transport (consumer.ts), so onDead gets the data.
    max_deliver: -1,
  };
}

/** Creates the durable consumer, or updates it when it exists with other settings. */
export async function ensureDurable(jsm: JetStreamManager, stream: string, config: Partial<ConsumerConfig>): Promise<void> {
  const name = config.durable_name!;
  try {
    await jsm.consumers.add(stream, config);
  } catch (error) {
    // nats.js sends action "create" (its create-or-update action "" is lost to a `||`), so an
    // existing consumer with other settings is an error we answer with an update.
    if (!isApiError(error, ApiCode.ConsumerAlreadyExists) && !isApiError(error, ApiCode.ConsumerNameExists)) {
      throw mapApiError(error, `ensure consumer ${stream}/${name}`);
    }
    const { filter_subject, ack_wait, max_ack_pending, max_deliver, inactive_threshold } = config;
    try {
      await jsm.consumers.update(stream, name, { filter_subject, ack_wait, max_ack_pending, max_deliver, ...(inactive_threshold ? { inactive_threshold } : {}) });
    } catch (e) {
      throw mapApiError(e, `update consumer ${stream}/${name}`);
    }
  }
}
