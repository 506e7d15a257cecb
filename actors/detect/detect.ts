/**
 * detect: scores every closed window (`tw.agg.<partition>`, the partitions this instance owns)
 * against its key's own history and publishes a trend signal on `tw.trends.<stream>.<key>`
 * (key encoded with encodeSubjectToken) when a key rises or falls beyond what that history
 * explains. The statistics live in detector.ts; this module keeps per-key state, bounded.
 * The durable signal is a MessagePack envelope `{v, type, id, ts, body: TrendSignal}`; a JSON
 * copy of the body goes live (unstored) to `tw.json.trends.<stream>.<key>` for subscribers
 * that prefer JSON.
 *
 * Memory bound: at most `maxKeys` keys keep detector state, chosen by activity (heavy_keys.ts):
 * a Count-Min sketch holds every key's decayed event count (half-life = the detector's
 * `halfLifeWindows`; a key with state is counted exactly instead), and a key gets state while
 * that is among the `maxKeys` highest (displacing the lightest only when ahead of it by more
 * than the sketch's error bound, so quiet keys of about equal activity do not keep trading
 * places), or at once when one window is a burst: at least twice the lightest such key's
 * typical window and improbable (Poisson p ≤ 1e-3) at that or its own. A key pushed out of the
 * top, or with no window for `idleWindows` windows, loses its state. A key
 * admitted with a credible sketch history of plain events (every value 1) starts from a prior
 * baseline (its typical window count, Poisson spread; baseline.ts `startFromPrior`), so a quiet
 * tail key that surges is admitted by the surge and signalled at once; any other starts cold.
 * Memory ≈ maxKeys × ~2.2 KB (a 1840-byte slot of float64 state incl. the long layer's 168-number
 * profile, state_slab.ts, plus its handle, entry, hash-table cells and heap slot) + 16·width·depth bytes of sketch (default width = 2·maxKeys, at least 4096, rounded up to a power of two,
 * depth 4: 16 MiB at maxKeys 100 000), whatever the number of distinct keys; see the detect
 * bench for measured RSS. The sketch is part of the checkpoint, so a restore decides admission
 * exactly as the run before it would have.
 *
 * Empty windows between two of a key's windows count as zeros. A window is scored once, at its
 * first emission that is not partial; revisions of an already scored window (late data) are
 * not scored again. It is scored at its start time (the hour-of-week profile reads it), as
 * `trendwire detect --csv` scores a row at its timestamp, so both give the same scores.
 */
import type { ActorBehaviour, MessageInput } from "../../runtime/core/actor.ts";
import { partitionInputs } from "../../runtime/core/partitions.ts";
import {
  encodeSubjectToken, MessageType, validateAggBatch, type AggBatch, type TrendSignal, type WindowAggregate,
} from "../../schemas/mod.ts";
import { startFromPrior } from "./baseline.ts";
import { scoreObservation, toObservation, type DetectorConfig, type KeyState } from "./detector.ts";
import { StateSlab } from "./state_slab.ts";
import { HeavyKeys, type Activity } from "./heavy_keys.ts";
import { pack, restore, type DetectSnapshot } from "./detect_checkpoint.ts";
import { StreamModels } from "./stream_models.ts";
import type { ForecastBackend } from "./tf_loader.ts";

export interface DetectConfig {
  partitions: number;
  owned: number[];
  detector: DetectorConfig;
  /** Keys with detector state at most: the most active ones (see the module comment). Defaults to 100 000. */
  maxKeys: number;
  /** Also send each signal as JSON, live and unstored, on `tw.json.trends.<stream>.<key>`. Defaults to true. */
  jsonSignals: boolean;
  /** A key with no window for longer than this many windows (`detector.windowMs` each) loses its state. Defaults to 300. */
  idleWindows?: number;
  /** Activity sketch counters per row (rounded up to a power of two). Defaults to 2 × maxKeys, at least 4096. */
  sketchWidth?: number;
  /** Activity sketch rows: an estimate exceeds its error bound with probability e^−depth. Defaults to 4. */
  sketchDepth?: number;
  /**
   * The forecast vote: a TensorFlow.js model per stream on this backend (stream_models.ts), or
   * "off" for the statistical detectors alone. Defaults to "off".
   */
  model?: ForecastBackend | "off";
  /** Streams with a model at most (the most recently active). Defaults to 64. */
  maxModelStreams?: number;
}

