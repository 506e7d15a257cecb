/**
 * The event-to-trend latency phase: on its own fresh deployment (short windows, a small
 * watermark lag), a modest steady load of MessagePack batches whose events carry `ts` = now,
 * and once per window a surge of one key; it measures when each surge's trend signal reaches a
 * subscriber (see latency_plan.ts for exactly what is measured).
 *
 * Load: one connection, one request at a time every `intervalMs` (each answered before the
 * next is sent, so events arrive in time order and none is late by the bench's doing);
 * `rate` events/s spread over `backgroundKeys` keys, so every partition sees events every
 * interval and its watermark keeps up with the wall clock. Each surge key also gets a Poisson
 * baseline (`baselinePerWindow`), and in its surge window `surgeEvents` more, all in the
 * window's first request. Before the load, a backfill of past windows warms the detector up.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { seededRandom } from "./events.ts";
import { LatencyRecorder, type LatencySummary } from "./latency.ts";
import { backfillEvents, planSurges, poisson, SignalTracker, surgeKeys, type PathSummary } from "./latency_plan.ts";
import { natsFeed, sseFeed, type SignalFeed } from "./signal_feeds.ts";
import { exitedRoles, type Deployment, type DrainState, type TransportName } from "./deployment.ts";

export interface LatencyPhaseSpec {
  windowMs: number;
  maxOutOfOrderMs: number;
  /** Steady load (events/s), sent every `intervalMs`. */
  rate: number;
  intervalMs: number;
  surges: number;
  surgeEvents: number;
  baselinePerWindow: number;
  backgroundKeys: number;
  backfillWindows: number;
  /** Starts the deployment (with the phase's window settings). */
  deploy(): Promise<Deployment>;
}

export interface LatencyResult {
  transport: TransportName | undefined;
  topology: string | undefined;
  label: string;
  windowMs: number;
  maxOutOfOrderMs: number;
  rate: number;
  /** Events actually accepted per second during the load (below `rate` if requests took longer than the interval). */
  acceptedEventsPerSec: number;
  intervalMs: number;
  surgeEvents: number;
  baselinePerWindow: number;
  /** One entry per path signals were read from. */
  paths: PathSummary[];
  /** Latency of the load's requests (send → 202). */
  requests: LatencySummary;
  rejected: Record<string, number>;
  /** Events the pipeline dead-lettered as late during the phase (embedded), or dead-letter messages (JetStream). */
  late?: number;
  deadLetterMessages?: number;
  /** The target for `fromFirstEvent` p99: one window length + 250 ms. */
  targetMs: number;
  notes?: string[];
  /** Why the phase broke off (e.g. a process exited); the signals received until then are still counted. */
  failed?: string;
}

export const stream = "latency";
const maxEventsPerRequest = 5000;

class Poster {
  readonly #codec = new MessageCodec();
  readonly requests = new LatencyRecorder();
  readonly rejected: Record<string, number> = {};
  accepted = 0;
  constructor(readonly port: number) {}

