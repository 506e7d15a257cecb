/**
 * The Transport over NATS JetStream (nats.js v3, `@nats-io/transport-node`, which runs on Node
 * and on Deno): what every deployment but the embedded one uses. Contract: transport.ts and
 * test/conformance/transport.ts; stream and consumer configuration: streams.ts; one consumer
 * member: consumer.ts.
 *
 * Lifecycle: `NatsTransport.connect(options)` → ensureStreams → ensureConsumer for every
 * pipeline consumer (before anything publishes: see streams.ts on interest retention) →
 * publish/consume → close() (stops consumers, drains the connection, closes it).
 *
 * Availability: the connection status is tracked from nats.js status events; while it is not
 * connected (disconnected, reconnecting, closed) publish rejects at once with
 * TransportUnavailableError instead of queueing into nats.js's reconnect buffer until the
 * timeout. A publish already in flight when the connection drops may still be acked after the
 * reconnect (nats.js resends its buffer), or time out after publishTimeoutMs; a retry with the
 * same msgId is de-duplicated by the stream either way.
 */
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { connect as natsConnect } from "@nats-io/transport-node";
import type { TimerHandle } from "../../core/clock.ts";
import { ConfigError, TransportUnavailableError } from "../../core/errors.ts";
import { FilterSpansStreamsError, GroupConflictError, NoStreamError } from "../in_process_errors.ts";
import type { ConsumeOptions, Consumer, DeliveryHandler, PublishAck, PublishOptions, StreamSpec, Transport } from "../transport.ts";
import { NatsMember } from "./consumer.ts";
import { ApiCode, isApiError, isNoResponders, mapApiError, mapConnectError, mapPublishError } from "./errors.ts";
import { consumerName, HOLD_CONSUMER } from "./names.ts";
import { parseNatsOptions, type NatsTransportOptions, type ParsedNatsOptions } from "./options.ts";
import { buildStreamReport, type StreamReport } from "./stream_report.ts";
import { consumerConfig, ensureDurable, ensureStream, groupSettings, releaseHold, streamConfig } from "./streams.ts";

export interface NatsTransportStats {
  /** Times the connection was re-established. */
  reconnects: number;
  /** consume() loops restarted by the watchdog or a status event (stall, deleted consumer). */
  consumerRestarts: number;
  /** Messages handed to onDead and acked. */
  deadLetters: number;
}

export interface EnsuredConsumer {
  stream: string;
  /** The durable consumer's name (the group, escaped: see names.ts). */
  name: string;
}

