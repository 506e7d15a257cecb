/**
 * One series, scored row by row: what `trendwire detect --csv` runs, and what the live detect
 * actor runs per key (each closed window is one row, scored at its start time). Scores are in
 * [0, 1) and depend only on the rows up to and including the one scored.
 */
import { newKeyState, observe, type DetectorConfig, type Observation } from "./detector.ts";

export interface SeriesPoint {
  /** Epoch ms of the row (the window start, live). */
  ts: number;
  value: number;
}

/** Scores the rows lazily, one Observation per row as it is pulled (a long series never sits in memory twice). */
export function* streamScores(points: Iterable<SeriesPoint>, config: DetectorConfig): Generator<Observation> {
  const state = newKeyState();
  for (const p of points) yield observe(state, p.value, config, 0, p.ts);
}

export function scoreSeries(points: readonly SeriesPoint[], config: DetectorConfig): Observation[] {
  return [...streamScores(points, config)];
}
