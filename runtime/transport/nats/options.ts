/**
 * Options of the NATS JetStream transport: documented defaults, one parse step that rejects a
 * bad value by field name (ConfigError), and the nats.js connection options they turn into.
 * Secrets arrive as strings (the composition root reads creds/seed files), so nothing here
 * touches a file system; TLS file paths are handed to the Node transport, which reads them.
 */
import { nonNegative, positive } from "../../core/config.ts";
export { nonNegative, positive };
import { credsAuthenticator, nkeyAuthenticator, type Authenticator } from "@nats-io/nats-core";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { systemClock, type Clock } from "../../core/clock.ts";
import { ConfigError } from "../../core/errors.ts";

export interface NatsStreamDefaults {
  /** Where streams keep messages. Defaults to "file". */
  storage?: "file" | "memory";
  /** Copies kept in a cluster. Defaults to 1. */
  replicas?: number;
  /** Age after which messages go even if unacknowledged (ms, 0 = never). Defaults to 0. */
  maxAgeMs?: number;
  /** Bytes a stream may hold before publishes fail with BackpressureError (-1 = unbounded). Defaults to 1 GiB. */
  maxBytes?: number;
  /** How long message ids are remembered for de-duplication (ms). Defaults to 120 000. */
  duplicateWindowMs?: number;
}

export interface NatsTransportOptions {
  /** Server URL(s), e.g. "nats://127.0.0.1:4222". Defaults to "nats://127.0.0.1:4222". */
  servers?: string | string[];
  /** User name for user/password auth. Defaults to none. */
  user?: string;
  /** Password for user/password auth. Defaults to none. */
  pass?: string;
  /** Token auth. Defaults to none. */
  token?: string;
  /** NKey seed ("SU…") for nkey auth. Defaults to none. */
  nkeySeed?: string;
  /** Content of a .creds file (JWT + seed), not its path. Defaults to none. */
  creds?: string;
  /** TLS: file paths read by the Node transport. Defaults to plain TCP. */
  tls?: { caFile?: string; certFile?: string; keyFile?: string };
  /** Client name shown by the server's monitoring. Defaults to "trendwire". */
  name?: string;
  /** Wait between reconnect attempts (ms). Defaults to 2000. */
  reconnectTimeWaitMs?: number;
  /** Random extra wait up to this (ms), so many clients do not reconnect in lockstep. Defaults to 500. */
  reconnectJitterMs?: number;
  /** Reconnect attempts per server before giving up (-1 = never give up). Defaults to -1. */
  maxReconnectAttempts?: number;
  /** How long the first connection may take (ms). Defaults to 10 000. */
  connectTimeoutMs?: number;
  /** How long a publish waits for its PubAck before TransportUnavailableError (ms). Defaults to 5000. */
  publishTimeoutMs?: number;
  /** Stream settings a StreamSpec does not give. See NatsStreamDefaults. */
  streamDefaults?: NatsStreamDefaults;
  /**
   * Keep messages of a stream that has no consumer yet, for the first group that attaches (as
   * the in-process transport does), by giving such a stream a holding consumer that the first
   * real consumer replaces. false = plain interest retention: a message published while no
   * consumer exists is dropped at once. Defaults to true.
   */
  holdUntilConsumed?: boolean;
  /** Messages one consume() pulls ahead of its handler (also bounded by maxAckPending). Defaults to 256. */
  pullBatch?: number;
  /** The watchdog checks every consumer this often (ms, on `clock`). Defaults to 5000. */
  watchdogIntervalMs?: number;
  /** The watchdog's timer. Defaults to systemClock. */
  clock?: Clock;
  /** Warnings (reconnects, consumer restarts, failed dead-letter reports). Defaults to console.warn. */
  log?(message: string, detail?: unknown): void;
}

export type ParsedNatsOptions = Required<Omit<NatsTransportOptions, "user" | "pass" | "token" | "nkeySeed" | "creds" | "tls" | "streamDefaults">> & {
  servers: string[];
  streamDefaults: Required<NatsStreamDefaults>;
  connection: NodeConnectionOptions;
};

