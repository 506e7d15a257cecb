/**
 * The statistical trend detector: folds each (stream, key)'s window totals into a small baseline
 * and scores every window, streaming and without look-ahead.
 *
 * Method. Each key keeps a robust EWMA level and EW moments of its one-step prediction errors
 * (baseline.ts). Every window is tested against that prediction (detector_point.ts):
 *  - "poisson": for count-like keys (every value so far a non-negative integer), the Poisson
 *    tail P(X ≥ x) or P(X ≤ x) of the count, over-dispersion aware quasi-Poisson style (count
 *    and mean scaled by φ = variance/mean), exact for small counts and in log space, so a count
 *    of millions stays finite;
 *  - "robust-z": for real-valued keys, z = error / Winsorised spread referred to a Student-t
 *    whose skew and tail weight come from the key's own moments (split normal, Geary ratio);
 *  - "cusum": one-sided CUSUMs (allowance k = `cusumSlack`) of near-normal deviates, clipped at
 *    ±4 so one spike cannot fake a shift; they catch sustained shifts and ramps that no single
 *    window crosses. A CUSUM value s has stationary tail ≈ exp(−2k(s + 0.583)) (Siegmund), with k
 *    reduced by the level's own standard error, since an estimated level is a small drift.
 * A window's p is the Bonferroni minimum over the four one-sided tests (p = 4·min pᵢ), its
 * surprise S = −log10 p and its score S/(1+S) (detector_config.ts); the test attaining the
 * minimum names the detector and the direction.
 *
 * Learning without being fooled: the level moves by a Winsorised error; the spread learns only
 * ordinary windows (not anomalous, no shift suspected by the CUSUM), so neither a surge nor a
 * slowly building shift can teach the key that it is noisy. A shift that keeps alarming in one
 * direction for `adaptWindows` windows is accepted: the baseline re-anchors there and alarms stop.
 *
 * Adaptive threshold: a key's noise gauge is an EW 99th percentile of its point-test surprises
 * over windows where no shift was suspected beforehand (isolated spikes count, surges after their
 * first window do not). Where it runs above what a well-modelled key shows, the key's threshold
 * rises by the excess, up to `maxThreshold`, so chronically spiky keys do not flood the stream.
 * A window is anomalous when its score reaches the key's threshold, the key is past warm-up, and,
 * for counts, the change is at least `minDelta`.
 */

import {
  decayThroughSilence, effectiveWindows, ewRate, learnWindow, NOMINAL_NOISE, reanchor, startBaseline,
} from "./baseline.ts";
import type { KeyState } from "./baseline.ts";
import { scoreFromSurprise, surpriseFromScore } from "./detector_config.ts";
import type { DetectorConfig } from "./detector_config.ts";
import { explain } from "./detector_explain.ts";
import { countTest, valueTest } from "./detector_point.ts";
import { surprise } from "./detector_stats.ts";
import { LEARN, resetLongState, SHORT, voteLong, type ForecastModel, type LongDetector, type LongVote } from "./likelihood.ts";

export { newKeyState, resetKeyState, type KeyState } from "./baseline.ts";
export {
  defaultDetectorConfig, DetectorConfigError, detectorConfig, scoreFromSurprise, surpriseFromScore,
  type DetectorConfig,
} from "./detector_config.ts";

export { formatNumber, formatP, formatScores, formatWindow } from "./detector_explain.ts";

export type DetectorName = "poisson" | "robust-z" | "cusum" | "warmup" | LongDetector;

export interface Observation {
  /** The window's value as given. */
  observed: number;
  /** The baseline's prediction for this window (before it was learned). */
  expected: number;
  /** Predictive standard deviation of the window around `expected`. */
  spread: number;
  /** In [0,1); higher = more anomalous. S/(1+S) with S = −log10 p. */
  score: number;
  /** Threshold in force for this key at this window (adaptive, between config threshold and maxThreshold). */
  threshold: number;
  /** score ≥ threshold, past warm-up and (count keys) |change| ≥ minDelta. */
  anomalous: boolean;
  direction: "up" | "down";
  /** Which test dominated: "poisson", "robust-z", "cusum" ("warmup" before any test runs). */
  detector: DetectorName;
  /** The combined p-value behind `score` (may underflow to 0; `score` does not). */
  p: number;
  /** One line a person can act on, with the numbers. */
  explanation: string;
}

/** A value or gap the detector cannot fold in. */
export class DetectorInputError extends RangeError {
  constructor(readonly field: "value" | "gap" | "ts", message: string) {
    super(`detector ${field}: ${message}`);
    this.name = "DetectorInputError";
  }
}

