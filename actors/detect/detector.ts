/**
 * The statistical trend detector: folds each (stream, key)'s window totals into a small baseline
 * and scores every window, streaming and without look-ahead.
 *
 * Method. Each key keeps a robust EWMA level and EW spread of its one-step prediction errors
 * (baseline.ts). Every window is tested three ways against that prediction:
 *  - "poisson": for count-like keys (all values non-negative integers), the exact Poisson tail
 *    P(X ≥ x) or P(X ≤ x) of the observed count, made over-dispersion aware quasi-Poisson style
 *    (counts and mean scaled by φ = variance/mean ≥ 1 + level uncertainty), in log space so a
 *    count of millions stays finite;
 *  - "robust-z": for real-valued keys, the Student-t tail of the prediction error over the
 *    Winsorised spread, with degrees of freedom = the windows the spread rests on;
 *  - "cusum": one-sided CUSUMs of near-normal deviates (Poisson deviance residuals for counts,
 *    normalised t for real values, clipped at ±4 so one spike cannot fake a shift), which catch
 *    sustained shifts and ramps that no single window crosses. A CUSUM value s converts to a
 *    p-value by its stationary tail exp(−2k(s + 0.583)) (Siegmund), with k reduced by the
 *    level's own uncertainty.
 * The window's p is the Bonferroni minimum over the four one-sided tests (p = 4·min pᵢ), its
 * surprise S = −log10 p and its score S/(1+S) (detector_config.ts). The test that attains the
 * minimum names the detector and the direction.
 *
 * Thresholds adapt per key: an EW 99th percentile of each key's sub-threshold surprises is kept;
 * where it runs above what a well-modelled key shows, the key's threshold rises (up to
 * `maxThreshold`), so chronically noisy keys do not flood the stream. A window is anomalous when
 * its score reaches the key's threshold, the key is past warm-up, and (for counts) the change is
 * at least `minDelta`.
 */

import {
  dispersion, effectiveWindows, ewRate, spreadWindows, learnWindow, NOMINAL_NOISE, rateFloor, reanchor,
  startBaseline, decayThroughSilence,
} from "./baseline.ts";
import type { KeyState } from "./baseline.ts";
import { scoreFromSurprise, surpriseFromScore } from "./detector_config.ts";
import type { DetectorConfig } from "./detector_config.ts";
import { explain } from "./detector_explain.ts";
import {
  degreesFromGeary, logPoissonLower, logPoissonUpper, logStudentUpper, poissonDeviate, studentToNormal,
  surprise,
} from "./detector_stats.ts";

export { newKeyState, type KeyState } from "./baseline.ts";
export {
  defaultDetectorConfig, DetectorConfigError, detectorConfig, scoreFromSurprise, surpriseFromScore,
  type DetectorConfig,
} from "./detector_config.ts";

export type DetectorName = "poisson" | "robust-z" | "cusum" | "warmup";

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
  constructor(readonly field: "value" | "gap", message: string) {
    super(`detector ${field}: ${message}`);
    this.name = "DetectorInputError";
  }
}

/** Clip for the deviates fed to CUSUM: one window can add at most Z_CLIP − k. */
const Z_CLIP = 4;
/** Siegmund's overshoot correction for a Gaussian random walk's ladder heights. */
const CUSUM_OVERSHOOT = 0.583;
/** How much the CUSUM allowance is reduced per standard error of the level (estimated drift). */
const CUSUM_LEVEL_PENALTY = Number(globalThis.Deno?.env.get("CLP") ?? 1.5);
const LN_TESTS = Math.log(4);
/**
 * Added to a key's measured Geary ratio before reading off its tail weight, so the noise of a
 * running estimate (sd ≈ 0.02) does not make Gaussian keys look heavy-tailed.
 */
const GEARY_SLACK = Number(globalThis.Deno?.env.get("GS") ?? 0.02);
/** A CUSUM tail below this (p < 1e-2) marks a window as inside a suspected shift. */
const LOG_SUSPECT = Math.log(1e-2);
/** Quantile tracked by KeyState.noise, and its step size in surprise units. */
const NOISE_QUANTILE = 0.99;
const NOISE_STEP = 0.5;

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
  /** Statistic behind the dominating test: t / deviate for point tests, CUSUM value for cusum. */
  statistic: number;
  /** Windows seen before this one (for warm-up wording). */
  seen: number;
  counts: boolean;
  belowMinDelta: boolean;
}

/**
 * Folds one window value into the state and scores it. Mutates `state`. `gap` = number of
 * empty windows skipped since the last observation; they count as zeros and are folded in O(1)
 * (at most a fixed number of exact steps, then a closed form).
 */
