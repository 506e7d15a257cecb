/**
 * Configuration of the statistical trend detector: defaults, validation, and the score scale.
 *
 * Scores live on one scale so that every detector (this one, and later the TF.js model) can be
 * thresholded and ranked alike: with p the window's combined tail probability and
 * S = −log10 p its surprise in decimal digits, score = S / (1 + S). So p = 0.1 → 0.5,
 * p = 1e-4 → 0.8, p = 1e-9 → 0.9, p = 1e-99 → 0.99; unlike 1 − p it never saturates at 1.0,
 * so a 1e-40 surge still ranks above a 1e-12 one.
 */

export interface DetectorConfig {
  /** Windows observed before any signal may fire (cold start). Defaults to 8. */
  warmupWindows: number;
  /**
   * Significance at which a window is anomalous, expressed as a score threshold in [0,1)
   * (see `scoreFromSurprise`). Defaults to 0.85, i.e. p ≤ 2e-6 (NAB-tuned, see bench/nab.ts).
   */
  threshold: number;
  /**
   * Ceiling of the per-key adaptive threshold: a key whose sub-threshold scores run hotter than
   * a well-modelled key's gets a threshold between `threshold` and this. Set equal to
   * `threshold` to turn adaptation off. Defaults to 0.9 (p ≤ 1e-9).
   */
  maxThreshold: number;
  /** Half-life of the baseline level and spread, in windows. Defaults to 30. */
  halfLifeWindows: number;
  /**
   * Minimum absolute change over the expected level to signal (suppresses tiny-count noise).
   * Applies to count-like keys (every value so far a non-negative integer); real-valued keys
   * have no known unit and are exempt. Defaults to 5.
   */
  minDelta: number;
  /**
   * Consecutive anomalous windows in one direction after which the shifted level is accepted as
   * the new normal (the baseline re-anchors and alarms stop). Defaults to 8.
   */
  adaptWindows: number;
  /**
   * Allowance k of the CUSUM change-point test, in predictive standard deviations: sustained
   * shifts larger than k accumulate evidence, smaller ones drain away. Defaults to 1.
   */
  cusumSlack: number;
  /** Window length in milliseconds; used only to word explanations. Defaults to 10 000. */
  windowMs: number;
}

export const defaultDetectorConfig: DetectorConfig = Object.freeze({
  warmupWindows: 8,
  threshold: 0.85,
  maxThreshold: 0.9,
  halfLifeWindows: 30,
  minDelta: 5,
  adaptWindows: 8,
  cusumSlack: 1,
  windowMs: 10_000,
});

/** A detector setting is out of range; `field` names it. */
export class DetectorConfigError extends RangeError {
  constructor(readonly field: string, message: string) {
    super(`detector config ${field}: ${message}`);
    this.name = "DetectorConfigError";
  }
}

type Rule = (v: number) => string | undefined;
const integerAtLeast = (min: number): Rule => (v) =>
  Number.isInteger(v) && v >= min ? undefined : `must be an integer ≥ ${min}`;
const inOpenUnit: Rule = (v) => (v > 0 && v < 1 ? undefined : "must be in (0, 1)");
const positive: Rule = (v) => (v > 0 && Number.isFinite(v) ? undefined : "must be a finite number > 0");
const nonNegative: Rule = (v) => (v >= 0 && Number.isFinite(v) ? undefined : "must be a finite number ≥ 0");

const RULES: Record<keyof DetectorConfig, Rule> = {
  warmupWindows: integerAtLeast(2),
  threshold: inOpenUnit,
  maxThreshold: inOpenUnit,
  halfLifeWindows: (v) => (v >= 1 && Number.isFinite(v) ? undefined : "must be a finite number ≥ 1"),
  minDelta: nonNegative,
  adaptWindows: (v) => (Number.isInteger(v) && v >= 1 && v <= 1000 ? undefined : "must be an integer in [1, 1000]"),
  cusumSlack: (v) => (v >= 0.25 && v <= 5 ? undefined : "must be in [0.25, 5]"),
  windowMs: positive,
};

/** Builds a frozen config from defaults plus `partial`; throws DetectorConfigError (a RangeError) naming the bad field. */
export function detectorConfig(partial: Partial<DetectorConfig> = {}): DetectorConfig {
  const config = { ...defaultDetectorConfig };
  for (const [field, value] of Object.entries(partial)) {
    if (!(field in RULES)) throw new DetectorConfigError(field, "is not a detector setting");
    if (value === undefined) continue;
    const key = field as keyof DetectorConfig;
    const problem = typeof value === "number" ? RULES[key](value) : "must be a number";
    if (problem !== undefined) throw new DetectorConfigError(key, `${problem}, got ${String(value)}`);
    config[key] = value;
  }
  if (config.maxThreshold < config.threshold) {
    throw new DetectorConfigError("maxThreshold", `must be ≥ threshold (${config.threshold}), got ${config.maxThreshold}`);
  }
  return Object.freeze(config);
}

/** score = S / (1 + S) for a surprise S = −log10 p ≥ 0. */
export function scoreFromSurprise(surprise: number): number {
  return surprise / (1 + surprise);
}

/** Inverse of `scoreFromSurprise`: the surprise (−log10 p) a score in [0,1) stands for. */
export function surpriseFromScore(score: number): number {
  return score / (1 - score);
}
