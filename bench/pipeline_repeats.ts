/**
 * `--repeat N`: the pipeline bench's cases run N times over, each repetition measuring bare and
 * pipeline one after the other, so each repetition's ratio compares two runs seconds apart. On
 * a noisy machine (a VM's neighbours move the bare server's figure by ±30 % from one minute to
 * the next) the median of those ratios says more than any single pair. The main tables then
 * show, per case and deployment, the run with the median headline figure.
 */
import type { RunResult } from "./pipeline_run.ts";
import { headline, target } from "./pipeline_report.ts";
import { formatTable, si } from "./table.ts";

/** Per case, server and transport, the run with the median headline figure (the lower middle of an even count). */
export function medianRuns(results: RunResult[]): RunResult[] {
  const groups = new Map<string, RunResult[]>();
  for (const r of results) {
    const id = `${r.case}|${r.server}|${r.transport ?? ""}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  return [...groups.values()].map((runs) => [...runs].sort((a, b) => headline(a) - headline(b))[(runs.length - 1) >> 1]!);
}

export interface RepeatRatio {
  case: string;
  repeat: number;
  bare: number;
  pipeline: number;
  ratio: number;
  /** With hono measured: its figure for the same case and bodies, and pipeline ÷ it. */
  hono?: number;
  ofHono?: number;
}

export interface RepeatSummary {
  case: string;
  measure: string;
  repeats: number;
  medianRatio: number;
  minRatio: number;
  maxRatio: number;
  target: number;
  met: boolean;
  /** With hono measured: the median of pipeline ÷ hono. */
  medianOfHono?: number;
}

/**
 * Each repetition's embedded pipeline ÷ bare, for the measure the target is set on: batches
 * against the bare server parsing JSON batches (the ceiling), single events by requests/s.
 */
export function repeatRatios(results: RunResult[]): RepeatRatio[] {
  const out: RepeatRatio[] = [];
  const at = (repeat: number, caseName: string, server: string) =>
    results.find((r) => r.repeat === repeat && r.case === caseName && r.server === server && (server !== "pipeline" || r.transport === "embedded"));
  const repeats = new Set(results.map((r) => r.repeat ?? 0));
  for (const repeat of repeats) {
    for (const caseName of ["json", "msgpack", "single"]) {
      const bare = at(repeat, caseName === "single" ? "single" : "json", "bare");
      const pipe = at(repeat, caseName, "pipeline");
      if (!bare || !pipe || headline(bare) <= 0) continue;
      const hono = at(repeat, caseName, "hono");
      const ofHono = hono && headline(hono) > 0 ? { hono: headline(hono), ofHono: headline(pipe) / headline(hono) } : {};
      out.push({ case: caseName, repeat, bare: headline(bare), pipeline: headline(pipe), ratio: headline(pipe) / headline(bare), ...ofHono });
    }
  }
  return out;
}

export function summariseRepeats(ratios: RepeatRatio[]): RepeatSummary[] {
  const out: RepeatSummary[] = [];
  for (const caseName of new Set(ratios.map((r) => r.case))) {
    const own = ratios.filter((r) => r.case === caseName);
    const sorted = own.map((r) => r.ratio).sort((a, b) => a - b);
    const medianRatio = median(sorted);
    const ofHono = own.flatMap((r) => (r.ofHono === undefined ? [] : [r.ofHono]));
    out.push({
      case: caseName,
      measure: caseName === "single" ? "requests/s (202)" : "events/s end to end ÷ bare JSON parse",
      repeats: sorted.length, medianRatio, minRatio: sorted[0]!, maxRatio: sorted.at(-1)!, target, met: medianRatio >= target,
      ...(ofHono.length > 0 ? { medianOfHono: median(ofHono) } : {}),
    });
  }
  return out;
}

/** The median (the mean of the middle two of an even count). */
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function printRepeats(ratios: RepeatRatio[], summary: RepeatSummary[]): void {
  const pct = (x: number | undefined) => (x === undefined ? "" : `${(100 * x).toFixed(0)} %`);
  const withHono = ratios.some((r) => r.ofHono !== undefined);
  const honoHead = withHono ? ["hono", "pipeline/hono"] : [];
  console.log(`\nEach repetition, ${withHono ? "bare, hono" : "bare"} and pipeline measured one after the other:\n`);
  console.log(formatTable(
    ["case", "repeat", "bare", "pipeline", "pipeline/bare", ...honoHead],
    ratios.map((r) => [r.case, r.repeat + 1, si(r.bare), si(r.pipeline), pct(r.ratio), ...(withHono ? [r.hono === undefined ? "" : si(r.hono), pct(r.ofHono)] : [])]),
    [false, true, true, true, true, ...honoHead.map(() => true)],
  ));
  console.log("");
  console.log(formatTable(
    ["case", "measure", "repeats", "median pipeline/bare", "range", "target", "met", ...(withHono ? ["median pipeline/hono"] : [])],
    summary.map((s) => [s.case, s.measure, s.repeats, pct(s.medianRatio), `${pct(s.minRatio)} – ${pct(s.maxRatio)}`, `≥ ${pct(s.target)}`, s.met ? "yes" : "NO", ...(withHono ? [pct(s.medianOfHono)] : [])]),
    [false, false, true, true, false, true, false, ...(withHono ? [true] : [])],
  ));
}