export const DEFAULT_IDLE_WINDOWS = 300;
export const DEFAULT_SKETCH_DEPTH = 4;
/** Below this width a few hundred keys would already share counters. */
const MIN_SKETCH_WIDTH = 4096;

const jsonHeaders = { "content-type": "application/json", "tw-type": MessageType.TrendSignal };
const utf8 = new TextEncoder();

export interface DetectState {
  /** Keys with detector state, by stream and key; `last` is the windowStart of the last scored window. */
  keys: HeavyKeys<KeyState>;
  /** Where their states live (one slot each). */
  slab: StateSlab;
  /** The streams' forecasters, when the model is on. */
  models?: StreamModels;
}



const MIN_CHECKPOINT_INTERVAL_MS = 1000;
const MAX_CHECKPOINT_INTERVAL_MS = 60_000;
/** Checkpoint interval per ms a checkpoint costs, so it takes ≈ 2.5 % of the time. */
const CHECKPOINT_COST_RATIO = 40;
/**
 * What saving a checkpoint is reckoned to cost (bytes/ms, ≈ 200 MB/s: an fsync'd file or
 * JetStream KV): packing copies nothing of the slab any more, so the bytes to write are most of
 * a checkpoint's cost.
 */
const SAVE_BYTES_PER_MS = 200_000;

/** The checkpoint interval after a checkpoint that cost `packMs` (packing plus saving, reckoned): 40×, within 1 s … 60 s. */
export function checkpointInterval(packMs: number): number {
  return Math.min(MAX_CHECKPOINT_INTERVAL_MS, Math.max(MIN_CHECKPOINT_INTERVAL_MS, CHECKPOINT_COST_RATIO * packMs));
}

