/**
 * detect: scores every closed window (`tw.agg.<partition>`, the partitions this instance owns)
 * against its key's own history and publishes a trend signal on `tw.trends.<stream>.<key>`
 * (key encoded with encodeSubjectToken) when a key rises or falls beyond what that history
 * explains. The statistics live in detector.ts; this module keeps per-key state, bounded.
 * The durable signal is a MessagePack envelope `{v, type, id, ts, body: TrendSignal}`; a JSON
 * copy of the body goes live (unstored) to `tw.json.trends.<stream>.<key>` for subscribers
 * that prefer JSON.
 *
 * Memory bound: at most `maxKeys` keys keep state; beyond that the least recently updated key
 * is evicted (it starts cold if it comes back). Empty windows between two of a key's windows
 * count as zeros. A window is scored once, at its first emission that is not partial;
 * revisions of an already scored window (late data) are not scored again. It is scored at its
 * start time (the hour-of-week profile reads it), as `trendwire detect --csv` scores a row at its
 * timestamp, so the two give the same scores for the same series.
 */
import type { ActorBehaviour, MessageInput } from "../../runtime/core/actor.ts";
import { partitionInputs } from "../../runtime/core/partitions.ts";
import { encodeSubjectToken, MessageType, validateAggBatch, type AggBatch, type TrendSignal } from "../../schemas/mod.ts";
import { newKeyState, observe, type DetectorConfig, type KeyState } from "./detector.ts";

export interface DetectConfig {
  partitions: number;
  owned: number[];
  detector: DetectorConfig;
  /** Keys with state at most (least recently updated evicted first). Defaults to 100 000. */
  maxKeys: number;
  /** Also send each signal as JSON, live and unstored, on `tw.json.trends.<stream>.<key>`. Defaults to true. */
  jsonSignals: boolean;
}

const jsonHeaders = { "content-type": "application/json", "tw-type": MessageType.TrendSignal };
const utf8 = new TextEncoder();

interface KeyEntry {
  state: KeyState;
  /** windowStart of the last scored window. */
  last: number;
}

export interface DetectState {
  /** By `${stream}\u0000${key}`, in least-recently-updated-first order. */
  keys: Map<string, KeyEntry>;
}

type Snapshot = [string, KeyState, number][];

export function detectActor(config: DetectConfig): ActorBehaviour<DetectState> {
  return {
    kind: "detect",
    inputs: partitionInputs("tw.agg", config.owned, "detect").map(({ filter, group }) => ({
      filter,
      group,
      type: MessageType.AggBatch,
      validate: validateAggBatch,
      ack: "checkpoint" as const,
    })),
    checkpointIntervalMs: 1000,
    init(ctx) {
      const keys = new Map<string, KeyEntry>();
      const restored = ctx.restored()?.snapshot as Snapshot | undefined;
      for (const [id, state, last] of restored ?? []) keys.set(id, { state, last });
      return { keys };
    },
    receive(state, input, ctx) {
      if (input.kind !== "message") return state;
      const batch = (input as MessageInput<AggBatch>).body;
      const scored = ctx.metrics.counter("tw_windows_scored_total", "Windows scored by detect");
      const signals = ctx.metrics.counter("tw_trend_signals_total", "Trend signals published, by stream and direction");
      const evicted = ctx.metrics.counter("tw_detect_keys_evicted_total", "Keys whose detector state was evicted (bound: maxKeys)");
      for (const w of batch.windows) {
        if (w.partial) continue; // emitted early on shutdown; its final revision comes later
        const id = `${w.stream}\u0000${w.key}`;
        let entry = state.keys.get(id);
        const size = w.windowEnd - w.windowStart;
        let gap = 0;
        if (entry) {
          if (w.windowStart <= entry.last) continue; // already scored (replay) or out of order
          gap = Math.max(0, Math.round((w.windowStart - entry.last) / size) - 1);
          state.keys.delete(id); // re-inserted below: Map order = recency
        } else {
          entry = { state: newKeyState(), last: w.windowStart };
          if (state.keys.size >= config.maxKeys) {
            const oldest = state.keys.keys().next().value as string;
            state.keys.delete(oldest);
            evicted.inc();
          }
        }
        if (!Number.isFinite(w.sum) || Math.abs(w.sum) > 1e15) {
          // Beyond what the detector's arithmetic represents exactly: count it, never score it.
          ctx.metrics.counter("tw_windows_unscorable_total", "Windows whose value detect cannot score (not finite or beyond ±1e15)").inc();
          state.keys.set(id, entry);
          continue;
        }
        const obs = observe(entry.state, w.sum, config.detector, gap, w.windowStart);
        entry.last = w.windowStart;
        state.keys.set(id, entry);
        scored.inc();
        if (!obs.anomalous) continue;
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
      ctx.metrics.gauge("tw_detect_keys", "Keys with detector state").set(state.keys.size, { actor: ctx.name });
      return state;
    },
    checkpoint(state) {
      const snapshot: Snapshot = [];
      for (const [id, e] of state.keys) snapshot.push([id, e.state, e.last]);
      return { state, snapshot };
    },
  };
}
