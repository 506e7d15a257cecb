/**
 * One series, scored row by row: what `trendwire detect --csv` runs, and what the live detect
 * actor runs per key (each closed window is one row, scored at its start time). Scores are in
 * [0, 1) and depend only on the rows up to and including the one scored.
 */
import { newKeyState, observe, type DetectorConfig, type Observation } from "./detector.ts";
import type { ForecastModel } from "./likelihood.ts";

export interface SeriesPoint {
  /** Epoch ms of the row (the window start, live). */
  ts: number;
  value: number;
}

/**
 * Scores the rows lazily, one Observation per row as it is pulled (a long series never sits in
 * memory twice). With `model` (a fresh forecaster, as the live actor makes per stream) its
 * prediction errors vote too; a live stream with one key feeds its model the same rows.
 */
export function* streamScores(points: Iterable<SeriesPoint>, config: DetectorConfig, model?: ForecastModel): Generator<Observation> {
  const state = newKeyState();
  for (const p of points) yield observe(state, p.value, config, 0, p.ts, model);
}

export function scoreSeries(points: readonly SeriesPoint[], config: DetectorConfig, model?: ForecastModel): Observation[] {
  return [...streamScores(points, config, model)];
}
