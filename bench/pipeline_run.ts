/**
 * One throughput measurement of the pipeline bench: start a deployment (the bare parse-only
 * server, the embedded pipeline, or the JetStream pipeline as separate processes), warm it up,
 * let the pipeline drain, drive it for the measured duration, wait until everything accepted
 * has gone all the way through, and stop it.
 *
 * End-to-end rate = events through during the measured phase ÷ (time from its first request
 * until the pipeline is drained). The pipeline is drained before the phase starts, so exactly
 * the events accepted in the phase are counted. "Through" is read where each deployment can
 * see it: embedded, `tw_events_aggregated_total` on /metrics; JetStream (only ingest serves
 * HTTP), the events ingest accepted, once every consumer of TW_RAW, TW_EVENTS and TW_AGG has
 * acknowledged everything (nats-server's /jsz) — each stage acks only after its output is
 * stored, so by then every accepted event is in a window.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { HttpLoad, type PhaseResult } from "./http_load.ts";
import { contentTypes, makeBodies, type BodySet } from "./events.ts";
import type { LatencySummary } from "./latency.ts";
import { machineBusyCpuMs } from "./machine.ts";
import { cpuByRole, exitedRoles, logLevels, sumCpu, type Deployment, type DrainState, type TransportName } from "./deployment.ts";
import type { ThreadTimes } from "./child.ts";

/** A parse-only reference (bare `node:http`, or the same on Hono), or the pipeline. */
export type ServerKind = "bare" | "hono" | "pipeline";

export interface RunSpec {
  caseName: string;
  server: ServerKind;
  contentType: string;
  bodies: BodySet;
  connections: number;
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  /** Starts what is measured (and nothing else runs meanwhile). */
  deploy(): Promise<Deployment>;
}

/** The pipeline bench's cases: JSON and MessagePack batches, one JSON event per request. */
export const caseNames = ["json", "msgpack", "single"] as const;
export type CaseName = (typeof caseNames)[number];

/** How the pipeline bench loads a case: body shape and count, connections, phase lengths. */
export interface CaseLoad {
  batchSize: number;
  /** Distinct pre-encoded bodies sent in rotation. */
  distinct: number;
  keys: number;
  batchConnections: number;
  singleConnections: number;
  warmupS: number;
  durationS: number;
  drainTimeoutS: number;
}

/** The bodies of case `caseName` (json, msgpack: batches of `batchSize`; single: one JSON event each). */
export function caseBodies(caseName: CaseName, load: CaseLoad): BodySet {
  const single = caseName === "single";
  return makeBodies({ format: caseName === "msgpack" ? "msgpack" : "json", eventsPerBody: single ? 1 : load.batchSize, distinct: load.distinct, keys: load.keys, single });
}

/** One run of case `caseName` against what `deploy` starts, with `bodies` (caseBodies). */
export function caseRunSpec(caseName: CaseName, server: ServerKind, load: CaseLoad, bodies: BodySet, deploy: () => Promise<Deployment>): RunSpec {
  return {
    caseName,
    server,
    contentType: contentTypes[caseName === "msgpack" ? "msgpack" : "json"],
    bodies,
    connections: caseName === "single" ? load.singleConnections : load.batchConnections,
    warmupMs: load.warmupS * 1000,
    durationMs: load.durationS * 1000,
    drainTimeoutMs: load.drainTimeoutS * 1000,
    deploy,
  };
}

export interface EndToEnd {
  /** How "through" was counted: aggregated (embedded /metrics) or accepted and drained (JetStream). */
  counted: "aggregated" | "accepted-and-drained";
  /** Events through during the phase and its drain. */
  aggregated: number;
  eventsPerSec: number;
  /** Embedded: events accepted but not yet aggregated when the load stopped. */
  backlogAtLoadEnd?: number;
  /** JetStream: per stream, the most one consumer still had to process when the load stopped (messages). */
  backlogMessagesAtLoadEnd?: Record<string, number>;
  /** From the last response until drained (or the drain timeout). */
  drainMs: number;
  drained: boolean;
  /** Events the server counted as accepted (`tw_events_accepted_total`) in the phase. */
  acceptedByServer: number;
  late?: number;
  invalid?: number;
  /** JetStream: messages dead-lettered (TW_DLQ) during the phase and drain. */
  deadLetterMessages?: number;
}

