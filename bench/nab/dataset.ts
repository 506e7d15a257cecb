/**
 * The NAB DEV files (../shared/nab-dev, or TW_NAB_DIR): series and labelled windows as row
 * ranges. Window ends are row timestamps exactly (README), so they are found by equality.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { parseSeriesCsv, parseSeriesTime, type SeriesRow } from "../../app/detect_command.ts";

export interface NabFile {
  /** "category/file.csv", as in the labels. */
  name: string;
  category: string;
  rows: SeriesRow[];
  windows: [number, number][];
}

export function defaultNabDir(): string {
  return process.env.TW_NAB_DIR ?? resolve(process.cwd(), "../shared/nab-dev");
}

export function loadNab(dir = defaultNabDir()): NabFile[] {
  const labels = JSON.parse(readFileSync(join(dir, "labels", "combined_windows.json"), "utf8")) as Record<string, [string, string][]>;
  const files: NabFile[] = [];
  for (const name of Object.keys(labels).sort()) {
    const rows = parseSeriesCsv(readFileSync(join(dir, "data", name), "utf8"));
    const windows = labels[name]!.map(([start, end]): [number, number] => {
      const s = parseSeriesTime(start);
      const e = parseSeriesTime(end);
      const l = rows.findIndex((r) => r.ts === s);
      const r = rows.findIndex((row, i) => i >= l && row.ts === e);
      if (l < 0 || r < 0) throw new Error(`${name}: window ${start} – ${end} does not match row timestamps`);
      return [l, r];
    });
    files.push({ name, category: name.split("/")[0]!, rows, windows });
  }
  return files;
}

/**
 * Two halves for an honest figure: within each category, files alternate between halves in
 * name order, so both halves hold every kind of series.
 */
export function splitHalves<F extends { category: string }>(files: readonly F[]): [F[], F[]] {
  const a: F[] = [];
  const b: F[] = [];
  const seen = new Map<string, number>();
  for (const f of files) {
    const i = seen.get(f.category) ?? 0;
    seen.set(f.category, i + 1);
    (i % 2 === 0 ? a : b).push(f);
  }
  return [a, b];
}