/** Clip for the deviates fed to CUSUM: one window can add at most Z_CLIP − k. */
const Z_CLIP = 4;
/** Siegmund's overshoot correction for a Gaussian random walk's ladder heights. */
const CUSUM_OVERSHOOT = 0.583;
/** How much the CUSUM allowance is reduced per standard error of the level (estimated drift). */
const CUSUM_LEVEL_PENALTY = 1;
const LN_TESTS = Math.log(4);
/** A CUSUM tail below this (p < 1e-2) marks a window as inside a suspected shift. */
const LOG_SUSPECT = Math.log(1e-2);
/** Quantile tracked by KeyState.noise, its step in surprise units, and threshold rise per unit of excess. */
const NOISE_QUANTILE = 0.99;
const NOISE_STEP = 0.5;
const NOISE_GAIN = 1;
/** Long-layer surprise (p ≤ 1e-5) from which a window counts as extreme, and what later windows of the run are damped to. */
const EXTREME = 5;
const DAMPED = 3;

/** What scoring one window found, before it is worded. */
export interface Scored {
  observed: number;
  expected: number;
  spread: number;
  surprise: number;
  thresholdSurprise: number;
  anomalous: boolean;
  direction: "up" | "down";
  detector: DetectorName;
  /** Largest change the detector saw: |observed − expected|, or the shift so far for cusum. */
  delta: number;
  /** Statistic behind the dominating test: z (real) or deviate (counts) for point tests, the CUSUM value for cusum. */
  statistic: number;
  /** Windows seen before this one (for warm-up wording). */
  seen: number;
  counts: boolean;
  belowMinDelta: boolean;
  /** Set when the long layer judged the window: its vote, and whether an extreme run damped it. */
  long?: LongVote & { damped: boolean };
}

/**
 * Folds one window value into the state and scores it. Mutates `state`. `gap` = number of
 * empty windows skipped since the last observation; they count as zeros and are folded in O(1)
 * (at most a fixed number of exact steps, then a closed form). `model` is the key's stream's
 * forecaster, if the stream has one: the long layer adds its prediction error as a vote.
 */
export function observe(state: KeyState, value: number, config: DetectorConfig, gap = 0, ts?: number, model?: ForecastModel): Observation {
  return new WindowObservation(scoreObservation(state, value, config, gap, ts, model), config);
}

/**
 * observe() up to the scoring: what it found, not yet an Observation (for callers that act only
 * on anomalous windows: `toObservation` makes the same Observation observe() would have). What
 * it returns is reused by the next scoring (a window makes no garbage): read it, or make it an
 * Observation, before scoring another window.
 */
export function scoreObservation(state: KeyState, value: number, config: DetectorConfig, gap = 0, ts?: number, model?: ForecastModel): Scored {
  if (!Number.isFinite(value)) throw new DetectorInputError("value", `must be a finite number, got ${value}`);
  if (!(Number.isSafeInteger(gap) && gap >= 0)) throw new DetectorInputError("gap", `must be an integer ≥ 0, got ${gap}`);
  if (ts !== undefined && !Number.isFinite(ts)) throw new DetectorInputError("ts", `must be a finite epoch ms, got ${ts}`);
  if (gap >= LEARN) resetLongState(state.long); // its history is stale: the key starts its long memory afresh
  else if (gap > 0) for (let i = 0; i < Math.min(gap, SHORT); i++) voteLong(state.long, 0, undefined, Infinity, model);
  if (gap > 0) foldGap(state, gap, config);
  const scored = scoreWindow(state, value, config);
  return judgeLong(state, scored, voteLong(state.long, value, ts, scored.surprise, model), config);
}

/** The Observation of a window scoreObservation scored. */
export function toObservation(scored: Scored, config: DetectorConfig): Observation {
  return new WindowObservation(scored, config);
}

/**
 * Once a key has LEARN windows behind it, the long layer decides: the strongest of its votes,
 * with only the first window of an extreme run (surprise ≥ EXTREME) keeping its value and the
 * rest damped to DAMPED, so one event alarms once. Before that, the statistical tests decide
 * (with their warm-up and adaptive threshold), so a young key can still signal a surge.
 */