export interface ProcessStat {
  role: string;
  pid: number;
  /** CPU during the load phase, % of one core. */
  cpuPercent?: number;
  /** CPU from the phase start until drained (ms). */
  cpuMsToDrained?: number;
  peakRssMB?: number;
  /**
   * Its threads during the load phase, % of one core: the main thread, the busiest other one
   * (in an embedded pipeline with its stages thread, that one), and all others together. For the
   * first two also the time they were runnable but waiting for a core (where the kernel keeps it).
   */
  threads?: {
    mainCpuPercent: number;
    mainWaitPercent?: number;
    busiestOtherCpuPercent: number;
    busiestOtherWaitPercent?: number;
    othersCpuPercent: number;
    count: number;
  };
  /** Its V8 CPU profile (written when it exits), if profiled. */
  profileDir?: string;
}

export interface RunResult {
  case: string;
  /** Which repetition of the bench's cases this run belongs to (--repeat; from 0). */
  repeat?: number;
  server: ServerKind;
  /** Pipeline runs: the transport and topology (embedded; split or single over NATS). */
  transport?: TransportName;
  topology?: string;
  label: string;
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
   * CPU (all threads of every process of the deployment, nats-server included) per event that
   * went all the way through (pipeline: measured from the phase start until drained; bare:
   * accepted, during the phase), in µs. Less sensitive to other load than the rates.
   */
  serverCpuUsPerEvent?: number;
  /** CPU of the deployment's processes during the load phase, % of one core (all threads, summed). */
  serverCpuPercent?: number;
  generatorCpuPercent: number;
  /** CPU used by every other process on the machine during the phase, % of one core (noise). */
  otherCpuPercent?: number;
  /** Sum of the processes' peak resident memory. */
  serverPeakRssMB?: number;
  processes: ProcessStat[];
  serverLogLevels: Record<string, number>;
  /** Unclean exits when the deployment was stopped. */
  notes?: string[];
  /** Why the measurement broke off (e.g. a process of the deployment exited); the figures are then zero. */
  failed?: string;
}

/** Polls until everything accepted has gone through (or the timeout, or a process of the deployment exited). */
export async function waitDrained(d: Deployment, timeoutMs: number): Promise<DrainState> {
  const start = performance.now();
  for (;;) {
    const state = await d.drainState!();
    if (state.drained || performance.now() - start >= timeoutMs || exitedRoles(d).length > 0) return state;
    await sleep(50);
  }
}

/** What names a run in the results: the case, the server under test and the load. */
function runIdentity(spec: RunSpec, d: Deployment) {
  return {
    case: spec.caseName,
    server: spec.server,
    ...(d.transport ? { transport: d.transport } : {}),
    ...(d.topology ? { topology: d.topology } : {}),
    label: d.label,
    connections: spec.connections,
    eventsPerRequest: spec.bodies.eventsPerBody,
    meanBodyBytes: Math.round(spec.bodies.meanBytes),
  };
}

function failedResult(spec: RunSpec, d: Deployment, why: string): RunResult {
  return {
    ...runIdentity(spec, d),
    elapsedMs: 0,
    responses: 0,
    requestsPerSec: 0,
    ingestEventsPerSec: 0,
    acceptedEvents: 0,
    rejected: {},
    errors: 0,
    latency: { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 },
    generatorCpuPercent: 0,
    processes: d.processes.map((p) => ({ role: p.role, pid: p.child.pid })),
    serverLogLevels: logLevels(d),
    failed: why,
  };
}

function deadText(d: Deployment): string {
  const dead = exitedRoles(d);
  return dead.length > 0 ? ` (stopped waiting: ${dead.join(", ")} exited)` : "";
}

