/**
 * The pipeline bench's report: one row per case and deployment; the embedded pipeline against
 * the bare parse-only ceiling (target ≥ 50 %), and, when measured, against the same server on
 * Hono (the framework's own ceiling); the JetStream pipeline against the embedded one
 * measured in the same run (target ≥ 60 % of its events/s); where each process's CPU went;
 * and the event-to-trend latency phase (target p99 < one window + 250 ms). Targets are
 * reported, never asserted.
 */
import type { RunResult } from "./pipeline_run.ts";
import type { LatencyResult } from "./latency_phase.ts";
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

export interface TransportComparison {
  case: string;
  measure: string;
  embedded: number;
  nats: number;
  /** nats ÷ embedded. */
  ratio: number;
  target?: number;
  met?: boolean;
}

/**
 * The framework's own ceiling (with `--servers` including hono): the parse-only server on Hono
 * against the bare one, and the pipeline against it, each case with the bodies it is fed.
 */
export interface FrameworkComparison {
  case: string;
  measure: string;
  bare: number;
  hono: number;
  /** hono ÷ bare: what the framework keeps of the bare ceiling by itself. */
  honoOfBare: number;
  /** With the pipeline measured: its figure, and pipeline ÷ hono, what it keeps of the framework's ceiling. */
  pipeline?: number;
  pipelineOfHono?: number;
}

export interface LatencyComparison {
  deployment: string;
  path: string;
  measure: string;
  p50Ms: number;
  p99Ms: number;
  targetMs?: number;
  met?: boolean;
}

export const target = 0.5;
export const natsTarget = 0.6;

function find(results: RunResult[], caseName: string, server: string, transport?: string): RunResult | undefined {
  return results.find((r) => r.case === caseName && r.server === server && (transport === undefined || r.transport === transport));
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
    const pipe = find(results, c, "pipeline", "embedded");
    // The ceiling is the bare server parsing JSON batches, whatever the pipeline is fed.
    add(c, "events/s end to end ÷ bare JSON parse", bareJson?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, true);
    if (c === "msgpack") add(c, "events/s end to end ÷ bare MessagePack parse", bare?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, false);
    add(c, "events/s accepted at the edge", bare?.ingestEventsPerSec, pipe?.ingestEventsPerSec, false);
    add(c, "server CPU µs per event (ratio > 1 costs more)", bare?.serverCpuUsPerEvent, pipe?.serverCpuUsPerEvent, false);
  }
  const bare = find(results, "single", "bare");
  const pipe = find(results, "single", "pipeline", "embedded");
  add("single", "requests/s (202)", bare?.requestsPerSec, pipe?.requestsPerSec, true);
  add("single", "events/s end to end", bare?.ingestEventsPerSec, pipe?.endToEnd?.eventsPerSec, false);
  add("single", "server CPU µs per request (ratio > 1 costs more)", bare?.serverCpuUsPerEvent, pipe?.serverCpuUsPerEvent, false);
  add("single", "p50 latency (ms; ratio > 1 is slower)", bare?.latency.p50Ms, pipe?.latency.p50Ms, false);
  add("single", "p99 latency (ms; ratio > 1 is slower)", bare?.latency.p99Ms, pipe?.latency.p99Ms, false);
  return out;
}

/** What a run is judged by: requests/s for single events, events/s end to end for batches (a reference server's: accepted). */
export function headline(r: RunResult): number {
  if (r.case === "single") return r.requestsPerSec;
  return r.server === "pipeline" ? (r.endToEnd?.eventsPerSec ?? 0) : r.ingestEventsPerSec;
}

