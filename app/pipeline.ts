/**
 * The composition root: builds the transport, the actor system and the supervision tree for
 * the actor kinds this process runs, and the HTTP edge in front of them.
 *
 * Supervision (declared here, implemented once in runtime/core/supervisor.ts): one_for_one,
 * at most 10 restarts in 60 s with backoff from 100 ms to 5 s, then escalation, which ends the
 * process with a non-zero exit. Children start downstream first (persist … decode, then the
 * edge) so that consumers exist before producers, and stop in reverse: the edge stops taking
 * input, then each stage drains what is already accepted before it stops.
 */
import type { Platform, HttpServer } from "../runtime/platform/platform.ts";
import type { Clock } from "../runtime/core/clock.ts";
import type { Logger } from "../runtime/core/log.ts";
import type { Transport } from "../runtime/transport/transport.ts";
import type { ChildSpec, Supervisor } from "../runtime/core/supervisor.ts";
import { ActorSystem } from "../runtime/core/system.ts";
import { MetricsRegistry, seriesBy } from "../runtime/core/metrics.ts";
import { createLogger } from "../runtime/core/log.ts";
import { FileCheckpointStore } from "../runtime/store/checkpoint_store.ts";
import { LocalDirObjectStore, type ObjectStore } from "../runtime/store/object_store.ts";
import { ownedPartitions } from "../runtime/core/partitions.ts";
import { decodeActor, type DecodeConfig } from "../actors/decode/decode.ts";
import { aggregateActor } from "../actors/aggregate/aggregate.ts";
import { detectActor } from "../actors/detect/detect.ts";
import { persistActor } from "../actors/persist/persist.ts";
import { trendsFeedActor } from "../actors/trends/feed.ts";
import { trendsRoutes } from "../actors/trends/routes.ts";
import { TrendsView, defaultTrendsViewConfig } from "../actors/trends/view.ts";
import { ingestEdge } from "../actors/ingest/ingest.ts";
import { defaultIngestLimits } from "../actors/ingest/accept.ts";
import type { RawWriterOptions } from "../actors/ingest/raw_writer.ts";
import { dataDirOf, detectModel, detectorSettings, type ActorKind, type TrendwireConfig } from "./config.ts";
import { dataFileSystem, openTransport, usesNats } from "./transport.ts";
import { retrying } from "./retry.ts";
import type { ActorBehaviour } from "../runtime/core/actor.ts";
import { streamSpecs } from "./streams.ts";
import { InProcessTransport } from "../runtime/transport/in_process.ts";
import { httpEdge } from "./edge.ts";
import { startStagesThread, wantsStagesThread, type StagesThread } from "./stages_thread.ts";
import { withPartitions } from "./partition_count.ts";
import type { Hono } from "hono";
import type { DirectRoute } from "../runtime/http/direct_route.ts";

export interface PipelineOptions {
  clock?: Clock;
  log?: Logger;
  /** Defaults to the one configuration chooses (see app/transport.ts); checkpoints then go to files. */
  transport?: Transport;
  /** Defaults to the local directory `<dataDir>/objects`. */
  store?: ObjectStore;
  /** Called when the supervision tree gives up (restart intensity exceeded). */
  onEscalate?(error: Error): void;
  /**
   * The embedded log writes and syncs on this thread instead of the I/O pool: set by the stages
   * thread (stages_worker.ts). With one thread for everything (stages thread off) the edge
   * would stall on every sync, so it stays off there.
   */
  blockingLog?: boolean;
  /**
   * How long after the embedded log failed to go on answering (503) before escalating. Defaults
   * to ESCALATION_GRACE_MS; the stages thread passes 0, since the main thread, which answers,
   * waits instead.
   */
  logFailureGraceMs?: number;
}

export interface Pipeline {
  readonly system: ActorSystem;
  readonly supervisor: Supervisor;
  readonly transport: Transport;
  readonly store: ObjectStore;
  readonly view: TrendsView | undefined;
  /** The HTTP edge, when this process runs ingest or trends. */
  readonly server: HttpServer | undefined;
  /** Orderly shutdown: stop intake, drain, flush, close the transport. */
  stop(): Promise<void>;
  /** Why this process can store nothing more (its durable log or its stages thread failed), if so: it escalates, and a stop before that should end it non-zero too. */
  readonly failure: Error | undefined;
}