export function parseNatsOptions(o: NatsTransportOptions): ParsedNatsOptions {
  const servers = o.servers === undefined ? ["nats://127.0.0.1:4222"] : Array.isArray(o.servers) ? o.servers : [o.servers];
  if (servers.length === 0 || servers.some((s) => typeof s !== "string" || s.trim() === "")) {
    throw new ConfigError("servers", "must be one or more server URLs");
  }
  const sd = o.streamDefaults ?? {};
  const storage = sd.storage ?? "file";
  if (storage !== "file" && storage !== "memory") throw new ConfigError("streamDefaults.storage", `must be "file" or "memory", got ${storage}`);
  const parsed = {
    servers,
    name: o.name ?? "trendwire",
    reconnectTimeWaitMs: nonNegative("reconnectTimeWaitMs", o.reconnectTimeWaitMs ?? 2000),
    reconnectJitterMs: nonNegative("reconnectJitterMs", o.reconnectJitterMs ?? 500),
    maxReconnectAttempts: integerFrom("maxReconnectAttempts", o.maxReconnectAttempts ?? -1, -1),
    connectTimeoutMs: positive("connectTimeoutMs", o.connectTimeoutMs ?? 10_000),
    publishTimeoutMs: positive("publishTimeoutMs", o.publishTimeoutMs ?? 5000),
    streamDefaults: {
      storage,
      replicas: integerFrom("streamDefaults.replicas", sd.replicas ?? 1, 1),
      maxAgeMs: nonNegative("streamDefaults.maxAgeMs", sd.maxAgeMs ?? 0),
      maxBytes: sd.maxBytes === -1 ? -1 : positive("streamDefaults.maxBytes", sd.maxBytes ?? 1024 ** 3),
      duplicateWindowMs: positive("streamDefaults.duplicateWindowMs", sd.duplicateWindowMs ?? 120_000),
    },
    holdUntilConsumed: o.holdUntilConsumed ?? true,
    pullBatch: integerFrom("pullBatch", o.pullBatch ?? 256, 1),
    watchdogIntervalMs: positive("watchdogIntervalMs", o.watchdogIntervalMs ?? 5000),
    clock: o.clock ?? systemClock,
    log: o.log ?? ((message: string, detail?: unknown) => console.warn(`nats transport: ${message}`, detail ?? "")),
  };
  return { ...parsed, connection: connectionOptions(o, parsed) };
}

function connectionOptions(o: NatsTransportOptions, p: Omit<ParsedNatsOptions, "connection">): NodeConnectionOptions {
  const auths = [o.token !== undefined, o.user !== undefined || o.pass !== undefined, o.nkeySeed !== undefined, o.creds !== undefined];
  if (auths.filter(Boolean).length > 1) throw new ConfigError("token", "give one of token, user/pass, nkeySeed or creds");
  if (o.pass !== undefined && o.user === undefined) throw new ConfigError("user", "is required with pass");
  const enc = new TextEncoder();
  let authenticator: Authenticator | undefined;
  if (o.nkeySeed !== undefined) authenticator = nkeyAuthenticator(enc.encode(o.nkeySeed.trim()));
  if (o.creds !== undefined) authenticator = credsAuthenticator(enc.encode(o.creds));
  return {
    servers: p.servers,
    name: p.name,
    ...(o.user !== undefined ? { user: o.user, pass: o.pass } : {}),
    ...(o.token !== undefined ? { token: o.token } : {}),
    ...(authenticator ? { authenticator } : {}),
    ...(o.tls ? { tls: { ...o.tls } } : {}),
    reconnect: true,
    reconnectTimeWait: p.reconnectTimeWaitMs,
    reconnectJitter: p.reconnectJitterMs,
    reconnectJitterTLS: p.reconnectJitterMs,
    maxReconnectAttempts: p.maxReconnectAttempts,
    timeout: p.connectTimeoutMs,
    // PERF-NOTES: async stack traces cost half the publish rate; our errors carry causes instead.
    noAsyncTraces: true,
  };
}


function integerFrom(field: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new ConfigError(field, `must be an integer >= ${min}, got ${value}`);
  return value;
}