export class NatsTransport implements Transport {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #js: JetStreamClient;
  readonly #o: ParsedNatsOptions;
  readonly #members = new Set<NatsMember>();
  readonly #streamOf = new Map<string, string>();
  /** Rejecters of publishes awaiting their PubAck: failed at once when the connection drops. */
  #inflight = new Set<(error: unknown) => void>();
  readonly #stats: NatsTransportStats = { reconnects: 0, consumerRestarts: 0, deadLetters: 0 };
  #connected = true;
  #closed = false;
  #closing: Promise<void> | undefined;
  #watchdog: TimerHandle | undefined;
  #statusLoop: Promise<void> = Promise.resolve();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, o: ParsedNatsOptions) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#js = jsm.jetstream();
    this.#o = o;
    this.#statusLoop = this.#trackStatus();
    this.#scheduleWatchdog();
  }

  /** Connects (failing with NatsAuthError or TransportUnavailableError) and checks JetStream is on. */
  static async connect(options: NatsTransportOptions = {}): Promise<NatsTransport> {
    const o = parseNatsOptions(options);
    let nc: NatsConnection;
    try {
      nc = await natsConnect(o.connection);
    } catch (error) {
      throw mapConnectError(error, o.servers);
    }
    try {
      return new NatsTransport(nc, await jetstreamManager(nc), o);
    } catch (error) {
      await nc.close().catch(() => undefined);
      throw new TransportUnavailableError(`JetStream is not available at ${o.servers.join(", ")}`, 1000, { cause: error });
    }
  }

  /** The connection, for the other modules of this folder (KvCheckpointStore). */
  get natsConnection(): NatsConnection {
    return this.#nc;
  }

  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  stats(): Readonly<NatsTransportStats> {
    return { ...this.#stats };
  }

  async ensureStreams(specs: StreamSpec[]): Promise<void> {
    this.#assertOpen();
    const configs = specs.map((spec) => streamConfig(spec, this.#o.streamDefaults));
    for (const config of configs) await ensureStream(this.#jsm, config, this.#o.holdUntilConsumed);
    this.#streamOf.clear();
  }

  /**
   * Creates (or updates) the durable consumer of `group` on the stream that `filter` reaches,
   * and removes the stream's holding consumer. The composition root calls it for every
   * pipeline consumer at start-up, before anything publishes; consume() calls it too.
   */
  async ensureConsumer(filter: string, group: string, options: ConsumeOptions = {}): Promise<EnsuredConsumer> {
    this.#assertOpen();
    const settings = groupSettings(options);
    const name = consumerName(group);
    if (name === HOLD_CONSUMER) throw new ConfigError("group", `${HOLD_CONSUMER} is reserved`);
    const stream = await this.#streamFor(filter);
    await ensureDurable(this.#jsm, stream, consumerConfig(name, filter, settings));
    if (this.#o.holdUntilConsumed) await releaseHold(this.#jsm, stream).catch((e) => { throw mapApiError(e, `release hold on ${stream}`); });
    return { stream, name };
  }

  publish(subject: string, data: Uint8Array, options?: PublishOptions): Promise<PublishAck> {
    if (!this.#connected || this.#closed) {
      return Promise.reject(new TransportUnavailableError(this.#closed ? "transport is closed" : "NATS connection is down"));
    }
    const opts: { timeout: number; msgID?: string; headers?: ReturnType<typeof natsHeaders> } = { timeout: this.#o.publishTimeoutMs };
    if (options) {
      if (options.msgId) opts.msgID = options.msgId;
      if (options.headers) {
        const h = natsHeaders();
        for (const key in options.headers) h.set(key, options.headers[key]);
        opts.headers = h;
      }
    }
    const sent = this.#js.publish(subject, data, opts);
    return new Promise<PublishAck>((resolve, reject) => {
      const inflight = this.#inflight;
      inflight.add(reject);
      sent.then(
        // The PubAck is handed on as is: it has stream, seq and duplicate (no copy per message).
        (pa) => {
          inflight.delete(reject);
          resolve(pa);
        },
        (error) => {
          inflight.delete(reject);
          this.#publishFailed(error, subject).catch(reject);
        },
      );
    });
  }

  /** Core NATS publish: live subscribers only, not stored, dropped while disconnected. */
  notify(subject: string, data: Uint8Array, headers?: Record<string, string>): void {
    if (!this.#connected || this.#closed) return;
    let h: ReturnType<typeof natsHeaders> | undefined;
    if (headers) {
      h = natsHeaders();
      for (const key in headers) h.set(key, headers[key]!);
    }
    try {
      this.natsConnection.publish(subject, data, h ? { headers: h } : undefined);
    } catch (error) {
      this.#o.log("live notify failed", { subject, error });
    }
  }

  async consume(filter: string, group: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.#assertOpen();
    const settings = groupSettings(options);
    const name = consumerName(group);
    for (const m of this.#members) {
      if (m.group === group && m.filter !== filter) throw new GroupConflictError(group, filter, m.filter);
    }
    const { stream } = await this.ensureConsumer(filter, group, options);
    this.#assertOpen();
    const member = new NatsMember({
      js: this.#js,
      jsm: this.#jsm,
      stream,
      name,
      batch: Math.min(this.#o.pullBatch, settings.maxAckPending),
      recreate: () => ensureDurable(this.#jsm, stream, consumerConfig(name, filter, settings)),
      log: this.#o.log,
      onRestart: () => void this.#stats.consumerRestarts++,
      onDead: () => void this.#stats.deadLetters++,
      onStop: (m) => this.#members.delete(m),
    }, handler, {
      maxDeliver: settings.maxDeliver,
      backoffMs: settings.backoffMs,
      onDead: options.onDead,
      ...(options.orderedRecovery ? { orderedRecovery: { ackWaitMs: settings.ackWaitMs } } : {}),
    }, group, filter);
    this.#members.add(member);
    return member;
  }

  /** Per stream and per consumer: what `trendwire streams` prints. */
  streamReport(): Promise<StreamReport> {
    this.#assertOpen();
    return buildStreamReport(this.#jsm).catch((error) => {
      throw mapApiError(error, "stream report");
    });
  }

  /** Stops consumers, drains the connection (flushing acks and publishes), closes it. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#watchdog?.cancel();
    await Promise.all([...this.#members].map((m) => m.stop()));
    if (!this.#nc.isClosed()) {
      if (this.#connected) {
        // drain() waits for the server; bound it so close() never hangs on a dying link.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.#o.publishTimeoutMs)));
        await Promise.race([this.#nc.drain().catch(() => undefined), timeout]);
        clearTimeout(timer);
      }
      await this.#nc.close().catch(() => undefined);
    }
    await this.#statusLoop;
  }

  async #trackStatus(): Promise<void> {
    try {
      for await (const s of this.#nc.status()) {
        switch (s.type) {
          case "disconnect":
          case "reconnecting":
          case "staleConnection":
            if (this.#connected) this.#o.log(`disconnected from ${this.#o.servers.join(", ")} (${s.type})`);
            this.#connected = false;
            this.#failInflight();
            break;
          case "reconnect":
            this.#connected = true;
            this.#stats.reconnects++;
            this.#o.log(`reconnected to ${s.server}`);
            break;
          case "close":
            this.#connected = false;
            this.#failInflight();
            break;
          case "error":
            this.#o.log("server error", s.error);
            break;
        }
      }
    } catch {
      // the connection is closed
    }
    this.#connected = false;
  }

  /**
   * The connection dropped: publishes awaiting a PubAck fail now rather than at their timeout.
   * The message may still have been stored (or be stored when nats.js resends its buffer after
   * the reconnect); a retry with the same msgId is de-duplicated.
   */
  #failInflight(): void {
    if (this.#inflight.size === 0) return;
    const rejecters = this.#inflight;
    this.#inflight = new Set();
    const error = new TransportUnavailableError("NATS connection lost before the PubAck arrived");
    for (const reject of rejecters) reject(error);
  }

  #scheduleWatchdog(): void {
    if (this.#closed) return;
    this.#watchdog = this.#o.clock.setTimeout(() => {
      void this.#checkConsumers().finally(() => this.#scheduleWatchdog());
    }, this.#o.watchdogIntervalMs);
  }

  async #checkConsumers(): Promise<void> {
    if (!this.#connected) return; // nats.js re-pulls after a reconnect by itself
    await Promise.all([...this.#members].map((m) => m.check()));
  }

  async #streamFor(filter: string): Promise<string> {
    let stream = this.#streamOf.get(filter);
    if (stream) return stream;
    const names: string[] = [];
    try {
      for await (const name of this.#jsm.streams.names(filter)) names.push(name);
    } catch (error) {
      throw mapApiError(error, `find the stream of ${filter}`);
    }
    if (names.length === 0) throw new NoStreamError(filter);
    if (names.length > 1) throw new FilterSpansStreamsError(filter, names.sort());
    stream = names[0];
    if (this.#streamOf.size >= 1000) this.#streamOf.clear();
    this.#streamOf.set(filter, stream);
    return stream;
  }

  /** No responders: either no stream captures the subject (ask) or JetStream is not answering. */
  async #publishFailed(error: unknown, subject: string): Promise<never> {
    const mapped = mapPublishError(error, subject);
    if (mapped instanceof TransportUnavailableError && this.connected && isNoResponders(error)) {
      const missing = await this.#jsm.streams.find(subject).then(() => false, (e) => isApiError(e, ApiCode.StreamNotFound));
      if (missing) throw new NoStreamError(subject);
    }
    throw mapped;
  }

  #assertOpen(): void {
    if (this.#closed) throw new TransportUnavailableError("transport is closed");
  }
}