function judgeLong(state: KeyState, scored: Scored, vote: LongVote & { damped: boolean }, config: DetectorConfig): Scored {
  const long = state.long;
  if (long.n <= LEARN) return scored;
  let s = vote.surprise;
  const extreme = s >= EXTREME;
  const damped = extreme && long.extreme === 1;
  if (damped) s = Math.min(s, DAMPED);
  long.extreme = extreme ? 1 : 0;
  // In place: `scored` and `vote` are this window's own (scratch objects, see scoreWindow).
  const expected = Number.isNaN(vote.expected) ? scored.expected : vote.expected;
  const delta = Math.abs(scored.observed - expected);
  const belowMinDelta = scored.counts && delta < config.minDelta;
  vote.damped = damped;
  scored.expected = expected;
  scored.spread = vote.spread;
  scored.surprise = s;
  scored.anomalous = s >= scored.thresholdSurprise && !belowMinDelta;
  scored.direction = scored.observed >= expected ? "up" : "down";
  scored.detector = vote.detector;
  scored.delta = delta;
  scored.statistic = vote.z;
  scored.belowMinDelta = belowMinDelta;
  scored.long = vote;
  return scored;
}

/**
 * An Observation whose explanation is worded on first read: formatting costs more than scoring,
 * and most windows are never explained to anyone. `toJSON` includes it; an object spread does
 * not (read `explanation` explicitly when copying).
 */
class WindowObservation implements Observation {
  observed: number;
  expected: number;
  spread: number;
  score: number;
  threshold: number;
  anomalous: boolean;
  direction: "up" | "down";
  detector: DetectorName;
  p: number;
  #scored: Scored;
  #config: DetectorConfig;
  #explanation: string | undefined = undefined;

  constructor(scored: Scored, config: DetectorConfig) {
    this.observed = scored.observed;
    this.expected = scored.expected;
    this.spread = scored.spread;
    this.score = scoreFromSurprise(scored.surprise);
    this.threshold = scoreFromSurprise(scored.thresholdSurprise);
    this.anomalous = scored.anomalous;
    this.direction = scored.direction;
    this.detector = scored.detector;
    this.p = Math.pow(10, -scored.surprise);
    // Its own copy, for the wording: `scored` is the detector's scratch, reused by the next window.
    this.#scored = { ...scored, long: scored.long && { ...scored.long } };
    this.#config = config;
  }