/** The behaviours of the pipeline's actor kinds (trends aside), for the given partitions. */
function stageBehaviours(config: TrendwireConfig, owned: number[], system: ActorSystem, store: ObjectStore): Map<ActorKind, ActorBehaviour<any>> {
  const out = new Map<ActorKind, ActorBehaviour<any>>();
  out.set("persist", persistActor({ store, encode: (head, records) => system.codec.encodeWithList(head, "records", records) }));
  const detector = detectorSettings(config);
  out.set("detect", detectActor({ partitions: config.partitions, owned, detector, maxKeys: config.detectMaxKeys, jsonSignals: true, model: detectModel(config) }));
  const perStream: Record<string, { sizeMs: number }> = {};
  for (const [stream, sizeMs] of Object.entries(config.streamWindowMs)) perStream[stream] = { sizeMs };
  out.set(
    "aggregate",
    aggregateActor({
      partitions: config.partitions,
      owned,
      windows: {
        defaults: {
          sizeMs: config.windowMs,
          maxOutOfOrderMs: config.maxOutOfOrderMs,
          allowedLatenessMs: config.allowedLatenessMs,
          ...(config.idleTimeoutMs > 0 ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
        },
        perStream,
        maxOpenWindows: config.maxOpenWindows,
        maxIdleStreams: config.maxIdleStreams,
      },
      tickMs: 1000,
      maxLateListed: 1000,
    }),
  );
  out.set("decode", decodeActor(decodeSettings(config, (b) => system.codec.decodeValue(b))));
  return out;
}

/**
 * Embedded: what each stream holds until its consumers acknowledge it, the figure ingest's 503
 * answers to (streamMaxBytes). Over NATS, JetStream reports it (`trendwire streams`).
 */
function collectStreamBacklog(transport: InProcessTransport, config: TrendwireConfig, metrics: MetricsRegistry): void {
  const bytes = metrics.gauge("tw_stream_bytes", "Embedded: bytes a stream holds until every consumer acknowledges them (ingest answers 503 at streamMaxBytes)");
  const messages = metrics.gauge("tw_stream_messages", "Embedded: messages a stream holds until every consumer acknowledges them");
  metrics.collect(() => {
    for (const { name } of streamSpecs(config)) {
      const info = transport.streamInfo(name);
      if (!info) continue;
      bytes.set(info.bytes, { stream: name });
      messages.set(info.messages, { stream: name });
    }
  });
}

/**
 * How ingest groups requests into raw messages. Embedded, one write of a stream is in flight at
 * a time: the log syncs one group after another, so a second write would not overlap the
 * first, only split the group, and every message costs decode, the event log and aggregate
 * its own overhead (one-event requests at 64 connections: 4–17 % more requests/s and ~7 % less
 * CPU per request in two sets of alternating runs; batches alike). JetStream stores publishes
 * in flight concurrently: two there. A group that fills a whole message cannot grow by
 * waiting, so embedded it goes as a second write (maxWritesWhenFull). Embedded, the write after
 * a convoy's group regroups for two turns of the event loop (RawWriterOptions.regroupTurns;
 * measured embedded only, so off over NATS).
 */
export function rawGrouping(config: TrendwireConfig): Partial<RawWriterOptions> {
  return usesNats(config)
    ? { maxWritesPerStream: 2, maxWritesWhenFull: 2, regroupTurns: 0 }
    : { maxWritesPerStream: 1, maxWritesWhenFull: 2, regroupTurns: 2 };
}

/**
 * Decode's settings. It reads a part from its bytes whenever the part comes without ingest's
 * parsed events (a redelivery, a restart, a producer publishing over NATS), so it must take
 * at least as many events as ingest accepts in one request: a 202 is never dead-lettered later.
 */
export function decodeSettings(config: TrendwireConfig, decodeMsgpack: (bytes: Uint8Array) => unknown): DecodeConfig {
  return { partitions: config.partitions, maxEventsPerBatch: Math.max(100_000, config.maxEventsPerRequest), decodeMsgpack };
}

export async function startPipeline(settings: TrendwireConfig, platform: Platform, options: PipelineOptions = {}): Promise<Pipeline> {
  const log = options.log ?? createLogger({ level: settings.logLevel as "info" });
  await platform.fs.mkdirp(dataDirOf(settings));
  const config = await withPartitions(settings, platform);
  const injected = options.transport !== undefined || options.clock !== undefined || options.store !== undefined;
  // Embedded on 2+ CPUs: the stages run on a thread of their own (stages_thread.ts), this one
  // keeps the edge and reaches the log through it.
  const stagesThread = wantsStagesThread(config, platform.cpuCount(), injected) ? await startStagesThread(config, platform, log) : undefined;
  try {
    return await startThisThread(config, platform, options, log, stagesThread);
  } catch (err) {
    // E.g. the HTTP port is taken: the stages thread must not outlive the failed start.
    await stagesThread?.stop().catch(() => {});
    throw err;
  }
}

/**
 * How long a process that can store nothing more (its durable log failed, or its stages thread)
 * goes on answering before it escalates: the requests refused meanwhile get their 503, not a
 * reset connection.
 */
export const ESCALATION_GRACE_MS = 1000;

/** What runs on this thread: everything, or the edge with the stages on `stagesThread`. */
async function startThisThread(config: TrendwireConfig, platform: Platform, options: PipelineOptions, log: Logger, stagesThread: StagesThread | undefined): Promise<Pipeline> {
  const dataDir = dataDirOf(config);
  const runs = new Set(stagesThread ? config.actors.filter((k) => k === "ingest" || k === "trends") : config.actors);
  // The embedded log refuses every publish once a write or sync of it failed, and only a restart
  // recovers it (cutting off what the failed write may have left): not ready from then on, and
  // the process ends non-zero like an escalation, for its supervisor (Nomad, systemd) to restart.
  // A moment later (ESCALATION_GRACE_MS), so the requests the failure refused get their 503.
  let storageFailed: Error | undefined;
  // Escalations waiting out their grace; a stop cancels them and any later one (its owner
  // sees `failure`: main.ts then exits non-zero all the same).
  const graceTimers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;
  const escalateAfter = (graceMs: number, reason: Error) => {
    if (stopped) return;
    if (graceMs <= 0) return options.onEscalate?.(reason);
    const timer = setTimeout(() => {
      graceTimers.delete(timer);
      options.onEscalate?.(reason);
    }, graceMs);
    graceTimers.add(timer);
  };
  const onLogFailure = (stream: string, err: unknown) => {
    if (storageFailed) return;
    const failed = (storageFailed = new Error(`the durable log of ${stream} failed (${err instanceof Error ? err.message : String(err)}); restart to recover`, { cause: err }));
    log.error("durable log failed", { stream, err });
    escalateAfter(options.logFailureGraceMs ?? ESCALATION_GRACE_MS, failed);
  };
  const opened = options.transport
    ? { transport: options.transport, checkpoints: new FileCheckpointStore(dataFileSystem(config, platform), `${dataDir}/checkpoints`) }
    : stagesThread
      ? { transport: stagesThread.transport, checkpoints: new FileCheckpointStore(dataFileSystem(config, platform), `${dataDir}/checkpoints`) }
      : await openTransport(config, platform, log, { clock: options.clock, blockingLog: options.blockingLog, onLogFailure });
  const { transport } = opened;
  log.debug("transport open", { transport: usesNats(config) && !options.transport ? "nats" : "embedded" });
  // A NATS server may not answer yet; the embedded log's errors (an unusable data directory) do
  // not heal, so start-up fails at once with the reason.
  const attempts = usesNats(config) || options.transport ? undefined : 1;
  await retrying("creating the streams", () => transport.ensureStreams(streamSpecs(config)), log, attempts);
  log.debug("streams ensured");
  const store = options.store ?? new LocalDirObjectStore(dataFileSystem(config, platform), `${dataDir}/objects`);
  const metrics = new MetricsRegistry({ maxCounterSeries: config.metricsMaxSeries });
  // A checkpointing stage (aggregate, detect, persist) acknowledges what it holds by a quarter of a
  // stream's bytes, so what it holds never fills the stream on its own (ingest's 503).
  const system = new ActorSystem({
    transport, clock: options.clock, log, metrics, checkpoints: opened.checkpoints, ackWaitMs: config.ackWaitMs,
    maxHeldBytes: Math.floor(config.streamMaxBytes / 4),
  });
  metrics.collect(() => metrics.gauge("process_resident_memory_bytes", "Resident set size").set(platform.memoryRss()));
  if (transport instanceof InProcessTransport) collectStreamBacklog(transport, config, metrics);

  // Every durable consumer of the pipeline exists before anything is published, whichever
  // process starts first (JetStream keeps messages only for consumers that exist).
  const allPartitions = ownedPartitions(0, 1, config.partitions);
  if (!stagesThread) {
    const stages = [...stageBehaviours(config, allPartitions, system, store).values()];
    await retrying("creating the pipeline's consumers", () => system.ensureConsumers(stages), log, attempts);
    log.debug("pipeline consumers ensured");
  }

  const owned = ownedPartitions(config.instance, config.instances, config.partitions);
  const suffix = config.instances > 1 ? `-${config.instance}` : "";
  const behaviours = stageBehaviours(config, owned, system, store);
  const view = runs.has("trends") ? new TrendsView({ ...defaultTrendsViewConfig, activeForMs: config.trendsActiveForMs }) : undefined;
  const children: ChildSpec[] = [];
  // Downstream first: consumers exist before their producers start.
  for (const kind of ["persist", "trends", "detect", "aggregate", "decode"] as const) {
    if (!runs.has(kind)) continue;
    if (kind === "trends") children.push(system.actor(`trends${suffix}`, trendsFeedActor(view!, `trends-view${suffix}`)));
    else children.push(system.actor(`${kind}${suffix}`, behaviours.get(kind)!));
  }

  let ready = false;
  let server: HttpServer | undefined;
  let firstServer: HttpServer | undefined;
  if (runs.has("ingest") || view) {
    const routes: Hono[] = [];
    const direct: DirectRoute[] = [];
    if (runs.has("ingest")) {
      const accepted = seriesBy(metrics.counter("tw_events_accepted_total", "Events accepted (202) by stream and source"), ["stream", "source"]);
      const ingest = ingestEdge({
        publish: (subject, type, body, opts) => system.publish(subject, type, body, opts),
        decodeMsgpack: (b) => system.codec.decodeValue(b),
        now: () => system.clock.now(),
        log: log.child({ actor: "ingest" }),
        limits: { ...defaultIngestLimits, maxBodyBytes: config.maxBodyBytes, maxEventsPerRequest: config.maxEventsPerRequest, maxInFlight: config.maxInFlight },
        grouping: rawGrouping(config),
        nextTurn: (run) => platform.afterPendingMessages(run),
        metrics,
        onAccepted: (stream, events, source) => accepted(stream, source).inc(events),
        upgradeWebSocket: platform.http.upgradeWebSocket,
        pauseWebSocket: (raw) => platform.http.pauseWebSocket(raw),
        resumeWebSocket: (raw) => platform.http.resumeWebSocket(raw),
        readBody: (request, env, max) => platform.http.readBody(request, env, max),
        wsMaxInFlight: config.wsMaxInFlight,
      });
      routes.push(ingest.routes);
      direct.push(...ingest.direct);
    }
    if (view) routes.push(trendsRoutes({ view, clock: system.clock, upgradeWebSocket: platform.http.upgradeWebSocket, heartbeatMs: 15_000 }));
    const edge = httpEdge({ routes, direct, log, metrics, moreMetrics: stagesThread && (() => stagesThread.metrics()), isReady: () => ready && storageFailed === undefined });
    const serveEdge = () => platform.http.serve({ port: config.port, hostname: config.host, fetch: edge.app.fetch, direct: edge.direct, maxWebSocketPayload: config.maxBodyBytes });
    // Bound before the supervisor starts, so a port that is taken fails start-up at once with
    // the reason; as a child's crash it was retried ten times over ~20 s, after a "started".
    firstServer = await serveEdge();
    children.push({
      id: "http-edge",
      start: async () => {
        const s = firstServer ?? (await serveEdge());
        firstServer = undefined;
        server = s;
        let resolveExit!: (e: Error | undefined) => void;
        const exited = new Promise<Error | undefined>((r) => (resolveExit = r));
        return {
          exited,
          stop: async () => {
            view?.closeSubscribers();
            await s.close();
            resolveExit(undefined);
          },
        };
      },
    });
  }

  const supervisor = await system
    .startSupervisor("root", {
      strategy: "one_for_one",
      intensity: 10,
      periodMs: 60_000,
      backoff: { initialMs: 100, maxMs: 5_000 },
      drainTimeoutMs: config.shutdownTimeoutMs,
      children,
    })
    .catch(async (err) => {
      await firstServer?.close();
      throw err;
    });
  void supervisor.exited.then((reason) => {
    if (reason) options.onEscalate?.(reason);
  });
  let stagesFailed: Error | undefined;
  void stagesThread?.failed.then((reason) => {
    ready = false; // nothing can be stored any more: /readyz says so
    stagesFailed = reason;
    escalateAfter(ESCALATION_GRACE_MS, reason);
  });
  ready = true;
  log.info("trendwire started", { actors: stagesThread ? config.actors : [...runs], port: server?.port, dataDir, partitions: config.partitions, platform: platform.name, ...(stagesThread ? { stagesThread: true } : {}) });

  let stopping: Promise<void> | undefined;
  return {
    system,
    supervisor,
    transport,
    store,
    view,
    get server() {
      return server;
    },
    get failure() {
      return storageFailed ?? stagesFailed;
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        stopped = true;
        for (const timer of graceTimers) clearTimeout(timer);
        graceTimers.clear();
        // One budget for both threads: main.ts ends the process shortly after it anyway.
        const deadline = Date.now() + config.shutdownTimeoutMs;
        try {
          await supervisor.stop();
        } finally {
          await stagesThread?.stop(Math.max(1_000, deadline - Date.now()));
        }
        await transport.close();
        log.info("trendwire stopped");
      })();
      return stopping;
    },
  };
}
