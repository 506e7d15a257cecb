/**
 * What a bench drives: a set of child processes behind one HTTP edge — a parse-only reference
 * server (bare `node:http`, or Hono), the embedded pipeline (one `trendwire run` process), or the JetStream pipeline
 * (nats-server plus one `trendwire run` process per actor kind, see deploy_nats.ts) — with
 * one way to read their CPU, memory and logs, to ask whether everything accepted has gone
 * through, and to stop them.
 */
import path from "node:path";
import { startChild, type ServerChild } from "./child.ts";
import { fetchMetricTotals, total } from "./prom.ts";

export type TransportName = "embedded" | "nats";

export interface DeployedProcess {
  /** e.g. `pipeline`, `ingest`, `aggregate-1`, `nats-server`. */
  role: string;
  child: ServerChild;
  /** The directory its `--cpu-prof` profiles go to, if profiled: one file per thread. */
  profileDir?: string;
}

export interface DrainState {
  drained: boolean;
  /** When the pipeline was first seen drained (or the time of this look). */
  at: number;
  /** `tw_events_accepted_total` at the HTTP edge. */
  accepted: number;
  /** Embedded only (its /metrics sees every stage): events folded into windows, late, invalid. */
  aggregated?: number;
  late?: number;
  invalid?: number;
  /** JetStream only: messages ever stored in TW_DLQ (dead letters of every stage). */
  deadLetterMessages?: number;
  /** JetStream only: per stream, the most any one consumer still has to process (messages). */
  backlogMessages?: Record<string, number>;
}

export interface Deployment {
  readonly label: string;
  readonly transport: TransportName | undefined;
  /** `embedded`, `split` (a process per kind) or `single` (one process over NATS). */
  readonly topology: string | undefined;
  /** The HTTP edge (ingest). */
  readonly port: number;
  readonly natsUrl?: string;
  readonly processes: DeployedProcess[];
  /** One look at the pipeline's progress (undefined for the bare server: it has no pipeline). */
  drainState?(): Promise<DrainState>;
  /** Stops every process (pipeline order, nats-server last); returns notes on unclean exits. */
  stop(): Promise<string[]>;
}

/** CPU ms (all threads) of each process so far, by role. */
export function cpuByRole(d: Deployment): Record<string, number | undefined> {
  return Object.fromEntries(d.processes.map((p) => [p.role, p.child.cpuMs()]));
}

export function sumCpu(byRole: Record<string, number | undefined>): number | undefined {
  let sum = 0;
  for (const v of Object.values(byRole)) {
    if (v === undefined) return undefined;
    sum += v;
  }
  return sum;
}

/** Roles of the deployment's processes that have exited (crashed) while they should be running. */
export function exitedRoles(d: Deployment): string[] {
  return d.processes.filter((p) => !p.child.alive()).map((p) => p.role);
}

export function logLevels(d: Deployment): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of d.processes) for (const [level, n] of Object.entries(p.child.logLevels)) out[level] = (out[level] ?? 0) + n;
  return out;
}

/** The port of `trendwire run`'s HTTP edge, from its "listening on http://host:port" line. */
export function listeningPort(line: string): number | undefined {
  const m = /"listening on http:\/\/[^"]*:(\d+)"/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/** The directory of one process's profiles (Node names each thread's file itself; a fixed name would make threads overwrite each other). */
export function profileDirOf(profile: { dir: string; name: string }): string {
  return path.join(profile.dir, profile.name.replace(/\.cpuprofile$/, ""));
}

export function profileFlags(profile: { dir: string; name: string } | undefined): string[] {
  return profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDirOf(profile)}`] : [];
}

export async function stopInOrder(processes: DeployedProcess[], graceMs: number): Promise<string[]> {
  const notes: string[] = [];
  for (const p of processes) {
    const early = !p.child.alive();
    const exit = await p.child.stop(graceMs);
    const how = `code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ""}`;
    if (early) notes.push(`${p.role} had exited before the bench stopped it (${how}); last output:\n${p.child.tail().join("\n")}`);
    else if (exit.code !== 0 && exit.code !== null) notes.push(`${p.role} exited with code ${exit.code}; last output:\n${p.child.tail().join("\n")}`);
    else if (exit.signal === "SIGKILL") notes.push(`${p.role} did not stop within ${graceMs / 1000} s of SIGTERM and was killed`);
  }
  return notes;
}

/** A parse-only reference server: the bare `node:http` one (bare_server.ts), or the same on Hono (hono_server.ts). */
export type ReferenceServer = "bare" | "hono";

export async function startReference(distDir: string, kind: ReferenceServer): Promise<Deployment> {
  const child = await startChild({
    name: `${kind} server`,
    args: [path.join(distDir, `bench/${kind}_server.js`), "--port", "0"],
    portFrom: (line) => (line.startsWith('{"listening"') ? (JSON.parse(line) as { listening: number }).listening : undefined),
  });
  const processes = [{ role: kind, child }];
  return { label: kind, transport: undefined, topology: undefined, port: child.port, processes, stop: () => stopInOrder(processes, 5_000) };
}

const processedNames = ["tw_events_aggregated_total", "tw_events_late_total", "tw_events_invalid_total"];

/** The embedded pipeline: the real CLI, one process, its in-process log under `dataDir`. */
export async function startEmbedded(options: { distDir: string; dataDir: string; runArgs: string[]; profile?: { dir: string; name: string } }): Promise<Deployment> {
  const child = await startChild({
    name: "trendwire pipeline",
    nodeFlags: profileFlags(options.profile),
    args: [path.join(options.distDir, "app/main.js"), "run", "--port", "0", "--host", "127.0.0.1", "--data-dir", options.dataDir, ...options.runArgs],
    portFrom: listeningPort,
  });
  const processes: DeployedProcess[] = [{ role: "pipeline", child, ...(options.profile ? { profileDir: profileDirOf(options.profile) } : {}) }];
  return {
    label: "embedded",
    transport: "embedded",
    topology: "embedded",
    port: child.port,
    processes,
    async drainState() {
      const m = await fetchMetricTotals(child.port);
      const at = performance.now();
      const accepted = total(m, "tw_events_accepted_total");
      const processed = processedNames.reduce((n, name) => n + total(m, name), 0);
      return {
        drained: processed >= accepted,
        at,
        accepted,
        aggregated: total(m, "tw_events_aggregated_total"),
        late: total(m, "tw_events_late_total"),
        invalid: total(m, "tw_events_invalid_total"),
      };
    },
    stop: () => stopInOrder(processes, 45_000),
  };
}
