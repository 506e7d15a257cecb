/**
 * Words a scored window as one line a person can act on: what was seen, what was expected, which
 * test says how unlikely that is, and how the score compares with the key's threshold. Numbers
 * are printed by the exported formatters so callers and tests can reproduce them exactly.
 */

import { scoreFromSurprise } from "./detector_config.ts";
import type { DetectorConfig } from "./detector_config.ts";
import type { Scored } from "./detector.ts";
import { SHORT, type LongVote } from "./likelihood.ts";

/** A measurement as printed: integers whole, |x| ≥ 100 rounded to units, else 3 significant digits. */
export function formatNumber(x: number): string {
  const a = Math.abs(x);
  if (Number.isInteger(x) && a < 1e15) return String(x);
  if (a >= 1e15 || (a > 0 && a < 1e-3)) return x.toExponential(2);
  if (a >= 100) return x.toFixed(0);
  return String(Number(x.toPrecision(3)));
}

/** A p-value given as its surprise S = −log10 p, printed even where p itself underflows. */
export function formatP(s: number): string {
  if (s < 3) return String(Number(Math.pow(10, -s).toPrecision(2)));
  let exponent = Math.floor(-s);
  let mantissa = Math.pow(10, -s - exponent);
  if (Number(mantissa.toFixed(1)) >= 10) { mantissa /= 10; exponent += 1; }
  return `${mantissa.toFixed(1)}e${exponent}`;
}

/**
 * Score and threshold with the same number of decimals: three, or more where three would print
 * two different values identically (so "0.800 < 0.800" never appears).
 */
export function formatScores(score: number, threshold: number): [string, string] {
  let digits = 3;
  while (digits < 8 && score !== threshold && score.toFixed(digits) === threshold.toFixed(digits)) digits++;
  return [score.toFixed(digits), threshold.toFixed(digits)];
}

/** A window length as "10s", "5m", "1h" or "250ms". */
export function formatWindow(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${formatNumber(ms)}ms`;
}

export function explain(scored: Scored, config: DetectorConfig): string {
  const noun = scored.counts ? "count" : "value";
  const seen = `${noun} ${formatNumber(scored.observed)} in ${formatWindow(config.windowMs)} window`;
  if (scored.detector === "warmup") {
    return `learning baseline (window 1 of ${config.warmupWindows} before signals): ${seen}`;
  }
  const vs = `${seen} vs expected ${formatNumber(scored.expected)} ± ${formatNumber(scored.spread)}`;
  if (scored.long) return explainLong(scored, scored.long, vs, config);
  const score = scoreFromSurprise(scored.surprise);
  const threshold = scoreFromSurprise(scored.thresholdSurprise);
  const [scoreText, thresholdText] = formatScores(score, threshold);
  const test = scored.detector === "cusum"
    ? `cusum ${formatNumber(scored.statistic)} sd`
    : scored.detector === "robust-z" ? `robust-z z=${formatNumber(scored.statistic)}` : "poisson";
  const comparison = `score ${scoreText} ${score >= threshold ? "≥" : "<"} threshold ${thresholdText}`;
  const evidence = `(${test}, p=${formatP(scored.surprise)}, ${comparison}`;
  const rising = scored.direction === "up";
  if (scored.seen < config.warmupWindows) {
    return `learning baseline (window ${scored.seen + 1} of ${config.warmupWindows} before signals): ${vs} ${evidence})`;
  }
  if (scored.belowMinDelta && score >= threshold) {
    return `change too small to signal: ${vs} ${evidence}, but change ${formatNumber(scored.delta)} < minDelta ${formatNumber(config.minDelta)})`;
  }
  if (!scored.anomalous) return `normal: ${vs} ${evidence})`;
  const what = scored.detector === "cusum"
    ? (rising ? "sustained rise" : "sustained fall")
    : (rising ? "surge" : "drop");
  return `${what}: ${vs} ${evidence})`;
}

const LONG_TESTS: Record<LongVote["detector"], string> = {
  "moving-z": "moving-z",
  seasonal: "seasonal (hour-of-week profile)",
  forecast: "forecast (TensorFlow.js MLP)",
  "out-of-range": "out-of-range",
};

/** A window judged by the long layer (likelihood.ts): which chain, its deviate, and its recent vs usual raw scores. */
function explainLong(scored: Scored, vote: LongVote & { damped: boolean }, vs: string, config: DetectorConfig): string {
  const score = scoreFromSurprise(scored.surprise);
  const threshold = scoreFromSurprise(scored.thresholdSurprise);
  const [scoreText, thresholdText] = formatScores(score, threshold);
  const comparison = `score ${scoreText} ${score >= threshold ? "≥" : "<"} threshold ${thresholdText}`;
  const evidence = vote.detector === "out-of-range"
    ? `beyond the range ${formatNumber(vote.usual)}…${formatNumber(vote.usualSpread)} seen so far by more than ${formatNumber(vote.spread)}`
    : `z=${formatNumber(vote.z)}; mean deviation ${formatNumber(vote.recent)} over the last ${SHORT} windows vs usual ${formatNumber(vote.usual)} ± ${formatNumber(vote.usualSpread)}`;
  const damped = vote.damped ? ", damped: an earlier window of this run already reached p ≤ 1e-5" : "";
  const detail = `${LONG_TESTS[vote.detector]} ${evidence}, p=${formatP(scored.surprise)}${damped}, ${comparison}`;
  if (scored.belowMinDelta && score >= threshold) {
    return `change too small to signal: ${vs} (${detail}, but change ${formatNumber(scored.delta)} < minDelta ${formatNumber(config.minDelta)})`;
  }
  if (!scored.anomalous) return `normal: ${vs} (${detail})`;
  const rising = scored.direction === "up";
  const what = vote.detector === "seasonal" ? (rising ? "above usual for this hour" : "below usual for this hour") : rising ? "surge" : "drop";
  return `${what}: ${vs} (${detail})`;
}
