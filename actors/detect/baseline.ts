/**
 * A key's learned normal: the per-key state the detector keeps and the rules that move it.
 *
 * The statistical state is twelve plain numbers, plus the long-memory layer's (likelihood.ts);
 * it is checkpointed with MessagePack, so every statistic is a running one: exponentially
 * weighted with the configured half-life, and a plain running mean while fewer windows than one memory span have been seen
 * (so a new key learns fast and its early estimates are honest about how little they rest on).
 *
 * Robustness: the level moves by a Winsorised error (at most WINSOR predictive deviations per
 * window), and the spread statistics skip unusual windows entirely, so an ongoing surge barely
 * moves the baseline. A *persisting* shift is learned instead by re-anchoring: once a shift has
 * alarmed `adaptWindows` times in one direction the level jumps to the fast tracker (half-life
 * one window), which has followed the new values all along.
 */

import { newLongState, resetLongState, type LongState } from "./likelihood.ts";

export interface KeyState {
  /** Windows folded in so far, empty gap windows included. Drives warm-up and learning rates. */
  n: number;
  /** Expected value of the next window: a Winsorised EWMA of window values. */
  level: number;
  /** EW mean of squared one-step prediction errors (Winsorised; unusual windows skipped). */
  variance: number;
  /** EW mean of absolute prediction errors, same windows; with `variance` it gauges tail weight. */
  absError: number;
  /** EW mean of squared positive errors (0 for negative ones): the upper share of `variance`, for skew. */
  upperVariance: number;
  /** EW mean of positive errors (0 for negative ones): with `upperVariance`, the upper tail's weight. */
  upperAbs: number;
  /** Fast EWMA of raw values (half-life one window): where a shift has got to. */
  fast: number;
  /** One-sided CUSUM statistics (in predictive standard deviations) for rises and falls. */
  cusumUp: number;
  cusumDown: number;
  /** Anomalous windows of the current shift, signed (+3 = three rising); an ordinary window resets it. */
  run: number;
  /** Running 99th percentile of this key's point-test surprises; above nominal it raises the threshold. */
  noise: number;
  /** 1 while every value has been a non-negative integer (count model), 0 once one was not. */
  counts: number;
  /** The long-memory layer (likelihood.ts), updated by detector.ts alongside the numbers above. */
  long: LongState;
}

/** Nominal value of `KeyState.noise` for a key the model describes well (measured by simulation). */
export const NOMINAL_NOISE = 2.5;
/** The spread statistics remember this many times longer than the level: spreads need more data. */
const SPREAD_MEMORY = 2;

/** `state` made new again in place (its arrays reused), as newKeyState() would make it. */
export function resetKeyState(state: KeyState): KeyState {
  state.n = state.level = state.variance = state.absError = state.upperVariance = state.upperAbs = state.fast = 0;
  state.cusumUp = state.cusumDown = state.run = 0;
  state.noise = NOMINAL_NOISE;
  state.counts = 1;
  resetLongState(state.long);
  return state;
}

export function newKeyState(): KeyState {
  return {
    n: 0, level: 0, variance: 0, absError: 0, upperVariance: 0, upperAbs: 0, fast: 0,
    cusumUp: 0, cusumDown: 0, run: 0, noise: NOMINAL_NOISE, counts: 1, long: newLongState(),
  };
}

/** Level errors are clipped at this many predictive standard deviations before they move the level. */
export const WINSOR = 3.5;
/** Errors are clipped at this many predictive standard deviations before they feed the spread. */
const SPREAD_WINSOR = 5;
const FAST_RATE = 0.5;
const MAX_ERROR = 1e150;
const N_CAP = 1e15;

/** The last half-life ewRate was asked for and its weight (every window asks, nearly always for the same one). */
let lastHalfLife = NaN;
let lastRate = NaN;

/** Per-window EW weight for a half-life h: 1 − 2^(−1/h). */
export function ewRate(halfLifeWindows: number): number {
  if (halfLifeWindows !== lastHalfLife) {
    lastRate = -Math.expm1(-Math.LN2 / halfLifeWindows);
    lastHalfLife = halfLifeWindows;
  }
  return lastRate;
}

/**
 * How many windows the level effectively rests on: n while starting up, then the EW
 * equivalent (2 − α)/α. Its inverse is the variance of the level estimate relative to one
 * window's, which the tests add to their predictive spread.
 */
export function effectiveWindows(state: KeyState, rate: number): number {
  return Math.max(1, Math.min(state.n, (2 - rate) / rate));
}

/** Errors the spread statistics rest on (they remember SPREAD_MEMORY times longer): their degrees of freedom. */
export function spreadWindows(state: KeyState, rate: number): number {
  const spreadRate = rate / SPREAD_MEMORY;
  return Math.max(1, Math.min(state.n - 1, (2 - spreadRate) / spreadRate));
}

/** The smallest rate a count key is credited with: half an event over its effective memory (a Jeffreys-style floor). */
export function rateFloor(state: KeyState, rate: number): number {
  return 0.5 / effectiveWindows(state, rate);
}

/** Index of dispersion φ = variance / mean of a count key (≥ 1 + the level's own uncertainty). */
export function dispersion(state: KeyState, rate: number): number {
  const lambda = Math.max(state.level, rateFloor(state, rate));
  return Math.max(1 + 1 / effectiveWindows(state, rate), state.variance / lambda);
}

