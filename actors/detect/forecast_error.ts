/**
 * Surprise from a forecaster's prediction error: an exponentially weighted mean and variance of
 * past errors, and z = (error − mean) / spread of those errors, taken BEFORE the error is
 * learned, so a spike is measured against the errors that preceded it. Pure numbers, no tensors.
 *
 * Keep one state per key, not per stream: the model is shared by a stream's keys, but how well
 * it predicts differs per key (a smooth key's errors are far smaller than a noisy key's, even
 * in normalised units), and a stream-wide spread would flag every point of a noisy key and hide
 * spikes on smooth ones. The state is three numbers, so a key costs 24 bytes.
 */
export interface ForecastErrorState {
  /** Errors learned so far. */
  count: number;
  mean: number;
  variance: number;
}

export interface ForecastErrorOptions {
  /** Errors after which an old error's weight halves. */
  halfLife: number;
  /** Variance assumed before any error, weighted like one observation (normalised units: 1). */
  priorVariance: number;
  /** Smallest spread z divides by, so a near-perfect fit does not turn noise into huge z. */
  minSpread: number;
  /** Errors are learned winsorised to mean ± clipZ spreads, so one spike cannot blow up the spread. */
  clipZ: number;
}

export const defaultForecastErrorOptions: Readonly<ForecastErrorOptions> = Object.freeze({
  halfLife: 200,
  priorVariance: 1,
  minSpread: 0.05,
  clipZ: 4,
});

export function newForecastErrorState(options: ForecastErrorOptions = defaultForecastErrorOptions): ForecastErrorState {
  return { count: 0, mean: 0, variance: options.priorVariance };
}

/** Spread of past errors, floored at minSpread. */
export function forecastErrorSpread(state: ForecastErrorState, options: ForecastErrorOptions = defaultForecastErrorOptions): number {
  return Math.max(Math.sqrt(state.variance), options.minSpread);
}

/** z of `error` against the errors learned so far (does not learn it). */
export function forecastErrorZ(state: ForecastErrorState, error: number, options: ForecastErrorOptions = defaultForecastErrorOptions): number {
  return (error - state.mean) / forecastErrorSpread(state, options);
}

/** Learns `error` into the state (West's incremental EW mean/variance, winsorised). */
export function learnForecastError(state: ForecastErrorState, error: number, options: ForecastErrorOptions = defaultForecastErrorOptions): void {
  const spread = forecastErrorSpread(state, options);
  const clipped = state.mean + Math.min(options.clipZ, Math.max(-options.clipZ, (error - state.mean) / spread)) * spread;
  // Early on, a plain running average (the prior counting as one error); then EW weighting.
  const alpha = Math.max(1 - 2 ** (-1 / options.halfLife), 1 / (state.count + 2));
  const diff = clipped - state.mean;
  const step = alpha * diff;
  state.mean += step;
  state.variance = (1 - alpha) * (state.variance + diff * step);
  state.count++;
}

/** z of `error` before learning it, then learns it: the per-observation call. */
export function observeForecastError(state: ForecastErrorState, error: number, options: ForecastErrorOptions = defaultForecastErrorOptions): number {
  const z = forecastErrorZ(state, error, options);
  learnForecastError(state, error, options);
  return z;
}
