/**
 * Trendwire's settings: every field once, with its default, environment variable and flag.
 * `trendwire run --help` and the README's configuration table are generated from this.
 */
import { loadConfig, type ConfigOf, type ConfigSources, type ConfigSpec } from "../runtime/core/config.ts";
import { detectorConfig, type DetectorConfig } from "../actors/detect/detector.ts";
import type { ForecastBackend } from "../actors/detect/tf_loader.ts";

export const actorKinds = ["ingest", "decode", "aggregate", "detect", "persist", "trends"] as const;
export type ActorKind = (typeof actorKinds)[number];

export const configSpec = {
  port: { type: "int", default: 8080, min: 0, max: 65535, env: "TW_PORT", flag: "port", description: "HTTP port of the ingest and trends edge (0 picks a free port)" },
  host: { type: "string", default: "0.0.0.0", env: "TW_HOST", flag: "host", description: "Address the HTTP edge listens on" },
  dataDir: { type: "string", default: "./data", env: "TW_DATA_DIR", flag: "data-dir", description: "Embedded mode: the transport log, checkpoints and archived objects live here" },
  actors: { type: "list", default: [...actorKinds], values: actorKinds, env: "TW_ACTORS", flag: "actors", description: "Actor kinds this process runs (comma-separated)" },
  instance: { type: "int", default: 0, min: 0, env: "TW_INSTANCE", flag: "instance", description: "Index of this instance among instances of its kinds (partition ownership)" },
  instances: { type: "int", default: 1, min: 1, env: "TW_INSTANCES", flag: "instances", description: "Instances of the partitioned kinds (aggregate, detect)" },
  partitions: { type: "int", default: 0, min: 0, max: 4096, env: "TW_PARTITIONS", flag: "partitions", description: "Partitions of tw.events and tw.agg (stable hash of stream and key); 0: 16 over NATS, embedded the count the data directory started with (1 for a new one)" },
  windowMs: { type: "int", default: 10_000, min: 10, env: "TW_WINDOW_MS", flag: "window-ms", description: "Tumbling window length (ms) for every stream" },
  streamWindowMs: { type: "map", default: {}, env: "TW_STREAM_WINDOW_MS", flag: "stream-window-ms", description: "Per-stream window lengths, e.g. clicks=60000,errors=5000" },
  maxOutOfOrderMs: { type: "int", default: 2_000, min: 0, env: "TW_MAX_OUT_OF_ORDER_MS", flag: "max-out-of-order-ms", description: "Watermark lag behind the newest event time (ms)" },
  allowedLatenessMs: { type: "int", default: 0, min: 0, env: "TW_ALLOWED_LATENESS_MS", flag: "allowed-lateness-ms", description: "How long a closed window still takes events, re-emitting a revision (ms)" },
  idleTimeoutMs: { type: "int", default: 0, min: 0, env: "TW_IDLE_TIMEOUT_MS", flag: "idle-timeout-ms", description: "Quiet time after which a stream's watermark follows the wall clock (ms; 0 = the window length)" },
  maxOpenWindows: { type: "int", default: 1_000_000, min: 1, env: "TW_MAX_OPEN_WINDOWS", flag: "max-open-windows", description: "Open windows held by one aggregate instance at most" },
  maxIdleStreams: { type: "int", default: 10_000, min: 1, env: "TW_MAX_IDLE_STREAMS", flag: "max-idle-streams", description: "Streams holding no window whose watermark aggregate keeps in each partition it owns; beyond it the least recently active are forgotten (see Known limits)" },
  detectThreshold: { type: "number", default: 0.85, min: 0.5, max: 0.999, env: "TW_DETECT_THRESHOLD", flag: "detect-threshold", description: "Score at which a window is a trend (0.85 ≈ p ≤ 2e-6, tuned on NAB; 0.8 ≈ p ≤ 1e-4)" },
  detectWarmupWindows: { type: "int", default: 8, min: 1, env: "TW_DETECT_WARMUP", flag: "detect-warmup", description: "Windows a key must have before it can signal" },
  detectMinDelta: { type: "number", default: 5, min: 0, env: "TW_DETECT_MIN_DELTA", flag: "detect-min-delta", description: "Smallest absolute change over expected that can signal (counts)" },
  detectModel: { type: "enum", default: "wasm", values: ["wasm", "cpu", "off"], env: "TW_DETECT_MODEL", flag: "detect-model", description: "Forecast vote: a TensorFlow.js model per stream on this backend (wasm or cpu), or off (statistical detectors only)" },
  detectMaxKeys: { type: "int", default: 100_000, min: 1, env: "TW_DETECT_MAX_KEYS", flag: "detect-max-keys", description: "Keys with detector state per detect instance (the most active; see Known limits)" },
  maxBodyBytes: { type: "int", default: 10 * 1024 * 1024, min: 1024, env: "TW_MAX_BODY_BYTES", flag: "max-body-bytes", description: "Largest request body or WebSocket frame (bytes)" },
  maxEventsPerRequest: { type: "int", default: 10_000, min: 1, env: "TW_MAX_EVENTS_PER_REQUEST", flag: "max-events-per-request", description: "Most events in one request or frame (decode reads a request of up to this many, at least 100 000, from its bytes on a redelivery)" },
  maxInFlight: { type: "int", default: 256, min: 1, env: "TW_MAX_IN_FLIGHT", flag: "max-in-flight", description: "Batches being written at once before ingest answers 429" },
  wsMaxInFlight: { type: "int", default: 8, min: 1, env: "TW_WS_MAX_IN_FLIGHT", flag: "ws-max-in-flight", description: "Frames processed at once per WebSocket before the server stops reading it" },
  streamMaxBytes: { type: "int", default: 64 * 1024 * 1024, min: 1024 * 1024, env: "TW_STREAM_MAX_BYTES", flag: "stream-max-bytes", description: "Unacknowledged bytes per stream (the embedded log's, or a JetStream stream's max_bytes) before ingest answers 503; stages that acknowledge at checkpoints (aggregate, detect, persist) checkpoint before they hold a quarter of it" },
  duplicateWindowMs: { type: "int", default: 120_000, min: 1000, env: "TW_DUPLICATE_WINDOW_MS", flag: "duplicate-window-ms", description: "How long an Idempotency-Key / message id is remembered (ms)" },
  syncIntervalMs: { type: "int", default: 0, min: 0, env: "TW_SYNC_INTERVAL_MS", flag: "sync-interval-ms", description: "Embedded transport: least time between two fsyncs of the log (ms; 0: each fsync takes what was written while the previous one ran)" },
  trendsActiveForMs: { type: "int", default: 60_000, min: 1000, env: "TW_TRENDS_ACTIVE_MS", flag: "trends-active-ms", description: "A key stays in GET /v1/trends this long after its last signal (ms)" },
  transport: { type: "enum", default: "embedded", values: ["embedded", "nats"], env: "TW_TRANSPORT", flag: "transport", description: "embedded: in-process log under --data-dir; nats: NATS JetStream (set by --nats too)" },
  nats: { type: "list", default: [], env: "TW_NATS", flag: "nats", description: "NATS server URLs (comma-separated); setting it selects the nats transport" },
  natsUser: { type: "string", default: "", optional: true, env: "TW_NATS_USER", flag: "nats-user", description: "NATS user (with --nats-pass)" },
  natsPass: { type: "string", default: "", optional: true, env: "TW_NATS_PASS", flag: "nats-pass", description: "NATS password" },
  natsToken: { type: "string", default: "", optional: true, env: "TW_NATS_TOKEN", flag: "nats-token", description: "NATS token" },
  natsNkeySeedFile: { type: "string", default: "", optional: true, env: "TW_NATS_NKEY_SEED_FILE", flag: "nats-nkey-seed-file", description: "File holding an NKey seed" },
  natsCredsFile: { type: "string", default: "", optional: true, env: "TW_NATS_CREDS_FILE", flag: "nats-creds-file", description: "NATS credentials (.creds) file" },
  natsTlsCa: { type: "string", default: "", optional: true, env: "TW_NATS_TLS_CA", flag: "nats-tls-ca", description: "CA certificate file for TLS to NATS" },
  natsTlsCert: { type: "string", default: "", optional: true, env: "TW_NATS_TLS_CERT", flag: "nats-tls-cert", description: "Client certificate file for TLS to NATS" },
  natsTlsKey: { type: "string", default: "", optional: true, env: "TW_NATS_TLS_KEY", flag: "nats-tls-key", description: "Client key file for TLS to NATS" },
  streamStorage: { type: "enum", default: "file", values: ["file", "memory"], env: "TW_STREAM_STORAGE", flag: "stream-storage", description: "JetStream storage of the pipeline's streams" },
  streamReplicas: { type: "int", default: 1, min: 1, max: 5, env: "TW_STREAM_REPLICAS", flag: "stream-replicas", description: "JetStream replicas of the pipeline's streams" },
  streamMaxAgeMs: { type: "int", default: 0, min: 0, env: "TW_STREAM_MAX_AGE_MS", flag: "stream-max-age-ms", description: "JetStream: discard messages older than this even if unconsumed (ms; 0 = never)" },
  ackWaitMs: { type: "int", default: 30_000, min: 2_000, env: "TW_ACK_WAIT_MS", flag: "ack-wait-ms", description: "A message not acknowledged this long after delivery is delivered again (ms)" },
  directIo: { type: "enum", default: "auto", values: ["auto", "off"], env: "TW_DIRECT_IO", flag: "direct-io", description: "Embedded: write the log, archive objects and large checkpoints around the page cache (O_DIRECT; auto: on Node where the file system takes it, see README, Disk writes); off: through the page cache" },
  stagesThread: { type: "enum", default: "auto", values: ["auto", "on", "off"], env: "TW_STAGES_THREAD", flag: "stages-thread", description: "Embedded: decode, aggregate, detect, persist and the durable log on a worker thread, ingest and HTTP on the main one (when the process runs an HTTP edge and a stage; auto: with 2+ CPUs)" },
  heapGrowthPercent: { type: "int", default: 200, min: 0, max: 1000, env: "TW_HEAP_GROWTH_PERCENT", flag: "heap-growth-percent", description: "How far V8's old generation grows past what the last full garbage collection kept before the next starts (%, every thread; 0: V8 chooses by its measure of collection speed; see README, Memory). Node sets it at start; Deno takes it on its command line (--v8-flags=--heap-growing-percent=N; deno task trendwire passes 200)" },
  metricsMaxSeries: { type: "int", default: 1000, min: 1, env: "TW_METRICS_MAX_SERIES", flag: "metrics-max-series", description: "Series a counter keeps at most on each thread; later label sets (more distinct streams, say) are counted together, every label (other), so sums stay exact" },
  logLevel: { type: "enum", default: "info", values: ["debug", "info", "warn", "error"], env: "TW_LOG_LEVEL", flag: "log-level", description: "Structured log level (JSON lines on stderr)" },
  shutdownTimeoutMs: { type: "int", default: 30_000, min: 1000, env: "TW_SHUTDOWN_TIMEOUT_MS", flag: "shutdown-timeout-ms", description: "Time allowed for draining on SIGTERM before exiting anyway (ms)" },
} satisfies ConfigSpec;

export type TrendwireConfig = ConfigOf<typeof configSpec>;

export function trendwireConfig(sources: ConfigSources = {}): TrendwireConfig {
  return loadConfig(configSpec, sources);
}

/** The data directory, without trailing slashes (paths under it are joined with "/"). */
export function dataDirOf(config: TrendwireConfig): string {
  return config.dataDir.replace(/\/+$/, "");
}

/** Fields of the spec that configure the detector (what `trendwire detect` honours). */
export const detectorFields = ["detectThreshold", "detectWarmupWindows", "detectMinDelta", "detectModel"] as const;

/** The forecast model of a run (`--detect-model`): the same for the live detect actor and `trendwire detect`. */
export function detectModel(config: TrendwireConfig): ForecastBackend | "off" {
  return config.detectModel as ForecastBackend | "off"; // one of the spec's values, checked on load
}

/** The detector settings of a run: the same for the live detect actor and `trendwire detect`. */
export function detectorSettings(config: TrendwireConfig, windowMs = config.windowMs): DetectorConfig {
  return detectorConfig({
    threshold: config.detectThreshold,
    warmupWindows: config.detectWarmupWindows,
    minDelta: config.detectMinDelta,
    windowMs,
  });
}
