/**
 * One series, scored row by row: what `trendwire detect --csv` runs, and what the live detect
 * actor runs per key (each closed window is one row). Scores are in [0, 1) and depend only on
 * the rows up to and including the one scored.
 */
import { newKeyState, observe, type DetectorConfig, type Observation } from "./detector.ts";

export interface SeriesPoint {
  /** Epoch ms of the row (the window start, live). */
  ts: number;
  value: number;
}

export function scoreSeries(points: readonly SeriesPoint[], config: DetectorConfig): Observation[] {
  const state = newKeyState();
  const out: Observation[] = [];
  for (const p of points) out.push(observe(state, p.value, config, 0, p.ts));
  return out;
}