export function frameworkComparisons(results: RunResult[]): FrameworkComparison[] {
  const out: FrameworkComparison[] = [];
  for (const c of new Set(results.map((r) => r.case))) {
    const [bare, hono, pipe] = [find(results, c, "bare"), find(results, c, "hono"), find(results, c, "pipeline", "embedded")].map((r) => r && headline(r));
    if (!bare || !hono) continue;
    const measure = c === "single" ? "requests/s (202)" : "events/s (pipeline: end to end)";
    out.push({ case: c, measure, bare, hono, honoOfBare: hono / bare, ...(pipe === undefined ? {} : { pipeline: pipe, pipelineOfHono: pipe / hono }) });
  }
  return out;
}

/** JetStream against embedded, case by case, from the same run. */
export function transportComparisons(results: RunResult[]): TransportComparison[] {
  const out: TransportComparison[] = [];
  for (const c of new Set(results.map((r) => r.case))) {
    const emb = find(results, c, "pipeline", "embedded");
    const nats = find(results, c, "pipeline", "nats");
    if (!emb || !nats) continue;
    const add = (measure: string, e: number | undefined, n: number | undefined, withTarget = false) => {
      if (e === undefined || n === undefined || e <= 0) return;
      const ratio = n / e;
      out.push({ case: c, measure, embedded: e, nats: n, ratio, ...(withTarget ? { target: natsTarget, met: ratio >= natsTarget } : {}) });
    };
    add(`events/s end to end (nats ${nats.topology})`, emb.endToEnd?.eventsPerSec, nats.endToEnd?.drained ? nats.endToEnd.eventsPerSec : 0, true);
    add("events/s accepted at the edge", emb.ingestEventsPerSec, nats.ingestEventsPerSec);
    add("CPU µs per event, all processes (ratio > 1 costs more)", emb.serverCpuUsPerEvent, nats.serverCpuUsPerEvent);
    add("request p99 ms (ratio > 1 is slower)", emb.latency.p99Ms, nats.latency.p99Ms);
  }
  return out;
}

export function latencyComparisons(latency: LatencyResult[]): LatencyComparison[] {
  const out: LatencyComparison[] = [];
  for (const l of latency) {
    for (const p of l.paths) {
      const row = (measure: string, s: { count: number; p50Ms: number; p99Ms: number }, targetMs?: number) => {
        if (s.count === 0) return;
        out.push({ deployment: l.label, path: p.path, measure, p50Ms: s.p50Ms, p99Ms: s.p99Ms, ...(targetMs !== undefined ? { targetMs, met: s.p99Ms < targetMs && p.missed === 0 } : {}) });
      };
      row("signal − first event of the window", p.fromFirstEvent, l.targetMs);
      row("signal − window end", p.afterWindowEnd);
      row("detect emittedAt − window end", p.emittedAfterEnd);
    }
  }
  return out;
}

/** Responses other than 202 by status (`462×503`), and connection errors; "0" when none. */
export function rejectedText(rejected: Record<string, number>, errors = 0): string {
  const parts = Object.entries(rejected).map(([s, n]) => `${n}×${s}`);
  if (errors > 0) parts.push(`${errors} errors`);
  return parts.length > 0 ? parts.join(" ") : "0";
}

function pct(n: number | undefined): string | undefined {
  return n === undefined ? undefined : `${n.toFixed(0)} %`;
}

const ratioText = (r: number) => `${(r * 100).toFixed(0)} %`;
const metText = (met: boolean | undefined) => (met === undefined ? "" : met ? "yes" : "NO");

