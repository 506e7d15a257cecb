/**
 * The embedded pipeline on two threads: ingest and the HTTP edge (and the trends view) stay on
 * the main thread, while decode, aggregate, detect and persist run on a worker thread
 * (stages_worker.ts) that owns the durable log and the archive. The main thread reaches the
 * log through a PortTransport, so ingest's 202 still waits for the batch to be fsync'd, and
 * the trends feed still consumes `tw.trends`. One process, one data directory, no servers:
 * only the work is split, because on one thread the stages after ingest took most of its time.
 *
 * The worker's logs and metrics come out through the main thread (its /metrics merges the
 * worker's registry); a worker that fails or whose supervision gives up ends the process
 * non-zero like any escalation.
 */
import type { Platform } from "../runtime/platform/platform.ts";
import type { Logger, LogFields, LogLevel } from "../runtime/core/log.ts";
import type { MetricFamilySnapshot } from "../runtime/core/metrics.ts";
import { PortTransport, type ValueCodec } from "../runtime/transport/port_transport.ts";
import { isEnvelope, MessageCodec, type Envelope } from "../runtime/codec/codec.ts";
import { isPackedColumns, packColumns, type EventColumns } from "../schemas/mod.ts";
import { TransportUnavailableError } from "../runtime/core/errors.ts";
import { usesNats } from "./transport.ts";
import type { ActorKind, TrendwireConfig } from "./config.ts";

/** The kinds that move to the stages thread. */
export const stageKinds: readonly ActorKind[] = ["decode", "aggregate", "detect", "persist"];

/**
 * Values crossing between the threads. A message whose value carries event columns (a raw
 * batch: ingest's parsed events, which spare decode a second parse) crosses with those columns
 * alone, packed (PackedColumns); the other side decodes the rest of the value from the
 * message's bytes, which hold it already (a local body is the encoded body plus its columns),
 * and attaches the columns as they came, packed (`packed`), which is how decode reads them.
 * So a raw batch's request bodies cross once, in the bytes, not a second time in the value,
 * and a group of one-event requests clones as a few arrays instead of several objects each.
 * The body's `parts` are decoded only if something reads them: decode reads the columns, and
 * persist archives the body's bytes as published (publishedBytesOf), so on this path nothing
 * does.
 */
const envelopes = new MessageCodec();

export const crossThreadValues: ValueCodec = {
  pack(value) {
    const columns = bodyColumns(value);
    return columns === undefined ? value : packColumns(columns as EventColumns[]);
  },
  unpack(packed, data) {
    if (!isPackedColumns(packed)) return packed;
    const envelope = envelopes.decodeShallow<Record<string, unknown>>(data, ["parts"]);
    // Left packed: decode reads them as they are (actors/decode/decode.ts).
    envelope.body.packed = packed;
    return envelope satisfies Envelope;
  },
};

/** The `columns` list of an envelope's body, if it has one. */
function bodyColumns(value: unknown): unknown[] | undefined {
  if (!isEnvelope(value)) return undefined;
  const body = value.body as { columns?: unknown } | null;
  return typeof body === "object" && body !== null && Array.isArray(body.columns) ? body.columns : undefined;
}

/** Main thread → stages thread. */
export type StagesRequest =
  | { t: "init"; config: TrendwireConfig; port: MessagePort }
  | { t: "metrics"; id: number }
  | { t: "stop" };

/** Stages thread → main thread. */
export type StagesReply =
  | { t: "started" }
  | { t: "failed"; message: string }
  | { t: "escalated"; message: string }
  | { t: "log"; line: string }
  | { t: "metrics"; id: number; families: MetricFamilySnapshot[] }
  | { t: "stopped" };

