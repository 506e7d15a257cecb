/**
 * Synthetic series for detector tests: rows at a fixed step (5 minutes unless told) from a
 * Monday 00:00 UTC, each value drawn by a seeded shape (a mean curve plus Gaussian or Poisson noise).
 */
import type { SeriesPoint } from "../../actors/detect/series.ts";
import { gaussian, mulberry32, poisson } from "./random.ts";

export const ROW_MS = 5 * 60_000;
export const ROWS_PER_DAY = 86_400_000 / ROW_MS;
/** Monday 2024-01-01 00:00 UTC: day d of a series starts at row d·ROWS_PER_DAY, at midnight. */
export const SERIES_T0 = Date.UTC(2024, 0, 1);

/** A row's value from the PRNG and the row index. */
export type Shape = (random: () => number, row: number) => number;

export const gaussianAround = (mean: (row: number) => number, sd: number): Shape => (random, row) => mean(row) + sd * gaussian(random);
export const poissonAround = (mean: (row: number) => number): Shape => (random, row) => poisson(random, mean(row));

/** A daily sine around `level`: its amplitude and phase (radians) may change with the row. */
export function dailySine(level: number, amplitude: (row: number) => number, phase: (row: number) => number = () => 0): (row: number) => number {
  return (row) => level + amplitude(row) * Math.sin((2 * Math.PI * row) / ROWS_PER_DAY + phase(row));
}

export function syntheticSeries(rows: number, seed: number, shape: Shape, options: { start?: number; stepMs?: number } = {}): SeriesPoint[] {
  const random = mulberry32(seed);
  const start = options.start ?? SERIES_T0;
  const step = options.stepMs ?? ROW_MS;
  return Array.from({ length: rows }, (_, row) => ({ ts: start + row * step, value: shape(random, row) }));
}