function endToEndOf(before: DrainState, atLoadEnd: DrainState, after: DrainState, t0: number, loadEnd: number): EndToEnd {
  const accepted = after.accepted - before.accepted;
  const embedded = after.aggregated !== undefined && before.aggregated !== undefined;
  const through = embedded ? after.aggregated! - before.aggregated! : after.drained ? accepted : 0;
  const diff = (k: "late" | "invalid" | "deadLetterMessages") => (after[k] !== undefined && before[k] !== undefined ? after[k]! - before[k]! : undefined);
  const late = diff("late");
  const invalid = diff("invalid");
  const dead = diff("deadLetterMessages");
  return {
    counted: embedded ? "aggregated" : "accepted-and-drained",
    aggregated: through,
    eventsPerSec: through / ((after.at - t0) / 1000),
    ...(embedded ? { backlogAtLoadEnd: atLoadEnd.accepted - (atLoadEnd.aggregated! + (atLoadEnd.late ?? 0) + (atLoadEnd.invalid ?? 0)) } : {}),
    ...(atLoadEnd.backlogMessages ? { backlogMessagesAtLoadEnd: atLoadEnd.backlogMessages } : {}),
    drainMs: Math.max(0, after.at - loadEnd),
    drained: after.drained,
    acceptedByServer: accepted,
    ...(late !== undefined ? { late } : {}),
    ...(invalid !== undefined ? { invalid } : {}),
    ...(dead !== undefined ? { deadLetterMessages: dead } : {}),
  };
}

export async function runOne(spec: RunSpec, progress: (msg: string) => void): Promise<RunResult> {
  const d = await spec.deploy();
  const name = `${spec.caseName} / ${d.label}`;
  const load = new HttpLoad({
    host: "127.0.0.1",
    port: d.port,
    path: "/v1/streams/bench/events",
    contentType: spec.contentType,
    bodies: spec.bodies.bodies,
    eventsPerBody: spec.bodies.eventsPerBody,
    connections: spec.connections,
  });
  const isPipeline = d.drainState !== undefined;
  let result: RunResult | undefined;
  try {
    progress(`${name}: warm-up ${spec.warmupMs / 1000} s`);
    if (spec.warmupMs > 0) await load.run(spec.warmupMs);
    const before = isPipeline ? await waitDrained(d, spec.drainTimeoutMs) : undefined;
    if (before && !before.drained) progress(`  warning: warm-up backlog not drained within ${spec.drainTimeoutMs / 1000} s${deadText(d)}`);
    progress(`${name}: measuring ${spec.durationMs / 1000} s with ${spec.connections} connections`);
    const cpu0 = cpuByRole(d);
    const threads0 = d.processes.map((p) => p.child.threadTimes());
    const machine0 = machineBusyCpuMs();
    const t0 = performance.now();
    const phase: PhaseResult = await load.run(spec.durationMs);
    const loadEnd = performance.now();
    const cpu1 = cpuByRole(d);
    const threads1 = d.processes.map((p) => p.child.threadTimes());
    const machine1 = machineBusyCpuMs();
    let endToEnd: EndToEnd | undefined;
    let cpuDrained = cpu1;
    if (isPipeline && before) {
      const atLoadEnd = await d.drainState!();
      const after = atLoadEnd.drained ? atLoadEnd : await waitDrained(d, spec.drainTimeoutMs);
      cpuDrained = cpuByRole(d);
      endToEnd = endToEndOf(before, atLoadEnd, after, t0, loadEnd);
      if (!after.drained) progress(`  warning: not drained within ${spec.drainTimeoutMs / 1000} s of the load's end${deadText(d)}`);
    }
    const seconds = phase.elapsedMs / 1000;
    const rejected: Record<string, number> = {};
    for (const [status, n] of Object.entries(phase.statuses)) if (status !== "202") rejected[status] = n;
    const percent = (cpuMs: number) => (cpuMs / phase.elapsedMs) * 100;
    const processes: ProcessStat[] = d.processes.map((p, i) => {
      const threads = threadSplit(p.child.pid, threads0[i], threads1[i], percent);
      const a = cpu0[p.role];
      const b = cpu1[p.role];
      const c = cpuDrained[p.role];
      const peak = p.child.peakRssBytes();
      return {
        role: p.role,
        pid: p.child.pid,
        ...(a !== undefined && b !== undefined ? { cpuPercent: percent(b - a) } : {}),
        ...(a !== undefined && c !== undefined ? { cpuMsToDrained: c - a } : {}),
        ...(peak !== undefined ? { peakRssMB: peak / 2 ** 20 } : {}),
        ...(threads ? { threads } : {}),
        ...(p.profileDir ? { profileDir: p.profileDir } : {}),
      };
    });
    const total0 = sumCpu(cpu0);
    const total1 = sumCpu(cpu1);
    const totalDrained = sumCpu(cpuDrained);
    const serverCpuMs = total0 !== undefined && total1 !== undefined ? total1 - total0 : undefined;
    const otherCpuMs = machine0 !== undefined && machine1 !== undefined && serverCpuMs !== undefined ? machine1 - machine0 - serverCpuMs - phase.generatorCpuMs : undefined;
    const through = endToEnd ? endToEnd.aggregated : phase.acceptedEvents;
    const cpuPerEvent = total0 !== undefined && totalDrained !== undefined && through > 0 ? ((totalDrained - total0) * 1000) / through : undefined;
    const peaks = processes.map((p) => p.peakRssMB);
    result = {
      ...runIdentity(spec, d),
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
      ...(peaks.every((p) => p !== undefined) ? { serverPeakRssMB: peaks.reduce((a, b) => a! + b!, 0) } : {}),
      processes,
      serverLogLevels: logLevels(d),
    };
  } catch (err) {
    // A crashed pipeline process makes /metrics or /jsz unreachable: report the run as failed
    // (with the processes' last output in `notes`) and go on with the other runs.
    const dead = exitedRoles(d);
    const why = `${(err as Error).message}${dead.length > 0 ? ` (${dead.join(", ")} exited)` : ""}`;
    progress(`  ${name} failed: ${why}`);
    result = failedResult(spec, d, why);
  } finally {
    load.close();
    const notes = await d.stop();
    for (const n of notes) progress(`  note: ${n}`);
    if (notes.length > 0 && result) result.notes = notes;
  }
  return result!;
}