/** The first window of a key: the level starts at the value itself. */
export function startBaseline(state: KeyState, value: number): void {
  state.n = 1;
  state.level = value;
  state.fast = value;
  state.variance = 0;
  state.absError = 0;
  state.upperVariance = 0;
  state.upperAbs = 0;
}

/**
 * Starts a count key from a prior instead of cold: `level` is its typical window count so far
 * (≥ 0) and `windows` how many windows that rests on (it counts towards warm-up, so with
 * `windows` ≥ warmupWindows the key may signal at once). The spread is the Poisson one the
 * level implies (variance = level, moments of a normal error); over-dispersion is learned from
 * the windows that follow. For a key that had full state before, or a stream of plain events
 * whose activity was tracked without it (heavy_keys.ts).
 */
export function startFromPrior(state: KeyState, level: number, windows: number): void {
  state.n = Math.max(1, Math.min(N_CAP, Math.floor(windows)));
  state.level = level;
  state.fast = level;
  state.variance = level;
  state.absError = Math.sqrt((2 / Math.PI) * level);
  state.upperVariance = level / 2;
  state.upperAbs = state.absError / 2;
  state.cusumUp = 0;
  state.cusumDown = 0;
  state.run = 0;
  state.noise = NOMINAL_NOISE;
  state.counts = 1;
}

/**
 * Folds one scored window into the baseline. `spread` is the predictive standard deviation the
 * window was scored against; `learnSpread` is false for unusual windows (their error must not
 * widen the notion of normal); `winsorise` is false during warm-up, when the spread is too raw
 * to clip against.
 */
export function learnWindow(
  state: KeyState, value: number, rate: number, spread: number, learnSpread: boolean, winsorise: boolean,
): void {
  const error = value - state.level;
  if (learnSpread) {
    const spreadRate = Math.max(rate / SPREAD_MEMORY, 1 / state.n); // n − 1 errors seen before this one
    // (MAX_ERROR keeps squares finite for absurd values, so no Infinity − Infinity = NaN later.)
    const size = Math.min(Math.abs(error), winsorise ? SPREAD_WINSOR * spread : MAX_ERROR);
    state.variance += spreadRate * (size * size - state.variance);
    state.absError += spreadRate * (size - state.absError);
    state.upperVariance += spreadRate * ((error > 0 ? size * size : 0) - state.upperVariance);
    state.upperAbs += spreadRate * ((error > 0 ? size : 0) - state.upperAbs);
  }
  const limit = winsorise ? WINSOR * spread : Infinity;
  state.level += Math.max(rate, 1 / (state.n + 1)) * Math.max(-limit, Math.min(limit, error));
  state.fast += FAST_RATE * (value - state.fast);
  state.n = Math.min(N_CAP, state.n + 1);
}

/**
 * Accepts a persisting shift as the new normal: the level jumps to the fast tracker, a count
 * key keeps its dispersion (variance scales with the mean), the change-point statistics restart,
 * and the baseline re-enters a short running-mean phase so it settles on the new level quickly.
 */
export function reanchor(state: KeyState, rate: number, memoryWindows: number): void {
  if (state.counts === 1) {
    const phi = Math.max(1, state.variance / Math.max(state.level, rateFloor(state, rate)));
    const variance = phi * Math.max(state.fast, rateFloor(state, rate));
    scaleSpread(state, variance);
  }
  state.level = state.fast;
  state.cusumUp = 0;
  state.cusumDown = 0;
  state.run = 0;
  state.n = Math.min(state.n, memoryWindows);
}

/**
 * Closed form for `windows` further empty windows (value 0) once the detector has already seen
 * enough of a silence to have settled on it: the level, spread and fast tracker decay exactly as
 * an EWMA fed zeros (running-mean phase included), the change-point statistics restart. O(1).
 */
export function decayThroughSilence(state: KeyState, windows: number, rate: number): void {
  const level0 = state.level;
  // Running-mean phase: each zero multiplies the level by n/(n+1) until the EW rate takes over.
  const meanPhase = Math.max(0, Math.min(windows, Math.ceil(1 / rate) - 1 - state.n));
  const meanFactor = state.n / (state.n + meanPhase);
  const keep = Math.exp((windows - meanPhase) * Math.log1p(-rate));
  state.level = level0 * meanFactor * keep;
  // The zeros' squared errors level_t² = level0²(1−α)^(2(t−1)) enter the variance with EW rate β:
  // Σ_t β(1−β)^(R−t)·level_t² = β·level0²·(1−β)^(R−1)·(1 − q^R)/(1 − q), q = (1−α)²/(1−β).
  const beta = rate / SPREAD_MEMORY;
  const q = (1 - rate) ** 2 / (1 - beta);
  const errors = beta * level0 * level0 * Math.exp((windows - 1) * Math.log1p(-beta)) *
    (-Math.expm1(windows * Math.log(q)) / (1 - q));
  scaleSpread(state, state.variance * Math.exp(windows * Math.log1p(-beta)) + errors);
  state.fast *= Math.exp(windows * Math.log1p(-FAST_RATE));
  state.cusumUp = 0;
  state.cusumDown = 0;
  state.run = 0;
  state.n = Math.min(N_CAP, state.n + windows);
}

/** Sets the variance, scaling the other spread moments with it so their ratios (tail weight, skew) survive. */
function scaleSpread(state: KeyState, variance: number): void {
  const ratio = state.variance > 0 ? variance / state.variance : 0;
  state.absError *= Math.sqrt(ratio);
  state.upperAbs *= Math.sqrt(ratio);
  state.upperVariance *= ratio;
  state.variance = variance;
}