export function observe(state: KeyState, value: number, config: DetectorConfig, gap = 0): Observation {
  if (!Number.isFinite(value)) throw new DetectorInputError("value", `must be a finite number, got ${value}`);
  if (!(Number.isSafeInteger(gap) && gap >= 0)) throw new DetectorInputError("gap", `must be an integer ≥ 0, got ${gap}`);
  if (gap > 0) foldGap(state, gap, config);
  const scored = scoreWindow(state, value, config);
  const p = Math.pow(10, -scored.surprise);
  return {
    observed: value,
    expected: scored.expected,
    spread: scored.spread,
    score: scoreFromSurprise(scored.surprise),
    threshold: scoreFromSurprise(scored.thresholdSurprise),
    anomalous: scored.anomalous,
    direction: scored.direction,
    detector: scored.detector,
    p,
    explanation: explain(scored, config),
  };
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

/** Scores one window against the baseline, then learns it. Mutates `state`. */
export function scoreWindow(state: KeyState, x: number, config: DetectorConfig): Scored {
  if (state.counts === 1 && !(x >= 0 && Number.isInteger(x))) state.counts = 0;
  const counts = state.counts === 1;
  const seen = state.n;
  const thresholdSurprise = adaptiveThreshold(state, config);
  if (seen === 0) {
    startBaseline(state, x);
    return {
      observed: x, expected: x, spread: 0, surprise: 0, thresholdSurprise, anomalous: false,
      direction: "up", detector: "warmup", delta: 0, statistic: 0, seen, counts, belowMinDelta: false,
    };
  }
  const rate = ewRate(config.halfLifeWindows);
  const nEff = effectiveWindows(state, rate);
  const expected = state.level;
  const warm = seen >= config.warmupWindows;

  // Point test and the deviate fed to CUSUM.
  let spread: number;
  let logPoint: number;
  let deviate: number;
  let statistic: number;
  if (counts) {
    const phi = dispersion(state, rate);
    const lambda = Math.max(expected, rateFloor(state, rate));
    spread = Math.sqrt(phi * lambda);
    logPoint = x >= lambda ? logPoissonUpper(x / phi, lambda / phi) : logPoissonLower(x / phi, lambda / phi);
    deviate = poissonDeviate(x / phi, lambda / phi);
    statistic = deviate;
  } else {
    spread = Math.sqrt(Math.max(state.variance, (1e-9 * Math.max(1, Math.abs(expected))) ** 2));
    const z = (x - expected) / spread;
    // Student-t: heavy-tailed keys get the tail their own moments show (scaled to their
    // variance), every key at most the degrees of freedom its spread estimate rests on.
    const tail = state.absError > 0 ? degreesFromGeary(state.absError / spread + GEARY_SLACK) : Infinity;
    const df = Math.max(1, spreadWindows(state, rate) - 1);
    const nu = Math.min(tail, df);
    const t = tail < df ? z * Math.sqrt(tail / (tail - 2)) : z;
    logPoint = logStudentUpper(Math.abs(t), nu);
    deviate = studentToNormal(t, nu);
    statistic = z;
  }

  // Change-point statistics; they only start once the baseline is past warm-up.
  const k = config.cusumSlack;
  if (warm) {
    const z = Math.max(-Z_CLIP, Math.min(Z_CLIP, deviate));
    state.cusumUp = Math.max(0, state.cusumUp + z - k);
    state.cusumDown = Math.max(0, state.cusumDown - z - k);
  }
  const kEff = Math.max(0.1 * k, k - CUSUM_LEVEL_PENALTY / Math.sqrt(nEff));
  const logUp = state.cusumUp > 0 ? -2 * kEff * (state.cusumUp + CUSUM_OVERSHOOT) : 0;
  const logDown = state.cusumDown > 0 ? -2 * kEff * (state.cusumDown + CUSUM_OVERSHOOT) : 0;

  let detector: DetectorName = counts ? "poisson" : "robust-z";
  let direction: "up" | "down" = x >= expected ? "up" : "down";
  let logMin = logPoint;
  if (logUp < logMin) { logMin = logUp; detector = "cusum"; direction = "up"; statistic = state.cusumUp; }
  if (logDown < logMin) { logMin = logDown; detector = "cusum"; direction = "down"; statistic = state.cusumDown; }
  const s = surprise(Math.min(0, logMin + LN_TESTS));

  // For a CUSUM signal the change is the shift so far: the fast tracker once it has taken x in.
  const shift = detector === "cusum" ? Math.abs(0.5 * (state.fast + x) - expected) : Math.abs(x - expected);
  const belowMinDelta = counts && shift < config.minDelta;
  const anomalous = warm && s >= thresholdSurprise && !belowMinDelta;

  // Learn. The level always (Winsorised); the spread and the noise gauge only from ordinary
  // windows: neither anomalous nor inside a shift the CUSUM is already suspecting, or a shift
  // building up slowly would teach the key that it is noisy and so hide itself.
  const ordinary = !anomalous && Math.min(logUp, logDown) > LOG_SUSPECT;
  if (warm && ordinary) trackNoise(state, surprise(Math.min(0, logPoint + Math.LN2)));
  learnWindow(state, x, rate, spread, ordinary, warm);

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
  return {
    observed: x, expected, spread, surprise: s, thresholdSurprise, anomalous, direction, detector,
    delta: shift, statistic, seen, counts, belowMinDelta,
  };
}

/** The key's threshold in surprise units: the configured one, raised while its noise gauge runs hot. */
function adaptiveThreshold(state: KeyState, config: DetectorConfig): number {
  const base = surpriseFromScore(config.threshold);
  const ceiling = surpriseFromScore(config.maxThreshold);
  return Math.min(ceiling, base + Math.max(0, state.noise - NOMINAL_NOISE));
}

/** Stochastic-approximation update of the EW quantile of sub-threshold surprises. */
function trackNoise(state: KeyState, s: number): void {
  state.noise += s > state.noise ? NOISE_STEP * NOISE_QUANTILE : -NOISE_STEP * (1 - NOISE_QUANTILE);
  if (state.noise < 0) state.noise = 0;
}
