/**
 * Chooses the transport and checkpoint store from configuration: embedded (the in-process,
 * fsync'd log and checkpoint files under the data directory) or NATS JetStream (streams and a
 * KV bucket for checkpoints). nats.js is loaded only when NATS is used.
 */
import type { FileSystem, Platform } from "../runtime/platform/platform.ts";
import type { Clock } from "../runtime/core/clock.ts";
import type { Logger } from "../runtime/core/log.ts";
import type { Transport } from "../runtime/transport/transport.ts";
import { FileCheckpointStore, type CheckpointStore } from "../runtime/store/checkpoint_store.ts";
import { InProcessTransport } from "../runtime/transport/in_process.ts";
import { flushesFirstFor } from "../runtime/transport/log_segments.ts";
import { RAW_STREAM } from "./streams.ts";
import { ConfigError } from "../runtime/core/errors.ts";
import { retrying } from "./retry.ts";
import { dataDirOf, type TrendwireConfig } from "./config.ts";

export interface OpenedTransport {
  kind: "embedded" | "nats";
  transport: Transport;
  checkpoints: CheckpointStore;
}

/**
 * The file system for the data directory's log, objects and checkpoints: direct I/O unless
 * `--direct-io off` or the platform has none.
 */
export function dataFileSystem(config: TrendwireConfig, platform: Platform): FileSystem {
  return config.directIo === "off" ? platform.fs : (platform.directFs ?? platform.fs);
}

export function usesNats(config: TrendwireConfig): boolean {
  return config.transport === "nats" || config.nats.length > 0;
}

async function readSecret(platform: Platform, field: string, path: string): Promise<string | undefined> {
  if (path === "") return undefined;
  const bytes = await platform.fs.readFile(path);
  if (!bytes) throw new ConfigError(field, `file not found: ${path}`);
  return new TextDecoder().decode(bytes).trim();
}

/**
 * With `blockingLog`, the embedded log writes and syncs on this thread (InProcessOptions.blockingIo),
 * flushing after the messages already waiting: the stages thread's choice (PipelineOptions.blockingLog).
 */
export async function openTransport(
  config: TrendwireConfig,
  platform: Platform,
  log: Logger,
  options: { clock?: Clock; blockingLog?: boolean; onLogFailure?(stream: string, error: unknown): void } = {},
): Promise<OpenedTransport> {
  const { clock } = options;
  const dataDir = dataDirOf(config);
  if (!usesNats(config)) {
    const fs = dataFileSystem(config, platform);
    const transport = new InProcessTransport({
      fs,
      dir: `${dataDir}/log`,
      clock,
      syncIntervalMs: config.syncIntervalMs,
      // The raw log's flushes first: a 202 waits for them (README, Threads).
      blockingIo: options.blockingLog ? flushesFirstFor([RAW_STREAM], (run) => platform.afterPendingMessages(run)) : undefined,
      onError: (err) => log.warn("transport housekeeping failed", { err }),
      onLogFailure: options.onLogFailure,
    });
    return { kind: "embedded", transport, checkpoints: new FileCheckpointStore(fs, `${dataDir}/checkpoints`) };
  }
  const { NatsTransport, KvCheckpointStore } = await import("../runtime/transport/nats/mod.ts");
  const tls =
    config.natsTlsCa || config.natsTlsCert || config.natsTlsKey
      ? {
          ...(config.natsTlsCa ? { caFile: config.natsTlsCa } : {}),
          ...(config.natsTlsCert ? { certFile: config.natsTlsCert } : {}),
          ...(config.natsTlsKey ? { keyFile: config.natsTlsKey } : {}),
        }
      : undefined;
  const connectOptions = {
    servers: config.nats.length > 0 ? [...config.nats] : undefined,
    ...(config.natsUser ? { user: config.natsUser, pass: config.natsPass } : {}),
    ...(config.natsToken ? { token: config.natsToken } : {}),
    nkeySeed: await readSecret(platform, "natsNkeySeedFile", config.natsNkeySeedFile),
    creds: await readSecret(platform, "natsCredsFile", config.natsCredsFile),
    tls,
    name: `trendwire ${config.actors.join(",")}#${config.instance}`,
    clock,
    streamDefaults: {
      storage: config.streamStorage as "file" | "memory",
      replicas: config.streamReplicas,
      maxAgeMs: config.streamMaxAgeMs,
      maxBytes: config.streamMaxBytes,
      duplicateWindowMs: config.duplicateWindowMs,
    },
    log: (message: string, detail?: unknown) => log.warn(message, detail === undefined ? undefined : { detail }),
  };
  // NATS may come up after us (a node booting, a server restarting): keep trying for a while.
  const transport = await retrying("connecting to NATS", () => NatsTransport.connect(connectOptions), log);
  log.debug("connected to NATS", { servers: config.nats });
  const checkpoints = await retrying(
    "opening the checkpoint bucket",
    () => KvCheckpointStore.open(transport, { storage: config.streamStorage as "file" | "memory", replicas: config.streamReplicas }),
    log,
  );
  log.debug("checkpoint bucket open");
  return { kind: "nats", transport, checkpoints };
}
