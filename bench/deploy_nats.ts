/**
 * The JetStream pipeline as the README's "Scaling out" section runs it: a fresh nats-server
 * (bench/nats_server.ts) and the real CLI, `trendwire run --nats <url> --actors …`, as separate
 * OS processes sharing one `--data-dir`:
 *
 *   split   ingest,trends (the HTTP edge) · decode · aggregate × N · detect · persist
 *   single  every kind in one process, over NATS (what JetStream costs without extra processes)
 *
 * Only the ingest process serves HTTP, so progress is read from two places: events accepted
 * from its `/metrics`, and whether every stage has caught up from nats-server's `/jsz` (see
 * jetstream_monitor.ts). Stopping goes in pipeline order — ingest, decode, aggregate, detect,
 * persist — each draining before the next stops, then nats-server.
 */
import path from "node:path";
import { startChild } from "./child.ts";
import { startNatsServer } from "./nats_server.ts";
import { DrainWatch, backlogMessages, fetchJsz, lastSeq } from "./jetstream_monitor.ts";
import { fetchMetricTotals, total } from "./prom.ts";
import { listeningPort, profileDirOf, profileFlags, stopInOrder, type DeployedProcess, type Deployment } from "./deployment.ts";

export type NatsTopology = "split" | "single";
export const natsTopologies: readonly NatsTopology[] = ["split", "single"];

export interface NatsDeploySpec {
  distDir: string;
  repoRoot: string;
  /** Shared `--data-dir` of every process (the archive); nats-server's store goes beside it. */
  dataDir: string;
  runArgs: string[];
  topology: NatsTopology;
  /** Aggregate processes (split only): `--instance i --instances n`. */
  aggregateInstances: number;
  /** Profile every `trendwire run` process into `dir`, names prefixed with `prefix`. */
  profile?: { dir: string; prefix: string };
}

interface Role {
  role: string;
  args: string[];
  http: boolean;
}

function roles(spec: NatsDeploySpec): Role[] {
  const edge = ["--port", "0", "--host", "127.0.0.1"];
  if (spec.topology === "single") return [{ role: "all-in-one", args: ["--actors", "ingest,decode,aggregate,detect,persist,trends", ...edge], http: true }];
  const n = spec.aggregateInstances;
  const aggregates = Array.from({ length: n }, (_, i) => ({
    role: n > 1 ? `aggregate-${i}` : "aggregate",
    args: ["--actors", "aggregate", ...(n > 1 ? ["--instance", String(i), "--instances", String(n)] : [])],
    http: false,
  }));
  // Pipeline order: the order they are stopped in (intake first, so each stage drains in turn).
  return [
    { role: "ingest", args: ["--actors", "ingest,trends", ...edge], http: true },
    { role: "decode", args: ["--actors", "decode"], http: false },
    ...aggregates,
    { role: "detect", args: ["--actors", "detect"], http: false },
    { role: "persist", args: ["--actors", "persist"], http: false },
  ];
}

/** A `trendwire run` process without HTTP is ready at its "trendwire started" log line (info level). */
const startedLine = /"msg":"trendwire started"/;

export async function startNatsPipeline(spec: NatsDeploySpec): Promise<Deployment> {
  const server = await startNatsServer({ repoRoot: spec.repoRoot, dir: `${spec.dataDir.replace(/\/+$/, "")}-nats` });
  const natsProcess: DeployedProcess = { role: "nats-server", child: server.child };
  const started: DeployedProcess[] = [];
  try {
    const plan = roles(spec);
    const results = await Promise.allSettled(
      plan.map(async (r) => {
        const name = `${spec.profile?.prefix ?? ""}${r.role}-${process.pid}.cpuprofile`;
        const profile = spec.profile ? { dir: spec.profile.dir, name } : undefined;
        const child = await startChild({
          name: `trendwire ${r.role}`,
          nodeFlags: profileFlags(profile),
          args: [path.join(spec.distDir, "app/main.js"), "run", "--nats", server.url, "--data-dir", spec.dataDir, ...r.args, ...spec.runArgs],
          portFrom: (line) => (r.http ? listeningPort(line) : startedLine.test(line) ? 0 : undefined),
          startTimeoutMs: 30_000,
        });
        const p: DeployedProcess = { role: r.role, child, ...(profile ? { profileDir: profileDirOf(profile) } : {}) };
        started.push(p);
        return p;
      }),
    );
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) throw failed.reason;
    const processes = plan.map((r) => started.find((p) => p.role === r.role)!);
    const edge = processes.find((_, i) => plan[i]!.http)!;
    const watch = new DrainWatch();
    return {
      label: spec.topology === "single" ? "nats single" : `nats split${spec.aggregateInstances > 1 ? ` agg×${spec.aggregateInstances}` : ""}`,
      transport: "nats",
      topology: spec.topology,
      port: edge.child.port,
      natsUrl: server.url,
      processes: [...processes, natsProcess],
      async drainState() {
        // Accepted first, then the streams: whatever was accepted before the look is in them.
        const accepted = total(await fetchMetricTotals(edge.child.port), "tw_events_accepted_total");
        const streams = await fetchJsz(server.monitorPort);
        const at = performance.now();
        const { drained, since } = watch.observe(streams, at);
        return { drained, at: since, accepted, deadLetterMessages: lastSeq(streams, "TW_DLQ"), backlogMessages: backlogMessages(streams) };
      },
      async stop() {
        const notes = await stopInOrder(processes, 45_000);
        notes.push(...(await stopInOrder([natsProcess], 10_000)));
        return notes;
      },
    };
  } catch (err) {
    await stopInOrder(started, 5_000);
    await stopInOrder([natsProcess], 5_000);
    throw err;
  }
}
