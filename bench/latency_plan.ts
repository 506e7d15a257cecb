/**
 * The plan and the bookkeeping of the event-to-trend latency phase, kept pure (no I/O, no
 * clock) so it can be tested: which key surges in which window, the backfilled history that
 * warms the detector up before the phase, and matching trend signals to surges.
 *
 * What is measured, per surge (times are wall-clock epoch ms on this machine; event `ts` is
 * the send time, so event time and wall time agree):
 *   afterWindowEnd   signal arrival − the surge window's end: how long after the window closed
 *                    in event time the trend was out (≥ the watermark lag, maxOutOfOrderMs)
 *   fromFirstEvent   signal arrival − sending of the first request of that window (the first
 *                    event of the window, which also carries the surge): the reading,
 *                    target ≤ one window length + 250 ms
 *   emittedAfterEnd  the signal's `emittedAt` (detect's clock) − window end: the part spent
 *                    inside the pipeline, without the delivery to the subscriber
 */
import { LatencyRecorder, type LatencySummary } from "./latency.ts";

export interface LatencyPlanOptions {
  windowMs: number;
  surges: number;
  /** Baseline events per window of every surge key (Poisson). */
  baselinePerWindow: number;
  /** Windows of history sent before the phase (with past timestamps) so detection is warm. */
  backfillWindows: number;
}

export interface Surge {
  index: number;
  key: string;
  windowStart: number;
  windowEnd: number;
  /** When the request carrying the surge was sent (it is also the window's first request). */
  sentAt?: number;
}

export interface TrendSignalLike {
  stream: string;
  key: string;
  windowStart: number;
  windowEnd: number;
  direction: string;
  emittedAt?: number;
}

/** Distinct keys take turns surging (at most 32, so each has a calm history between surges). */
export function surgeKeys(surges: number): string[] {
  return Array.from({ length: Math.max(1, Math.min(surges, 32)) }, (_, i) => `surge-${i}`);
}

/** One surge per window, starting with the first full window after `startMs`. */
export function planSurges(startMs: number, options: LatencyPlanOptions): Surge[] {
  const w = options.windowMs;
  const first = Math.floor(startMs / w) * w + w;
  const keys = surgeKeys(options.surges);
  return Array.from({ length: options.surges }, (_, i) => ({ index: i, key: keys[i % keys.length]!, windowStart: first + i * w, windowEnd: first + (i + 1) * w }));
}

/** Knuth's Poisson sampler (fine for the small means used here). */
export function poisson(random: () => number, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gaussian(random)));
  const limit = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > limit);
  return k - 1;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * History for every surge key, oldest first: `backfillWindows` whole windows before the one
 * holding `startMs`, plus that window up to `startMs` (pro rata), Poisson counts at random
 * times. Sent in time order before the live load, it closes those windows at once (the
 * watermark follows event time) and the detector is past its warm-up when the phase begins.
 */
export function backfillEvents(startMs: number, options: LatencyPlanOptions, random: () => number): { key: string; ts: number }[] {
  const w = options.windowMs;
  const current = Math.floor(startMs / w) * w;
  const from = current - options.backfillWindows * w;
  const events: { key: string; ts: number }[] = [];
  for (const key of surgeKeys(options.surges)) {
    for (let start = from; start < startMs; start += w) {
      const span = Math.min(w, startMs - start);
      const n = poisson(random, (options.baselinePerWindow * span) / w);
      for (let i = 0; i < n; i++) events.push({ key, ts: start + Math.floor(random() * span) });
    }
  }
  return events.sort((a, b) => a.ts - b.ts);
}

export interface PathSummary {
  /** Where signals were read, e.g. `SSE /v1/trends/stream` or `NATS tw.json.trends.latency.>`. */
  path: string;
  surges: number;
  received: number;
  missed: number;
  afterWindowEnd: LatencySummary;
  fromFirstEvent: LatencySummary;
  emittedAfterEnd: LatencySummary;
  /** Signals that match no surge (other keys or windows, or direction down). */
  otherSignals: number;
  /** Every surge: its window and, if its signal arrived, the times above (ms). */
  samples: { key: string; windowStart: number; afterWindowEndMs?: number; fromFirstEventMs?: number; emittedAfterEndMs?: number }[];
}

/** Matches signals from each path to the planned surges; the first arrival per surge and path counts. */
export class SignalTracker {
  readonly #arrivals = new Map<string, Map<number, { arrivedAt: number; emittedAt?: number }>>();
  readonly #other = new Map<string, number>();
  readonly #firstEventAt = new Map<number, number>();

  constructor(
    readonly surges: Surge[],
    readonly paths: string[],
    readonly stream: string,
  ) {
    for (const p of paths) {
      this.#arrivals.set(p, new Map());
      this.#other.set(p, 0);
    }
  }

  /** Records the send time of a request whose events carry `ts` (the first per window counts). */
  sent(windowStart: number, at: number): void {
    if (!this.#firstEventAt.has(windowStart)) this.#firstEventAt.set(windowStart, at);
  }

  onSignal(path: string, s: TrendSignalLike, arrivedAt: number): void {
    const surge = this.surges.find((x) => x.key === s.key && x.windowStart === s.windowStart);
    const arrivals = this.#arrivals.get(path);
    if (!arrivals) return;
    if (!surge || s.stream !== this.stream || s.direction !== "up") {
      this.#other.set(path, this.#other.get(path)! + 1);
      return;
    }
    if (!arrivals.has(surge.index)) arrivals.set(surge.index, { arrivedAt, ...(s.emittedAt !== undefined ? { emittedAt: s.emittedAt } : {}) });
  }

  /** Every surge has arrived on every path. */
  complete(): boolean {
    return [...this.#arrivals.values()].every((a) => a.size === this.surges.length);
  }

  summary(path: string): PathSummary {
    const arrivals = this.#arrivals.get(path) ?? new Map();
    const afterEnd = new LatencyRecorder();
    const fromFirst = new LatencyRecorder();
    const emitted = new LatencyRecorder();
    const samples: PathSummary["samples"] = [];
    for (const surge of this.surges) {
      const sample: PathSummary["samples"][number] = { key: surge.key, windowStart: surge.windowStart };
      samples.push(sample);
      const a = arrivals.get(surge.index);
      if (!a) continue;
      afterEnd.add((sample.afterWindowEndMs = a.arrivedAt - surge.windowEnd));
      const first = this.#firstEventAt.get(surge.windowStart) ?? surge.sentAt;
      if (first !== undefined) fromFirst.add((sample.fromFirstEventMs = a.arrivedAt - first));
      if (a.emittedAt !== undefined) emitted.add((sample.emittedAfterEndMs = a.emittedAt - surge.windowEnd));
    }
    return {
      path,
      surges: this.surges.length,
      received: arrivals.size,
      missed: this.surges.length - arrivals.size,
      afterWindowEnd: afterEnd.summary(),
      fromFirstEvent: fromFirst.summary(),
      emittedAfterEnd: emitted.summary(),
      otherSignals: this.#other.get(path) ?? 0,
      samples,
    };
  }
}
