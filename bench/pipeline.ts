/**
 * `npm run bench -- pipeline`: events/s through the whole pipeline (HTTP → ingest → durable
 * log → decode → aggregate) for JSON and MessagePack batches, and single-event requests/s with
 * p50/p99 latency — each measured side by side, in one run, against a bare `node:http` server
 * that only parses the body (the parse-only ceiling). With `--transport nats` the same cases
 * also run through JetStream (a real nats-server, one `trendwire run` process per actor kind),
 * beside the embedded pipeline, followed by an event-to-trend latency phase for each. Every
 * server runs in child processes; the load generator runs in this process. Prints the
 * machine, tables and, as the last line, one JSON object. Targets are reported, never asserted.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { installCleanup, removeOnExit } from "./child.ts";
import { caseBodies, caseNames, caseRunSpec, runOne, type CaseLoad, type CaseName, type RunResult, type ServerKind } from "./pipeline_run.ts";
import { runLatencyPhase, type LatencyResult } from "./latency_phase.ts";
import { startEmbedded, startReference, type Deployment, type TransportName } from "./deployment.ts";
import { natsTopologies, startNatsPipeline } from "./deploy_nats.ts";
import { natsServerBinary } from "./nats_server.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { printPipelineReport, comparisons, frameworkComparisons, latencyComparisons, transportComparisons } from "./pipeline_report.ts";
import { medianRuns, printRepeats, repeatRatios, summariseRepeats } from "./pipeline_repeats.ts";
import { summariseProfile, type ProfileSummary } from "./cpuprofile.ts";
import { printProfile } from "./profile_report.ts";
import { argsFlag, BenchUsageError, intFlag, listFlag, secondsFlag } from "./flags.ts";
import { pipelineHelp } from "./pipeline_help.ts";

export { pipelineHelp };
const serverKinds: readonly ServerKind[] = ["bare", "hono", "pipeline"];
const transportNames = ["embedded", "nats"] as const;

const known = [
  "duration", "warmup", "connections", "batch-connections", "single-connections", "batch-size", "bodies", "keys", "cases", "servers",
  "drain-timeout", "run-args", "profile", "top", "repeat", "transport", "nats-topology", "aggregate-instances", "window-ms",
  "max-out-of-order-ms", "latency-surges", "latency-rate", "latency-interval-ms", "latency-surge-events", "latency-keys",
];

/** The value of `--name` in a list of CLI arguments (last one wins, as in the CLI). */
function argValue(args: string[], name: string): string | undefined {
  let value: string | undefined;
  args.forEach((a, i) => {
    if (a === `--${name}`) value = args[i + 1];
    else if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
  });
  return value;
}