  get explanation(): string {
    return (this.#explanation ??= explain(this.#scored, this.#config));
  }

  toJSON(): Observation {
    return { ...this, explanation: this.explanation };
  }
}

/**
 * Empty windows: the first few are scored exactly like observed zeros (so a key that falls
 * silent is re-anchored the way any fall would be), the rest in closed form once the baseline
 * has settled on the silence.
 */
function foldGap(state: KeyState, gap: number, config: DetectorConfig): void {
  const exact = Math.min(gap, 2 * config.adaptWindows + config.warmupWindows);
  for (let i = 0; i < exact; i++) scoreWindow(state, 0, config);
  if (gap > exact) decayThroughSilence(state, gap - exact, ewRate(config.halfLifeWindows));
}

/**
 * scoreWindow's result, filled in afresh each call (an object a window was a fifth of the
 * detector's garbage): valid until the next call; judgeLong completes it in place.
 */
const scratch: Scored = {
  observed: 0, expected: 0, spread: 0, surprise: 0, thresholdSurprise: 0, anomalous: false,
  direction: "up", detector: "warmup", delta: 0, statistic: 0, seen: 0, counts: false, belowMinDelta: false, long: undefined,
};

function setScored(
  observed: number, expected: number, spread: number, surprise: number, thresholdSurprise: number, anomalous: boolean,
  direction: "up" | "down", detector: DetectorName, delta: number, statistic: number, seen: number, counts: boolean, belowMinDelta: boolean,
): Scored {
  scratch.observed = observed;
  scratch.expected = expected;
  scratch.spread = spread;
  scratch.surprise = surprise;
  scratch.thresholdSurprise = thresholdSurprise;
  scratch.anomalous = anomalous;
  scratch.direction = direction;
  scratch.detector = detector;
  scratch.delta = delta;
  scratch.statistic = statistic;
  scratch.seen = seen;
  scratch.counts = counts;
  scratch.belowMinDelta = belowMinDelta;
  scratch.long = undefined;
  return scratch;
}

/** Scores one window against the baseline, then learns it. Mutates `state`. The result is reused by the next call. */
export function scoreWindow(state: KeyState, x: number, config: DetectorConfig): Scored {
  if (state.counts === 1 && !(x >= 0 && Number.isInteger(x))) state.counts = 0;
  const counts = state.counts === 1;
  const seen = state.n;
  const thresholdSurprise = adaptiveThreshold(state, config);
  if (seen === 0) {
    startBaseline(state, x);
    return setScored(x, x, 0, 0, thresholdSurprise, false, "up", "warmup", 0, 0, seen, counts, false);
  }
  const rate = ewRate(config.halfLifeWindows);
  const nEff = effectiveWindows(state, rate);
  const expected = state.level;
  const warm = seen >= config.warmupWindows;

  const point = counts ? countTest(state, x, rate) : valueTest(state, x, rate);
  const pointSpread = point.spread;
  let statistic = point.statistic;

  // Change-point statistics; they only start once the baseline is past warm-up.
  const k = config.cusumSlack;
  const kEff = Math.max(0.1 * k, k - CUSUM_LEVEL_PENALTY / Math.sqrt(nEff));
  // Whether a shift was already suspected before this window (the noise gauge skips those).
  const wasQuiet = -2 * kEff * (Math.max(state.cusumUp, state.cusumDown) + CUSUM_OVERSHOOT) > LOG_SUSPECT;
  if (warm) {
    const z = Math.max(-Z_CLIP, Math.min(Z_CLIP, point.deviate));
    state.cusumUp = Math.max(0, state.cusumUp + z - k);
    state.cusumDown = Math.max(0, state.cusumDown - z - k);
  }
  const logUp = state.cusumUp > 0 ? -2 * kEff * (state.cusumUp + CUSUM_OVERSHOOT) : 0;
  const logDown = state.cusumDown > 0 ? -2 * kEff * (state.cusumDown + CUSUM_OVERSHOOT) : 0;

  let detector: DetectorName = counts ? "poisson" : "robust-z";
  let direction: "up" | "down" = x >= expected ? "up" : "down";
  let logMin = point.logP;
  // A CUSUM speaks only for a window that leans its way: once values are back, an old shift's
  // statistic (still draining) must not label them.
  if (logUp < logMin && point.deviate > 0) { logMin = logUp; detector = "cusum"; direction = "up"; statistic = state.cusumUp; }
  if (logDown < logMin && point.deviate < 0) { logMin = logDown; detector = "cusum"; direction = "down"; statistic = state.cusumDown; }
  const s = surprise(Math.min(0, logMin + LN_TESTS));

  // For a CUSUM signal the change is the shift so far: the fast tracker once it has taken x in.
  const shift = detector === "cusum" ? Math.abs(0.5 * (state.fast + x) - expected) : Math.abs(x - expected);
  const belowMinDelta = counts && shift < config.minDelta;
  const anomalous = warm && s >= thresholdSurprise && !belowMinDelta;

  // Learn. The level always (Winsorised); the spread only from ordinary windows: neither
  // anomalous nor inside a shift the CUSUM suspects, or a shift building up slowly would teach
  // the key that it is noisy and so hide itself. The noise gauge takes the two-sided point
  // surprise of every window that began with no shift suspected (isolated spikes count).
  const ordinary = !anomalous && Math.min(logUp, logDown) > LOG_SUSPECT;
  if (warm && wasQuiet) trackNoise(state, Math.min(surprise(Math.min(0, point.logP + Math.LN2)), thresholdSurprise));
  learnWindow(state, x, rate, pointSpread, ordinary, warm);
  // Recovery: once the fast tracker is back across the level, a shift's evidence is spent.
  if (state.fast <= state.level) state.cusumUp = 0;
  if (state.fast >= state.level) state.cusumDown = 0;

  // A shift that has alarmed adaptWindows times in one direction, with no ordinary window in
  // between (windows the CUSUM still suspects neither count nor break the run), is the new
  // normal: re-anchor the baseline there.
  if (ordinary) {
    state.run = 0;
  } else if (anomalous) {
    const sign = direction === "up" ? 1 : -1;
    state.run = Math.sign(state.run) === sign ? state.run + sign : sign;
  }
  if (Math.abs(state.run) >= config.adaptWindows) {
    reanchor(state, rate, Math.max(config.warmupWindows, config.adaptWindows));
  }
  return setScored(x, expected, pointSpread, s, thresholdSurprise, anomalous, direction, detector, shift, statistic, seen, counts, belowMinDelta);
}

/** The key's threshold in surprise units: the configured one, raised while its noise gauge runs hot. */
function adaptiveThreshold(state: KeyState, config: DetectorConfig): number {
  const base = surpriseFromScore(config.threshold);
  const ceiling = surpriseFromScore(config.maxThreshold);
  return Math.min(ceiling, base + NOISE_GAIN * Math.max(0, state.noise - NOMINAL_NOISE));
}

/**
 * Stochastic-approximation update of the running NOISE_QUANTILE quantile of point surprises
 * (censored at the threshold, so one huge spike counts no more than one that just alarms).
 */
function trackNoise(state: KeyState, s: number): void {
  state.noise += s > state.noise ? NOISE_STEP * NOISE_QUANTILE : -NOISE_STEP * (1 - NOISE_QUANTILE);
  if (state.noise < 0) state.noise = 0;
}