export function detectActor(config: DetectConfig): ActorBehaviour<DetectState> {
  const idleWindows = config.idleWindows ?? DEFAULT_IDLE_WINDOWS;
  const heavyConfig = {
    capacity: config.maxKeys,
    width: config.sketchWidth ?? Math.max(MIN_SKETCH_WIDTH, 2 * config.maxKeys),
    depth: config.sketchDepth ?? DEFAULT_SKETCH_DEPTH,
    halfLifeMs: config.detector.halfLifeWindows * config.detector.windowMs,
    idleMs: idleWindows * config.detector.windowMs,
  };
  /** The window being recorded (read by startState; one function, not a closure per window). */
  let current: WindowAggregate;
  /** What the last checkpoint cost (ms packing, plus its bytes at SAVE_BYTES_PER_MS): the next one waits CHECKPOINT_COST_RATIO times that. */
  let packMs = 0;
  /** The models of the running incarnation: a restart after a crash frees them (tensors are not garbage collected). */
  let liveModels: StreamModels | undefined;
  /** A newly admitted key's state: from its sketch history if that is credible and counts what is scored. */
  // A key pushed out of the top k hands its slot over to the key admitted in its place.
  let slab: StateSlab;
  const startState = (before: Activity, evicted?: KeyState): KeyState => {
    const state: KeyState = evicted ? slab.reset(evicted) : slab.acquire();
    const windows = before.windows - before.windowsError;
    if (current.min === 1 && current.max === 1 && windows >= config.detector.warmupWindows) startFromPrior(state, before.events / before.windows, windows);
    return state;
  };
  return {
    kind: "detect",
    inputs: partitionInputs("tw.agg", config.owned, "detect").map(({ filter, group }) => ({
      filter,
      group,
      type: MessageType.AggBatch,
      validate: validateAggBatch,
      ack: "checkpoint" as const,
    })),
    // A full snapshot of many keys is costly (≈ 200 MB to write at 100 000 keys): checkpoint
    // often while that is cheap, rarely once it is not, so it stays a small share of the time.
    // Input stays held (and is redelivered after a crash) until the next checkpoint.
    get checkpointIntervalMs() {
      return checkpointInterval(packMs);
    },
    async init(ctx) {
      liveModels?.dispose();
      liveModels = undefined;
      slab = new StateSlab(config.maxKeys + 1); // + 1: see restore
      const states = slab;
      const keys = new HeavyKeys<KeyState>(heavyConfig, (state) => states.release(state));
      const snapshot = ctx.restored()?.snapshot as DetectSnapshot | undefined;
      restore(keys, slab, snapshot);
      if (config.model !== undefined && config.model !== "off") {
        liveModels = await StreamModels.load(config.model, config.maxModelStreams);
        if (snapshot !== undefined && !Array.isArray(snapshot) && snapshot.models) liveModels.restore(snapshot.models);
      }
      return { keys, slab, models: liveModels };
    },
    receive(state, input, ctx) {
      if (input.kind !== "message") return state;
      const batch = (input as MessageInput<AggBatch>).body;
      const scored = ctx.metrics.counter("tw_windows_scored_total", "Windows scored by detect");
      const signals = ctx.metrics.counter("tw_trend_signals_total", "Trend signals published, by stream and direction");
      const keys = state.keys;
      const slab = state.slab;
      const models = state.models;
      const byRank = keys.evictedByRank;
      const idle = keys.evictedIdle;
      let sketchOnly = 0;
      let scoredWindows = 0;
      for (const w of batch.windows) {
        if (w.partial) continue; // emitted early on shutdown; its final revision comes later
        const known = keys.get(w.stream, w.key);
        if (known && w.windowStart <= known.last) continue; // already scored (replay) or out of order
        if (!Number.isFinite(w.sum) || Math.abs(w.sum) > 1e15) {
          // Beyond what the detector's arithmetic represents exactly: count it, never score it.
          ctx.metrics.counter("tw_windows_unscorable_total", "Windows whose value detect cannot score (not finite or beyond ±1e15)").inc();
          continue;
        }
        current = w;
        const entry = keys.record(w.stream, w.key, w.windowStart, w.count, startState, known);
        if (!entry) {
          sketchOnly++;
          continue;
        }
        // A key idle past idleWindows was evicted by record() and comes back new (last = now).
        const gap = Math.max(0, Math.round((w.windowStart - entry.last) / (w.windowEnd - w.windowStart)) - 1);
        const judged = scoreObservation(slab.load(entry.value, w.windowStart), w.sum, config.detector, gap, w.windowStart, models?.get(w.stream));
        slab.store(entry.value);
        entry.last = w.windowStart;
        scoredWindows++;
        if (!judged.anomalous) continue; // most windows: no Observation (p, scores, wording) is made for them
        const obs = toObservation(judged, config.detector);
        const signal: TrendSignal = {
          stream: w.stream,
          key: w.key,
          windowStart: w.windowStart,
          windowEnd: w.windowEnd,
          observed: obs.observed,
          expected: obs.expected,
          spread: obs.spread,
          score: obs.score,
          threshold: obs.threshold,
          direction: obs.direction,
          detector: obs.detector,
          explanation: obs.explanation,
          emittedAt: ctx.clock.now(),
        };
        signals.inc({ stream: w.stream, direction: obs.direction });
        const token = encodeSubjectToken(w.key);
        ctx.publish(`tw.trends.${w.stream}.${token}`, MessageType.TrendSignal, signal, {
          id: `trend:${w.stream}:${w.windowStart}:${token}`,
          headers: { "content-type": "application/msgpack", "tw-type": MessageType.TrendSignal },
        });
        if (config.jsonSignals) ctx.notify(`tw.json.trends.${w.stream}.${token}`, utf8.encode(JSON.stringify(signal)), jsonHeaders);
      }
      if (scoredWindows > 0) scored.inc(undefined, scoredWindows);
      const evicted = ctx.metrics.counter("tw_detect_keys_evicted_total", "Keys whose detector state was dropped, by reason: rank (pushed out of the maxKeys most active) or idle");
      if (keys.evictedByRank > byRank) evicted.inc({ reason: "rank" }, keys.evictedByRank - byRank);
      if (keys.evictedIdle > idle) evicted.inc({ reason: "idle" }, keys.evictedIdle - idle);
      if (sketchOnly > 0) ctx.metrics.counter("tw_windows_sketch_only_total", "Windows of keys outside the maxKeys most active: counted in the activity sketch, not scored").inc(undefined, sketchOnly);
      ctx.metrics.gauge("tw_detect_keys", "Keys with detector state").set(keys.size, { actor: ctx.name });
      if (models) ctx.metrics.gauge("tw_detect_model_streams", "Streams with a forecast model").set(models.size, { actor: ctx.name });
      return state;
    },
    checkpoint(state) {
      const started = performance.now();
      const snapshot = pack(state.keys, state.slab);
      if (state.models) snapshot.models = state.models.pack();
      const bytes = [...snapshot.blocks, ...snapshot.profiles].reduce((n, b) => n + b.byteLength, 0) + snapshot.sketch.counters.byteLength;
      packMs = performance.now() - started + bytes / SAVE_BYTES_PER_MS;
      return { state, snapshot };
    },
  };
}