export function printPipelineReport(results: RunResult[], latency: LatencyResult[] = []): void {
  const rows = results.map((r) => [
    r.case,
    r.label,
    r.connections,
    r.meanBodyBytes,
    si(r.requestsPerSec),
    si(r.ingestEventsPerSec),
    r.failed ? "FAILED" : r.endToEnd ? si(r.endToEnd.eventsPerSec) + (r.endToEnd.drained ? "" : " (not drained)") : si(r.ingestEventsPerSec),
    r.endToEnd ? ms(r.endToEnd.drainMs) : undefined,
    ms(r.latency.p50Ms),
    ms(r.latency.p99Ms),
    rejectedText(r.rejected, r.errors),
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
  for (const r of results.filter((x) => x.failed)) console.log(`\n${r.case} / ${r.label} FAILED: ${r.failed} (see the notes in the JSON)`);
  console.log(
    "\nbare, hono: end-to-end = ingest (they only parse). embedded: end-to-end counts events aggregated (/metrics); nats: events accepted" +
      " by ingest once every consumer of TW_RAW, TW_EVENTS and TW_AGG has acknowledged everything (nats-server /jsz). CPU µs/event:" +
      " CPU of every process of the deployment (nats-server included) per event that went all the way through, from the phase" +
      " start until drained. CPU %: of one core during the measured phase, summed over the deployment's processes (other: every" +
      " other process on the machine — high values mean the run competed with other load). Peak RSS: summed over processes.\n",
  );
  const multi = results.filter((r) => r.processes.length > 1);
  if (multi.length > 0) {
    console.log(
      formatTable(
        ["case", "server", "process", "pid", "CPU during load", "CPU ms to drained", "peak RSS MB"],
        multi.flatMap((r) => r.processes.map((p) => [r.case, r.label, p.role, p.pid, pct(p.cpuPercent), p.cpuMsToDrained?.toFixed(0), p.peakRssMB?.toFixed(0)])),
        [false, false, false, true, true, true, true],
      ),
    );
    console.log("");
  }
  const threaded = results.filter((r) => r.server === "pipeline").flatMap((r) => r.processes.filter((p) => p.threads).map((p) => ({ r, p, t: p.threads! })));
  if (threaded.length > 0) {
    console.log(
      formatTable(
        ["case", "server", "process", "threads", "main thread", "main waiting", "busiest other thread", "its waiting", "all but main"],
        threaded.map(({ r, p, t }) => [
          r.case, r.label, p.role, t.count,
          pct(t.mainCpuPercent), pct(t.mainWaitPercent), pct(t.busiestOtherCpuPercent), pct(t.busiestOtherWaitPercent), pct(t.othersCpuPercent),
        ]),
        [false, false, false, true, true, true, true, true, true],
      ),
    );
    console.log(
      "Threads: CPU during the measured phase, % of one core, from /proc/<pid>/task. In an embedded pipeline on two threads the" +
        " busiest other thread is normally the stages thread; the rest are V8's GC helpers and the I/O pool. Waiting: the time the" +
        " thread could have run but waited for a core (/proc/<pid>/task/<tid>/schedstat; – where the kernel does not keep it). A" +
        " thread whose CPU and waiting add up to near 100 % was never idle: it is the limit, and below 100 % CPU the cores it" +
        " shares (with the other threads and the load generator) are too few for it; a thread blocked in a synchronous write or" +
        " fsync counts as neither. When no thread is near 100 %, latency is the limit (one-event requests at moderate concurrency" +
        " wait for their group's fsync).\n",
    );
  }
  const cmp = comparisons(results);
  if (cmp.length > 0) {
    const fmt = (c: Comparison, v: number) => (c.measure.includes("latency") || c.measure.includes("CPU") ? ms(v) : si(v));
    console.log(
      formatTable(
        ["case", "measure", "bare", "pipeline", "pipeline/bare", "target", "met"],
        cmp.map((c) => [c.case, c.measure, fmt(c, c.bare), fmt(c, c.pipeline), ratioText(c.ratio), c.target === undefined ? "" : `≥ ${c.target * 100} %`, metText(c.met)]),
        [false, false, true, true, true, true, false],
      ),
    );
    console.log("");
  }
  const fcmp = frameworkComparisons(results);
  if (fcmp.length > 0) {
    console.log(
      formatTable(
        ["case", "measure", "bare", "hono", "hono/bare", "pipeline", "pipeline/hono"],
        fcmp.map((c) => [c.case, c.measure, si(c.bare), si(c.hono), ratioText(c.honoOfBare), c.pipeline === undefined ? "" : si(c.pipeline), c.pipelineOfHono === undefined ? "" : ratioText(c.pipelineOfHono)]),
        [false, false, true, true, true, true, true],
      ),
    );
    console.log(
      "hono: the bare server's work served as Trendwire serves its routes but the direct one (a Hono app on @hono/node-server" +
        " through the Node adapter; on Node the pipeline answers its POST of events without Hono): hono/bare is what the framework" +
        " keeps of the bare ceiling by itself, pipeline/hono what the pipeline keeps of the framework's. Each case against the" +
        " same bodies (the target above compares batches with bare JSON).\n",
    );
  }
  const tcmp = transportComparisons(results);
  if (tcmp.length > 0) {
    const fmt = (c: TransportComparison, v: number) => (c.measure.includes("ms") || c.measure.includes("CPU") ? ms(v) : si(v));
    console.log(
      formatTable(
        ["case", "measure", "embedded", "nats", "nats/embedded", "target", "met"],
        tcmp.map((c) => [c.case, c.measure, fmt(c, c.embedded), fmt(c, c.nats), ratioText(c.ratio), c.target === undefined ? "" : `≥ ${c.target * 100} %`, metText(c.met)]),
        [false, false, true, true, true, true, false],
      ),
    );
    console.log("");
  }
  if (latency.length > 0) printLatencyReport(latency);
}

function printLatencyReport(latency: LatencyResult[]): void {
  const l0 = latency[0]!;
  console.log(
    `Event-to-trend latency: ${l0.windowMs / 1000} s windows, --max-out-of-order-ms ${l0.maxOutOfOrderMs}, steady ${si(l0.rate)} events/s` +
      ` (ts = now) every ${l0.intervalMs} ms, one key surging by ${l0.surgeEvents} events (baseline ~${l0.baselinePerWindow}/window) per window.`,
  );
  console.log(
    formatTable(
      ["server", "signals via", "load ev/s", "surges", "missed", "other", "first event → signal p50", "p99", "window end → signal p50", "p99", "end → emittedAt p99", "load p99 ms", "non-202", "late/DLQ", "target p99", "met"],
      latency.flatMap((l) =>
        l.paths.map((p) => [
          l.label,
          p.path,
          si(l.acceptedEventsPerSec),
          p.surges,
          p.missed,
          p.otherSignals,
          ms(p.fromFirstEvent.count ? p.fromFirstEvent.p50Ms : undefined),
          ms(p.fromFirstEvent.count ? p.fromFirstEvent.p99Ms : undefined),
          ms(p.afterWindowEnd.count ? p.afterWindowEnd.p50Ms : undefined),
          ms(p.afterWindowEnd.count ? p.afterWindowEnd.p99Ms : undefined),
          ms(p.emittedAfterEnd.count ? p.emittedAfterEnd.p99Ms : undefined),
          ms(l.requests.p99Ms),
          rejectedText(l.rejected),
          l.late ?? l.deadLetterMessages,
          `< ${l.targetMs}`,
          metText(p.fromFirstEvent.count > 0 ? p.fromFirstEvent.p99Ms < l.targetMs && p.missed === 0 : false),
        ]),
      ),
      [false, false, true, true, true, true, true, true, true, true, true, true, false, true, true, false],
    ),
  );
  for (const l of latency.filter((x) => x.failed)) console.log(`\n${l.label}: latency phase FAILED: ${l.failed} (signals received until then are counted above)`);
  console.log(
    "\nfirst event → signal: from sending the window's first request (it carries the surge; its events are the first of the" +
      " window) to the signal's arrival at the subscriber — the issue's reading, target < one window + 250 ms. window end →" +
      " signal: after the window's end in event time (≈ wall time here), at least the watermark lag. end → emittedAt: inside" +
      " the pipeline (detect's clock), without delivery. other: signals of keys/windows that did not surge. late/DLQ: events" +
      " dead-lettered late (embedded) or dead-letter messages (nats). p99 of few surges is their maximum.\n",
  );
}