export async function pipelineBench(flags: Record<string, string | boolean>): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  const durationS = secondsFlag(flags, "duration", 10, 0.1);
  const warmupS = secondsFlag(flags, "warmup", 2, 0);
  const connections = flags.connections === undefined ? undefined : intFlag(flags, "connections", 16, 1);
  const batchConnections = connections ?? intFlag(flags, "batch-connections", 16, 1);
  const singleConnections = connections ?? intFlag(flags, "single-connections", 64, 1);
  const batchSize = intFlag(flags, "batch-size", 1000, 1);
  const distinct = intFlag(flags, "bodies", 64, 1);
  const keys = intFlag(flags, "keys", 10_000, 1);
  // Hono's own ceiling is there when asked for: it adds a third of the run time.
  const servers: ServerKind[] = flags.servers === undefined ? ["bare", "pipeline"] : listFlag(flags, "servers", serverKinds);
  const listed = flags.transport === undefined ? ["embedded"] : listFlag(flags, "transport", transportNames);
  // The JetStream figure only means something beside the embedded one from the same run.
  const transports: TransportName[] = listed.includes("nats") ? ["embedded", "nats"] : ["embedded"];
  const withNats = transports.includes("nats");
  const cases = flags.cases === undefined && withNats ? (["msgpack"] as CaseName[]) : listFlag(flags, "cases", caseNames);
  const topology = flags["nats-topology"] === undefined ? (["split"] as const) : listFlag(flags, "nats-topology", natsTopologies);
  if (topology.length !== 1) throw new BenchUsageError("--nats-topology takes one of split, single");
  const aggregateInstances = intFlag(flags, "aggregate-instances", 1, 1);
  const drainTimeoutS = secondsFlag(flags, "drain-timeout", 60, 1);
  const load: CaseLoad = { batchSize, distinct, keys, batchConnections, singleConnections, warmupS, durationS, drainTimeoutS };
  const top = intFlag(flags, "top", 25, 1);
  const repeats = intFlag(flags, "repeat", 1, 1);
  if (flags.profile === true) throw new BenchUsageError("--profile needs a value");
  const runArgs = argsFlag(flags, "run-args");
  const profileDir = typeof flags.profile === "string" ? path.resolve(flags.profile) : undefined;
  if (profileDir && repeats > 1) throw new BenchUsageError("--profile profiles one run of each case: leave out --repeat");
  const surges = intFlag(flags, "latency-surges", withNats ? 6 : 0, 0);
  const latencySpec = {
    windowMs: intFlag(flags, "window-ms", 10_000, 100),
    maxOutOfOrderMs: intFlag(flags, "max-out-of-order-ms", 100, 0),
    rate: intFlag(flags, "latency-rate", 20_000, 1),
    intervalMs: intFlag(flags, "latency-interval-ms", 25, 1),
    surges,
    surgeEvents: intFlag(flags, "latency-surge-events", 200, 1),
    baselinePerWindow: 20,
    backgroundKeys: intFlag(flags, "latency-keys", 1000, 1),
    backfillWindows: Math.max(12, (Number(argValue(runArgs, "detect-warmup")) || 8) + 4),
  };
  const logLevel = argValue(runArgs, "log-level");
  if (withNats && logLevel !== undefined && !["debug", "info"].includes(logLevel)) {
    throw new BenchUsageError(`--transport nats needs the processes' info log line "trendwire started" to know they are up; --run-args sets --log-level ${logLevel}`);
  }

  const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const repoRoot = path.dirname(distDir);
  if (!existsSync(path.join(distDir, "app/main.js"))) throw new BenchUsageError(`${path.join(distDir, "app/main.js")} is missing: run 'npm run build' first`);

  if (profileDir) mkdirSync(profileDir, { recursive: true });
  installCleanup();
  const tempRoot = mkdtempSync(path.join(os.tmpdir(), "trendwire-bench-"));
  removeOnExit(tempRoot);
  const machine = machineInfo();
  console.log(describeMachine(machine));
  const progress = (msg: string) => process.stderr.write(msg + "\n");
  const natsServer = withNats ? await natsServerBinary(repoRoot) : undefined;
  if (natsServer) console.log(`nats-server ${natsServer.version} (${natsServer.path}), JetStream file store, sync_interval: always; topology ${topology[0]}${topology[0] === "split" ? `, aggregate × ${aggregateInstances}` : ""}`);

  // A fresh data directory for every run (a repetition must not start from the last one's log), removed after it.
  const runDir = (caseName: string, server: string, transport: TransportName, repeat: number) =>
    path.join(tempRoot, `${caseName}-${server}-${transport}${repeat > 0 ? `-${repeat + 1}` : ""}`);
  const deployers = (caseName: string, server: ServerKind, transport: TransportName, profileName: string, repeat: number): (() => Promise<Deployment>) => {
    const dataDir = runDir(caseName, server, transport, repeat);
    if (server !== "pipeline") return () => startReference(distDir, server);
    if (transport === "embedded") return () => startEmbedded({ distDir, dataDir, runArgs, ...(profileDir ? { profile: { dir: profileDir, name: `${profileName}.cpuprofile` } } : {}) });
    return () =>
      startNatsPipeline({ distDir, repoRoot, dataDir, runArgs, topology: topology[0]!, aggregateInstances, ...(profileDir ? { profile: { dir: profileDir, prefix: `${profileName}-` } } : {}) });
  };

  // A run that cannot start (or breaks off) is reported and the bench goes on with the others.
  const failures: { run: string; error: string }[] = [];
  const attempt = async <T>(run: string, body: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await body();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      progress(`${run}: failed: ${error}`);
      failures.push({ run, error });
      return undefined;
    }
  };
  const results: RunResult[] = [];
  const profiles: ProfileSummary[] = [];
  const otherProfiles: string[] = [];
  for (let repeat = 0; repeat < repeats; repeat++) for (const caseName of cases) {
    const bodies = caseBodies(caseName, load);
    type Planned = { server: ServerKind; transport: TransportName };
    const plan = servers.flatMap((server): Planned[] => (server !== "pipeline" ? [{ server, transport: "embedded" }] : transports.map((transport) => ({ server, transport }))));
    for (const { server, transport } of plan) {
      // Embedded: pipeline-<case>-<pid>.cpuprofile; JetStream: pipeline-<case>-nats-<role>-<pid>.cpuprofile.
      const profileName = transport === "nats" ? `pipeline-${caseName}-nats` : `pipeline-${caseName}-${process.pid}`;
      const label = server === "pipeline" ? transport : server;
      const spec = caseRunSpec(caseName, server, load, bodies, deployers(caseName, server, transport, profileName, repeat));
      const run = repeats > 1 ? `${caseName} / ${label} (repeat ${repeat + 1} of ${repeats})` : `${caseName} / ${label}`;
      const result = await attempt(run, () => runOne(spec, progress));
      rmSync(runDir(caseName, server, transport, repeat), { recursive: true, force: true });
      if (!result) continue;
      if (repeats > 1) result.repeat = repeat;
      results.push(result);
      if (profileDir && server === "pipeline") {
        // The hottest process (most CPU from the phase start until drained) is summarised, each
        // of its threads (the embedded pipeline runs its stages on a second one).
        const ranked = [...result.processes].filter((p) => p.profileDir).sort((a, b) => (b.cpuMsToDrained ?? 0) - (a.cpuMsToDrained ?? 0));
        const filesOf = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort().map((f) => path.join(dir, f)) : []);
        const hottest = ranked.find((p) => filesOf(p.profileDir!).length > 0);
        if (hottest) for (const f of filesOf(hottest.profileDir!)) profiles.push(summariseProfile(f, { root: repoRoot, top }));
        else progress(`  no profile written in ${profileDir} (did the pipeline exit cleanly?)`);
        for (const p of ranked) if (p !== hottest) otherProfiles.push(...filesOf(p.profileDir!));
      }
    }
  }

  const latency: LatencyResult[] = [];
  if (surges > 0) {
    const phaseArgs = [...runArgs, "--window-ms", String(latencySpec.windowMs), "--max-out-of-order-ms", String(latencySpec.maxOutOfOrderMs)];
    for (const transport of transports) {
      const dataDir = path.join(tempRoot, `latency-${transport}`);
      const deploy = transport === "embedded"
        ? () => startEmbedded({ distDir, dataDir, runArgs: phaseArgs })
        : () => startNatsPipeline({ distDir, repoRoot, dataDir, runArgs: phaseArgs, topology: topology[0]!, aggregateInstances });
      const l = await attempt(`latency / ${transport}`, () => runLatencyPhase({ ...latencySpec, deploy }, progress));
      if (l) latency.push(l);
    }
  }

  // With --repeat the tables show each deployment's median run; the repetitions' ratios follow.
  const shown = repeats > 1 ? medianRuns(results) : results;
  const ratios = repeats > 1 ? repeatRatios(results) : [];
  const repeatSummary = summariseRepeats(ratios);
  console.log("");
  if (repeats > 1) console.log(`Median of ${repeats} repetitions for each case and deployment:\n`);
  printPipelineReport(shown, latency);
  if (ratios.length > 0) printRepeats(ratios, repeatSummary);
  for (const p of profiles) printProfile(p);
  if (failures.length > 0) console.log(`\nFailed runs:\n${failures.map((f) => `- ${f.run}: ${f.error}`).join("\n")}`);
  if (otherProfiles.length > 0) console.log(`\nOther profiles (summarise with 'npm run bench -- cpuprofile <file>'):\n${otherProfiles.join("\n")}`);
  const json = {
    bench: "pipeline",
    at: new Date().toISOString(),
    machine,
    config: {
      durationS, warmupS, batchConnections, singleConnections, batchSize, distinctBodies: distinct, keys, cases, servers, transports,
      ...(withNats ? { natsTopology: topology[0], aggregateInstances, natsServer: natsServer?.version } : {}),
      drainTimeoutS, runArgs, repeats,
      ...(surges > 0 ? { latency: { ...latencySpec, stream: "latency" } } : {}),
    },
    results,
    comparisons: comparisons(shown),
    ...(servers.includes("hono") ? { frameworkComparisons: frameworkComparisons(shown) } : {}),
    transportComparisons: transportComparisons(shown),
    ...(repeats > 1 ? { repeats: { count: repeats, medianRuns: shown.map((r) => `${r.case}/${r.label}/repeat ${(r.repeat ?? 0) + 1}`), ratios, summary: repeatSummary } } : {}),
    ...(latency.length > 0 ? { latency, latencyComparisons: latencyComparisons(latency) } : {}),
    ...(profiles.length > 0 ? { profiles } : {}),
    ...(failures.length > 0 ? { failures } : {}),
  };
  console.log("");
  console.log(JSON.stringify(json));
}
