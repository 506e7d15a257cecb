/**
 * One measurement of the pipeline bench: start a server (the bare parse-only server or the
 * real Trendwire CLI) in a child process, warm it up, let the pipeline drain, drive it for the
 * measured duration, wait until everything accepted has been aggregated, and stop it.
 *
 * End-to-end rate = events aggregated during the measured phase ÷ (time from its first request
 * until `/metrics` shows the pipeline drained). The pipeline is drained before the phase
 * starts, so exactly the events accepted in the phase are counted.
 */
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HttpLoad, type PhaseResult } from "./http_load.ts";
import { startChild, type ServerChild } from "./child.ts";
import { fetchMetricTotals, total, type MetricTotals } from "./prom.ts";
import type { BodySet } from "./events.ts";
import type { LatencySummary } from "./latency.ts";
import { machineBusyCpuMs } from "./machine.ts";

export type ServerKind = "bare" | "pipeline";

export interface RunSpec {
  caseName: string;
  server: ServerKind;
  contentType: string;
  bodies: BodySet;
  connections: number;
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  /** dist/ of this build (holds app/main.js and bench/bare_server.js). */
  distDir: string;
  /** The pipeline's data directory (a fresh temp dir). */
  dataDir: string;
  /** Extra arguments for `trendwire run`. */
  runArgs: string[];
  /** Write a V8 CPU profile of the pipeline process here (`--cpu-prof`). */
  profile?: { dir: string; name: string };
}

export interface EndToEnd {
  /** Events folded into windows during the phase and its drain. */
  aggregated: number;
  eventsPerSec: number;
  /** Accepted but not yet aggregated when the load stopped. */
  backlogAtLoadEnd: number;
  /** From the last response until drained (or the drain timeout). */
  drainMs: number;
  drained: boolean;
  /** Events the server counted as accepted (`tw_events_accepted_total`) in the phase. */
  acceptedByServer: number;
  late: number;
  invalid: number;
}

export interface RunResult {
  case: string;
  server: ServerKind;
  connections: number;
  eventsPerRequest: number;
  meanBodyBytes: number;
  elapsedMs: number;
  responses: number;
  /** 202 responses per second. */
  requestsPerSec: number;
  /** Accepted events per second at the edge (202s × events per request). */
  ingestEventsPerSec: number;
  acceptedEvents: number;
  /** Responses other than 202, by status. */
  rejected: Record<string, number>;
  errors: number;
  latency: LatencySummary;
  endToEnd?: EndToEnd;
  /**
   * Server CPU (all threads) per event that went all the way through (pipeline: aggregated,
   * measured from the phase start until drained; bare: accepted, during the phase), in µs.
   * Less sensitive to other load on the machine than the rates.
   */
  serverCpuUsPerEvent?: number;
  /** Server process CPU during the load phase, % of one core (all its threads). */
  serverCpuPercent?: number;
  generatorCpuPercent: number;
  /** CPU used by every other process on the machine during the phase, % of one core (noise). */
  otherCpuPercent?: number;
  serverPeakRssMB?: number;
  serverLogLevels: Record<string, number>;
}

const accepted = "tw_events_accepted_total";
const processedNames = ["tw_events_aggregated_total", "tw_events_late_total", "tw_events_invalid_total"];

function processed(m: MetricTotals): number {
  return processedNames.reduce((n, name) => n + total(m, name), 0);
}

/** Polls `/metrics` until every accepted event has been aggregated (or dead-lettered), or the timeout. */
async function drain(port: number, timeoutMs: number): Promise<{ drained: boolean; at: number; metrics: MetricTotals }> {
  const start = performance.now();
  for (;;) {
    const metrics = await fetchMetricTotals(port);
    const at = performance.now();
    const drained = processed(metrics) >= total(metrics, accepted);
    if (drained || at - start >= timeoutMs) return { drained, at, metrics };
    await sleep(50);
  }
}

function startServer(spec: RunSpec): Promise<ServerChild> {
  if (spec.server === "bare") {
    return startChild({
      name: "bare server",
      args: [path.join(spec.distDir, "bench/bare_server.js"), "--port", "0"],
      portFrom: (line) => (line.startsWith('{"listening"') ? (JSON.parse(line) as { listening: number }).listening : undefined),
    });
  }
  return startChild({
    name: "trendwire pipeline",
    nodeFlags: spec.profile ? ["--cpu-prof", `--cpu-prof-dir=${spec.profile.dir}`, `--cpu-prof-name=${spec.profile.name}`] : [],
    args: [path.join(spec.distDir, "app/main.js"), "run", "--port", "0", "--host", "127.0.0.1", "--data-dir", spec.dataDir, ...spec.runArgs],
    portFrom: (line) => {
      const m = /"listening on http:\/\/[^"]*:(\d+)"/.exec(line);
      return m ? Number(m[1]) : undefined;
    },
  });
}

