/**
 * The single-window ("point") tests: how unlikely one window's value is under the key's
 * baseline, plus the near-normal deviate of that value that the CUSUM accumulates.
 *
 * Counts get an over-dispersion aware Poisson tail; real values a Student-t whose tail weight
 * and skew come from the key's own running moments. Both read the state and never change it;
 * the result they return is reused by the next call.
 */

import { dispersion, rateFloor, spreadWindows } from "./baseline.ts";
import type { KeyState } from "./baseline.ts";
import {
  degreesFromGeary, logPoissonLower, logPoissonUpper, logStudentUpper, poissonDeviate, studentToNormal,
} from "./detector_stats.ts";

export interface PointTest {
  /** Predictive standard deviation on the side of the expectation the value fell. */
  spread: number;
  /** ln of the one-sided tail probability of the value, on its side. */
  logP: number;
  /** Near-N(0,1) deviate of the value under the baseline, for the CUSUM. */
  deviate: number;
  /** The statistic worth printing (the deviate for counts, z for real values). */
  statistic: number;
}

/** The tests' result, filled in afresh by each call (one window at a time): valid until the next. */
const point: PointTest = { spread: 0, logP: 0, deviate: 0, statistic: 0 };

function setPoint(spread: number, logP: number, deviate: number, statistic: number): PointTest {
  point.spread = spread;
  point.logP = logP;
  point.deviate = deviate;
  point.statistic = statistic;
  return point;
}

/**
 * Counts: Poisson tail of x around λ = level, quasi-Poisson style for over-dispersion: with
 * φ = variance/mean (at least 1 + the level's own relative uncertainty) both x and λ are scaled
 * by 1/φ, which keeps the mean and matches the variance. Exact for φ = 1; log space throughout.
 */
export function countTest(state: KeyState, x: number, rate: number): PointTest {
  const phi = dispersion(state, rate);
  const lambda = Math.max(state.level, rateFloor(state, rate));
  const deviate = poissonDeviate(x / phi, lambda / phi);
  const logP = x >= lambda ? logPoissonUpper(x / phi, lambda / phi) : logPoissonLower(x / phi, lambda / phi);
  return setPoint(Math.sqrt(phi * lambda), logP, deviate, deviate);
}

/** Windows' worth of belief in a symmetric key that its own one-sided moments must outweigh. */
const SHAPE_PRIOR = 30;
/**
 * A measured Geary ratio has a standard error of about 0.25/√windows (less than 0.02 once a few
 * hundred windows are in); GEARY_SLACK/√windows, about two of those, is added before reading off
 * the tail weight, so estimation noise does not make normal keys look heavy-tailed and cost them
 * sensitivity. Tails must show clearly to count.
 */
const GEARY_SLACK = 0.5;

/**
 * Real values: a robust z = (x − level)/spread, referred to Student's t. The spread is a split
 * normal's (each side scaled by its share of the Winsorised variance, for skewed keys); the
 * t's degrees of freedom are the smaller of the tail weight this side's Geary ratio (mean
 * absolute / RMS error) shows and the number of errors the spread rests on. One-sided estimates
 * are shrunk towards their two-sided counterparts (the upper share towards one half) by
 * SHAPE_PRIOR windows, so a young key is treated as symmetric.
 */
export function valueTest(state: KeyState, x: number, rate: number): PointTest {
  const expected = state.level;
  const floor = (1e-9 * Math.max(1, Math.abs(expected))) ** 2;
  const variance = Math.max(state.variance, floor);
  const windows = spreadWindows(state, rate);
  const shrink = (measured: number, prior: number) => (measured * windows + prior * SHAPE_PRIOR) / (windows + SHAPE_PRIOR);

  const up = x >= expected;
  const upperShare = shrink(state.variance > 0 ? state.upperVariance / state.variance : 0.5, 0.5);
  const sideVariance = up ? state.upperVariance : state.variance - state.upperVariance;
  const sideAbs = up ? state.upperAbs : state.absError - state.upperAbs;
  const spread = Math.sqrt(Math.max(2 * (up ? upperShare : 1 - upperShare) * variance, floor));
  const z = (x - expected) / spread;

  const geary = state.absError / Math.sqrt(variance);
  const sideGeary = sideVariance > 0 ? (Math.SQRT2 * sideAbs) / Math.sqrt(sideVariance) : geary;
  const slack = GEARY_SLACK / Math.sqrt(windows);
  const tail = state.absError > 0 ? degreesFromGeary(shrink(sideGeary, geary) + slack) : Infinity;
  const df = Math.max(1, windows - 1);
  const nu = Math.min(tail, df);
  // A heavy tail is a t scaled to the key's variance; estimation noise is a plain t.
  const t = tail < df ? z * Math.sqrt(tail / (tail - 2)) : z;
  return setPoint(spread, logStudentUpper(Math.abs(t), nu), studentToNormal(t, nu), z);
}