export interface StagesThread {
  /** The stages thread's transport, as this thread uses it. */
  readonly transport: PortTransport;
  /** The stages thread's metrics (empty once it is gone). */
  metrics(): Promise<MetricFamilySnapshot[]>;
  /** Settles when the thread fails or its supervision gives up. */
  readonly failed: Promise<Error>;
  /** Drains and stops the stages, then ends the thread; one that takes longer than `timeoutMs` (default shutdownTimeoutMs) is ended. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Whether this process runs its stages on a thread of their own: embedded transport, an edge
 * (ingest or trends) and at least one stage in this process, nothing injected by a caller
 * (tests that bring their own transport, clock or store run on one thread), and `stagesThread`
 * on, or auto with at least 2 CPUs.
 */
export function wantsStagesThread(config: TrendwireConfig, cpus: number, injected: boolean): boolean {
  if (config.stagesThread === "off" || injected || usesNats(config)) return false;
  const edge = config.actors.includes("ingest") || config.actors.includes("trends");
  if (!edge || !stageKinds.some((k) => config.actors.includes(k))) return false;
  return config.stagesThread === "on" || cpus >= 2;
}

/** Starts the stages of `config` on a worker thread; resolves once they run (or rejects why not). */
export async function startStagesThread(config: TrendwireConfig, platform: Platform, log: Logger): Promise<StagesThread> {
  const here = import.meta.url;
  const thread = platform.startThread(new URL(`./stages_worker${here.slice(here.lastIndexOf("."))}`, here));
  const channel = new MessageChannel();
  const transport = new PortTransport(channel.port1, crossThreadValues);
  const metricsCalls = new Map<number, (families: MetricFamilySnapshot[]) => void>();
  let nextId = 1;
  let gone = false;
  let onStarted!: (error?: Error) => void;
  const started = new Promise<Error | undefined>((resolve) => (onStarted = resolve));
  let onEscalated!: (error: Error) => void;
  const escalated = new Promise<Error>((resolve) => (onEscalated = resolve));
  let onStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (onStopped = resolve));
  const failed = Promise.race([thread.failed, escalated]);
  void failed.then((err) => {
    gone = true;
    onStarted(err);
    onStopped();
    transport.disconnect(new TransportUnavailableError(`the stages thread failed: ${err.message}`));
    for (const reply of metricsCalls.values()) reply([]);
    metricsCalls.clear();
  });

  thread.port.addEventListener("message", ({ data }) => {
    const m = data as StagesReply;
    switch (m.t) {
      case "started":
        return onStarted();
      case "failed":
        return onStarted(new Error(m.message));
      case "escalated":
        return onEscalated(new Error(m.message));
      case "log":
        return relayLog(log, m.line);
      case "metrics":
        metricsCalls.get(m.id)?.(m.families);
        metricsCalls.delete(m.id);
        return;
      case "stopped":
        return onStopped();
    }
  });
  thread.port.start?.();

  const stagesConfig: TrendwireConfig = { ...config, actors: config.actors.filter((k) => stageKinds.includes(k as ActorKind)), stagesThread: "off" };
  thread.port.postMessage({ t: "init", config: stagesConfig, port: channel.port2 } satisfies StagesRequest, [channel.port2]);
  const startError = await started;
  if (startError) {
    await thread.terminate();
    transport.disconnect(new TransportUnavailableError("the stages thread did not start"));
    channel.port1.close();
    // main.ts prints the cause after the message.
    throw new Error("the stages thread did not start", { cause: startError });
  }
  log.debug("stages thread started", { actors: stagesConfig.actors });

  return {
    transport,
    failed,
    metrics() {
      if (gone) return Promise.resolve([]);
      const id = nextId++;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          metricsCalls.delete(id);
          resolve([]);
        }, 2_000);
        metricsCalls.set(id, (families) => {
          clearTimeout(timer);
          resolve(families);
        });
        thread.port.postMessage({ t: "metrics", id } satisfies StagesRequest);
      });
    },
    async stop(timeoutMs = config.shutdownTimeoutMs) {
      if (!gone) {
        thread.port.postMessage({ t: "stop" } satisfies StagesRequest);
        // A thread that takes longer is ended: its unacknowledged input is delivered again on restart.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
        if ((await Promise.race([stopped, late])) === "late") log.error("the stages thread did not stop in time; ending it", { waitedMs: timeoutMs });
        clearTimeout(timer);
      }
      gone = true;
      await thread.terminate();
      // Anything still asking the stages' transport now fails at once instead of waiting.
      transport.disconnect(new TransportUnavailableError("the stages thread has stopped"));
    },
  };
}

/** A line the stages thread logged, written by this thread's logger (level and fields kept). */
function relayLog(log: Logger, line: string): void {
  let entry: LogFields;
  try {
    entry = JSON.parse(line) as LogFields;
  } catch {
    return log.warn("unreadable log line from the stages thread", { line });
  }
  // `t` stays among the fields: the line keeps the time the stages thread logged it.
  const { level, msg, ...fields } = entry;
  const write = log[(["debug", "info", "warn", "error"].includes(level as string) ? level : "info") as LogLevel];
  write(String(msg), fields);
}
