/**
 * The pipeline bench's report: one row per case and server, then the pipeline/bare ratios
 * with the targets (≥ 50 % of the parse-only ceiling) marked met or missed.
 */
import type { RunResult } from "./pipeline_run.ts";
import { formatTable, ms, si } from "./table.ts";

export interface Comparison {
  case: string;
  measure: string;
  bare: number;
  pipeline: number;
  ratio: number;
  /** Present when the issue sets a target for this ratio. */
  target?: number;
  met?: boolean;
}

export const target = 0.5;

function find(results: RunResult[], caseName: string, server: string): RunResult | undefined {
  return results.find((r) => r.case === caseName && r.server === server);
}

export function comparisons(results: RunResult[]): Comparison[] {
  const out: Comparison[] = [];
  const add = (caseName: string, measure: string, bare: number | undefined, pipeline: number | undefined, withTarget: boolean) => {
    if (bare === undefined || pipeline === undefined || bare <= 0) return;
    const ratio = pipeline / bare;
    out.push({ case: caseName, measure, bare, pipeline, ratio, ...(withTarget ? { target, met: ratio >= target } : {}) });
  };
  const bareJson = find(results, "json", "bare");
  for (const c of ["json", "msgpack"]) {
    const bare = find(results, c, "bare");
    const pipe = find(results, c, "pipeline");
    // The ceiling is the bare server parsing JSON batches, whatever the pipeline is fed.
    add(c, "events/s end to end ÷ bare JSON parse", bareJson?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, true);
    if (c === "msgpack") add(c, "events/s end to end ÷ bare MessagePack parse", bare?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, false);
    add(c, "events/s accepted at the edge", bare?.ingestEventsPerSec, pipe?.ingestEventsPerSec, false);
    add(c, "server CPU µs per event (ratio > 1 costs more)", bare?.serverCpuUsPerEvent, pipe?.serverCpuUsPerEvent, false);
  }
  const bare = find(results, "single", "bare");
  const pipe = find(results, "single", "pipeline");
  add("single", "requests/s (202)", bare?.requestsPerSec, pipe?.requestsPerSec, true);
  add("single", "events/s end to end", bare?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, false);
  add("single", "server CPU µs per request (ratio > 1 costs more)", bare?.serverCpuUsPerEvent, pipe?.serverCpuUsPerEvent, false);
  add("single", "p50 latency (ms; ratio > 1 is slower)", bare?.latency.p50Ms, pipe?.latency.p50Ms, false);
  add("single", "p99 latency (ms; ratio > 1 is slower)", bare?.latency.p99Ms, pipe?.latency.p99Ms, false);
  return out;
}

function rejectedText(r: RunResult): string {
  const parts = Object.entries(r.rejected).map(([s, n]) => `${n}×${s}`);
  if (r.errors > 0) parts.push(`${r.errors} errors`);
  return parts.length > 0 ? parts.join(" ") : "0";
}

function pct(n: number | undefined): string | undefined {
  return n === undefined ? undefined : `${n.toFixed(0)} %`;
}

export function printPipelineReport(results: RunResult[]): void {
  const rows = results.map((r) => [
    r.case,
    r.server,
    r.connections,
    r.meanBodyBytes,
    si(r.requestsPerSec),
    si(r.ingestEventsPerSec),
    r.endToEnd ? si(r.endToEnd.eventsPerSec) + (r.endToEnd.drained ? "" : " (not drained)") : si(r.ingestEventsPerSec),
    r.endToEnd ? ms(r.endToEnd.drainMs) : undefined,
    ms(r.latency.p50Ms),
    ms(r.latency.p99Ms),
    rejectedText(r),
    r.serverCpuUsPerEvent === undefined ? undefined : r.serverCpuUsPerEvent.toFixed(r.serverCpuUsPerEvent < 10 ? 2 : 1),
    pct(r.serverCpuPercent),
    pct(r.generatorCpuPercent),
    pct(r.otherCpuPercent),
    r.serverPeakRssMB?.toFixed(0),
  ]);
  console.log(
    formatTable(
      ["case", "server", "conns", "body B", "req/s (202)", "ingest ev/s", "end-to-end ev/s", "drain ms", "p50 ms", "p99 ms", "non-202", "CPU µs/event", "server CPU", "loadgen CPU", "other CPU", "peak RSS MB"],
      rows,
      [false, false, true, true, true, true, true, true, true, true, false, true, true, true, true, true],
    ),
  );
  console.log(
    "\nbare: end-to-end = ingest (it only parses). CPU µs/event: server CPU (all threads) per event that went all the way through" +
      " (pipeline: from the phase start until drained). CPU %: of one core during the measured phase (other: every other process" +
      " on the machine — high values mean the run competed with other load).\n",
  );
  const cmp = comparisons(results);
  if (cmp.length === 0) return;
  const fmt = (c: Comparison, v: number) => (c.measure.includes("latency") || c.measure.includes("CPU") ? ms(v) : si(v));
  console.log(
    formatTable(
      ["case", "measure", "bare", "pipeline", "pipeline/bare", "target", "met"],
      cmp.map((c) => [c.case, c.measure, fmt(c, c.bare), fmt(c, c.pipeline), `${(c.ratio * 100).toFixed(0)} %`, c.target === undefined ? "" : `≥ ${c.target * 100} %`, c.met === undefined ? "" : c.met ? "yes" : "NO"]),
      [false, false, true, true, true, true, false],
    ),
  );
}