/**
 * A process's CPU during the phase by thread (ProcessStat.threads), and how long its main thread
 * and its busiest other one waited for a core; threads that started during it count from zero.
 */
export function threadSplit(pid: number, before: Map<number, ThreadTimes> | undefined, after: Map<number, ThreadTimes> | undefined, percent: (ms: number) => number): ProcessStat["threads"] {
  if (before === undefined || after === undefined) return undefined;
  const used = (tid: number, t: ThreadTimes) => {
    const b = before.get(tid);
    const waitMs = t.waitMs === undefined ? undefined : t.waitMs - (b?.waitMs ?? 0);
    return { cpuMs: t.cpuMs - (b?.cpuMs ?? 0), waitMs };
  };
  let main: { cpuMs: number; waitMs?: number } = { cpuMs: 0 };
  let busiest: { cpuMs: number; waitMs?: number } = { cpuMs: 0 };
  let others = 0;
  for (const [tid, t] of after) {
    const u = used(tid, t);
    if (tid === pid) main = u;
    else {
      if (u.cpuMs > busiest.cpuMs) busiest = u;
      others += u.cpuMs;
    }
  }
  return {
    mainCpuPercent: percent(main.cpuMs),
    ...(main.waitMs !== undefined ? { mainWaitPercent: percent(main.waitMs) } : {}),
    busiestOtherCpuPercent: percent(busiest.cpuMs),
    ...(busiest.waitMs !== undefined ? { busiestOtherWaitPercent: percent(busiest.waitMs) } : {}),
    othersCpuPercent: percent(others),
    count: after.size,
  };
}