  async post(events: { key: string; ts: number }[]): Promise<void> {
    const t0 = performance.now();
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/streams/${stream}/events`, {
      method: "POST",
      headers: { "content-type": "application/msgpack" },
      body: this.#codec.encodeValue(events) as Uint8Array<ArrayBuffer>,
    }).catch(() => undefined);
    this.requests.add(performance.now() - t0);
    const status = res ? String(res.status) : "error";
    await res?.arrayBuffer().catch(() => undefined);
    if (status !== "202") this.rejected[status] = (this.rejected[status] ?? 0) + 1;
    else this.accepted += events.length;
  }
}

export async function runLatencyPhase(spec: LatencyPhaseSpec, progress: (msg: string) => void): Promise<LatencyResult> {
  const d = await spec.deploy();
  const feeds: SignalFeed[] = [];
  let result: LatencyResult | undefined;
  let failed: string | undefined;
  try {
    const random = seededRandom(7);
    const startMs = Date.now();
    const surges = planSurges(startMs, spec);
    const paths = ["SSE /v1/trends/stream", ...(d.natsUrl ? [`NATS tw.json.trends.${stream}.>`] : [])];
    const tracker = new SignalTracker(surges, paths, stream);
    const onSignal = (path: string, s: Parameters<SignalTracker["onSignal"]>[1], at: number) => tracker.onSignal(path, s, at);
    feeds.push(await sseFeed(d.port, stream, onSignal));
    if (d.natsUrl) feeds.push(await natsFeed(d.natsUrl, stream, onSignal));
    const before: DrainState | undefined = await d.drainState?.().catch(() => undefined);

    const poster = new Poster(d.port);
    const history = backfillEvents(startMs, spec, random);
    for (let i = 0; i < history.length; i += maxEventsPerRequest) await poster.post(history.slice(i, i + maxEventsPerRequest));
    const backfillRejected = Object.values(poster.rejected).reduce((a, b) => a + b, 0);
    if (backfillRejected > 0) progress(`  warning: ${backfillRejected} backfill requests were not accepted: ${JSON.stringify(poster.rejected)}`);

    const keys = surgeKeys(spec.surges);
    const perRequest = Math.max(1, Math.round((spec.rate * spec.intervalMs) / 1000));
    const baselinePerRequest = (spec.baselinePerWindow * spec.intervalMs) / spec.windowMs;
    const last = surges[surges.length - 1]!;
    const deadline = last.windowEnd + spec.maxOutOfOrderMs + spec.windowMs + 5_000;
    const live = new Poster(d.port); // the load's own request latencies, without the backfill's
    progress(`${d.label}: latency phase, ${spec.surges} surges in ${spec.windowMs / 1000} s windows, ${perRequest} events every ${spec.intervalMs} ms; until ${((deadline - Date.now()) / 1000).toFixed(0)} s from now at most`);
    const loadStart = performance.now();
    let next = loadStart;
    while (Date.now() < deadline && !(Date.now() > last.windowEnd && tracker.complete())) {
      if (exitedRoles(d).length > 0) {
        progress(`  warning: latency phase stopped early: ${exitedRoles(d).join(", ")} exited`);
        break;
      }
      const now = Date.now();
      const windowStart = Math.floor(now / spec.windowMs) * spec.windowMs;
      const events: { key: string; ts: number }[] = [];
      for (let i = 0; i < perRequest; i++) events.push({ key: `bg${Math.floor(random() * spec.backgroundKeys)}`, ts: now });
      for (const key of keys) for (let n = poisson(random, baselinePerRequest); n > 0; n--) events.push({ key, ts: now });
      const surge = surges.find((s) => s.windowStart === windowStart && s.sentAt === undefined);
      if (surge) {
        surge.sentAt = now;
        for (let n = 0; n < spec.surgeEvents; n++) events.push({ key: surge.key, ts: now });
      }
      tracker.sent(windowStart, now);
      await live.post(events);
      next += spec.intervalMs;
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -spec.intervalMs) next = performance.now(); // fell behind: no burst to catch up
    }
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const exited = exitedRoles(d);
    if (exited.length > 0) failed = `${exited.join(", ")} exited during the phase`;
    const after = exited.length > 0 ? undefined : await d.drainState?.().catch(() => undefined);
    const diff = (k: "late" | "deadLetterMessages") => (after?.[k] !== undefined && before?.[k] !== undefined ? after[k]! - before[k]! : undefined);
    const late = diff("late");
    const dead = diff("deadLetterMessages");
    result = {
      transport: d.transport,
      topology: d.topology,
      label: d.label,
      windowMs: spec.windowMs,
      maxOutOfOrderMs: spec.maxOutOfOrderMs,
      rate: (perRequest * 1000) / spec.intervalMs,
      acceptedEventsPerSec: live.accepted / loadSeconds,
      intervalMs: spec.intervalMs,
      surgeEvents: spec.surgeEvents,
      baselinePerWindow: spec.baselinePerWindow,
      paths: paths.map((p) => tracker.summary(p)),
      requests: live.requests.summary(),
      rejected: live.rejected,
      ...(late !== undefined ? { late } : {}),
      ...(dead !== undefined ? { deadLetterMessages: dead } : {}),
      targetMs: spec.windowMs + 250,
      ...(failed ? { failed } : {}),
    };
  } finally {
    for (const f of feeds) await f.close().catch(() => {});
    const notes = await d.stop();
    for (const n of notes) progress(`  note: ${n}`);
    if (notes.length > 0 && result) result.notes = notes;
  }
  return result!;
}