export async function runOne(spec: RunSpec, progress: (msg: string) => void): Promise<RunResult> {
  const child = await startServer(spec);
  const load = new HttpLoad({
    host: "127.0.0.1",
    port: child.port,
    path: "/v1/streams/bench/events",
    contentType: spec.contentType,
    bodies: spec.bodies.bodies,
    eventsPerBody: spec.bodies.eventsPerBody,
    connections: spec.connections,
  });
  const isPipeline = spec.server === "pipeline";
  try {
    progress(`${spec.caseName} / ${spec.server}: warm-up ${spec.warmupMs / 1000} s`);
    if (spec.warmupMs > 0) await load.run(spec.warmupMs);
    const before = isPipeline ? await drain(child.port, spec.drainTimeoutMs) : undefined;
    if (before && !before.drained) progress(`  warning: warm-up backlog not drained within ${spec.drainTimeoutMs / 1000} s`);
    progress(`${spec.caseName} / ${spec.server}: measuring ${spec.durationMs / 1000} s with ${spec.connections} connections`);
    const cpu0 = child.cpuMs();
    const machine0 = machineBusyCpuMs();
    const t0 = performance.now();
    const phase: PhaseResult = await load.run(spec.durationMs);
    const loadEnd = performance.now();
    const cpu1 = child.cpuMs();
    const machine1 = machineBusyCpuMs();
    let endToEnd: EndToEnd | undefined;
    let cpuDrained = cpu1;
    if (isPipeline && before) {
      const atLoadEnd = await fetchMetricTotals(child.port);
      const after = await drain(child.port, spec.drainTimeoutMs);
      cpuDrained = child.cpuMs();
      const delta = (name: string) => total(after.metrics, name) - total(before.metrics, name);
      const aggregated = delta("tw_events_aggregated_total");
      endToEnd = {
        aggregated,
        eventsPerSec: aggregated / ((after.at - t0) / 1000),
        backlogAtLoadEnd: total(atLoadEnd, accepted) - processed(atLoadEnd),
        drainMs: after.at - loadEnd,
        drained: after.drained,
        acceptedByServer: delta(accepted),
        late: delta("tw_events_late_total"),
        invalid: delta("tw_events_invalid_total"),
      };
    }
    const seconds = phase.elapsedMs / 1000;
    const rejected: Record<string, number> = {};
    for (const [status, n] of Object.entries(phase.statuses)) if (status !== "202") rejected[status] = n;
    const peak = child.peakRssBytes();
    const serverCpuMs = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
    const otherCpuMs = machine0 !== undefined && machine1 !== undefined && serverCpuMs !== undefined ? machine1 - machine0 - serverCpuMs - phase.generatorCpuMs : undefined;
    const percent = (cpuMs: number) => (cpuMs / phase.elapsedMs) * 100;
    const through = endToEnd ? endToEnd.aggregated : phase.acceptedEvents;
    const cpuPerEvent = cpu0 !== undefined && cpuDrained !== undefined && through > 0 ? ((cpuDrained - cpu0) * 1000) / through : undefined;
    return {
      case: spec.caseName,
      server: spec.server,
      connections: spec.connections,
      eventsPerRequest: spec.bodies.eventsPerBody,
      meanBodyBytes: Math.round(spec.bodies.meanBytes),
      elapsedMs: phase.elapsedMs,
      responses: phase.responses,
      requestsPerSec: phase.accepted202 / seconds,
      ingestEventsPerSec: phase.acceptedEvents / seconds,
      acceptedEvents: phase.acceptedEvents,
      rejected,
      errors: phase.errors,
      latency: phase.latency,
      ...(endToEnd ? { endToEnd } : {}),
      ...(cpuPerEvent !== undefined ? { serverCpuUsPerEvent: cpuPerEvent } : {}),
      ...(serverCpuMs !== undefined ? { serverCpuPercent: percent(serverCpuMs) } : {}),
      generatorCpuPercent: percent(phase.generatorCpuMs),
      ...(otherCpuMs !== undefined ? { otherCpuPercent: Math.max(0, percent(otherCpuMs)) } : {}),
      ...(peak !== undefined ? { serverPeakRssMB: peak / 2 ** 20 } : {}),
      serverLogLevels: child.logLevels,
    };
  } finally {
    load.close();
    const exit = await child.stop(isPipeline ? 45_000 : 5_000);
    if (exit.code !== 0 && exit.code !== null) progress(`  note: ${child.name} exited with code ${exit.code}; last output:\n${child.tail().join("\n")}`);
  }
}
