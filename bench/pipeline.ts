/**
 * `npm run bench -- pipeline`: events/s through the whole embedded pipeline (HTTP → ingest →
 * durable log → decode → aggregate) for JSON and MessagePack batches, and single-event
 * requests/s with p50/p99 latency — each measured side by side, in one run, against a bare
 * `node:http` server that only parses the body (the parse-only ceiling). Both servers run in
 * child processes; the load generator runs in this process. Prints the machine, a table and,
 * as the last line, one JSON object. Targets are reported, never asserted.
 */
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { contentTypes, makeBodies, type BodyFormat } from "./events.ts";
import { installCleanup, removeOnExit } from "./child.ts";
import { runOne, type RunResult } from "./pipeline_run.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { printPipelineReport, comparisons } from "./pipeline_report.ts";
import { summariseProfile, type ProfileSummary } from "./cpuprofile.ts";
import { printProfile } from "./profile_report.ts";
import { BenchUsageError, intFlag, listFlag, secondsFlag } from "./flags.ts";

export const caseNames = ["json", "msgpack", "single"] as const;
export type CaseName = (typeof caseNames)[number];
const serverKinds = ["bare", "pipeline"] as const;

export const pipelineHelp = `Usage: npm run bench -- pipeline [options]
       node dist/bench/main.js pipeline [options]

Measures, side by side in one run, a bare node:http parse-only server and the full embedded
Trendwire pipeline (the real CLI, 'trendwire run', in a child process) for three cases:
  json     JSON arrays of --batch-size events per request
  msgpack  MessagePack arrays of --batch-size events (Content-Type application/msgpack)
  single   one JSON event per request
For the pipeline, events/s end to end counts only events aggregated: after the load stops it
waits until /metrics shows every accepted event aggregated (bounded by --drain-timeout).
Prints the machine, a table, and one JSON object as the last line of stdout. Targets
(pipeline >= 50 % of bare) are reported, never asserted: the exit code is 0 either way.

Options:
  --duration <s>            measured seconds per case and server (default 10)
  --warmup <s>              warm-up seconds before measuring (default 2)
  --connections <n>         keep-alive connections for every case (overrides the two below)
  --batch-connections <n>   connections for the batch cases (default 16)
  --single-connections <n>  connections for the single-event case (default 64)
  --batch-size <n>          events per batch request (default 1000)
  --bodies <n>              distinct pre-encoded bodies sent in rotation (default 64)
  --keys <n>                distinct event keys (default 10000)
  --cases <list>            comma-separated cases (default json,msgpack,single)
  --servers <list>          comma-separated: bare,pipeline (default both)
  --drain-timeout <s>       longest wait for the pipeline to drain (default 60)
  --run-args="<args>"       extra arguments for 'trendwire run' (note the =), e.g.
                            --run-args="--sync-interval-ms 5 --log-level warn"
  --profile <dir>           run the pipeline under node --cpu-prof, keep the .cpuprofile files
                            in <dir> and print each one's top self-time functions
  --top <n>                 functions listed per profile (default 25)
  --help                    show this help
`;

export async function pipelineBench(flags: Record<string, string | boolean>): Promise<void> {
  const known = new Set(["duration", "warmup", "connections", "batch-connections", "single-connections", "batch-size", "bodies", "keys", "cases", "servers", "drain-timeout", "run-args", "profile", "top"]);
  for (const name of Object.keys(flags)) if (!known.has(name)) throw new BenchUsageError(`unknown option --${name}`);
  const durationS = secondsFlag(flags, "duration", 10, 0.1);
  const warmupS = secondsFlag(flags, "warmup", 2, 0);
  const connections = flags.connections === undefined ? undefined : intFlag(flags, "connections", 16, 1);
  const batchConnections = connections ?? intFlag(flags, "batch-connections", 16, 1);
  const singleConnections = connections ?? intFlag(flags, "single-connections", 64, 1);
  const batchSize = intFlag(flags, "batch-size", 1000, 1);
  const distinct = intFlag(flags, "bodies", 64, 1);
  const keys = intFlag(flags, "keys", 10_000, 1);
  const cases = listFlag(flags, "cases", caseNames);
  const servers = listFlag(flags, "servers", serverKinds);
  const drainTimeoutS = secondsFlag(flags, "drain-timeout", 60, 1);
  const top = intFlag(flags, "top", 25, 1);
  if (flags["run-args"] === true || flags.profile === true) throw new BenchUsageError(`--${flags.profile === true ? "profile" : "run-args"} needs a value`);
  const runArgs = typeof flags["run-args"] === "string" ? flags["run-args"].split(/\s+/).filter(Boolean) : [];
  const profileDir = typeof flags.profile === "string" ? path.resolve(flags.profile) : undefined;

  const distDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  if (!existsSync(path.join(distDir, "app/main.js"))) throw new BenchUsageError(`${path.join(distDir, "app/main.js")} is missing: run 'npm run build' first`);

  if (profileDir) mkdirSync(profileDir, { recursive: true });
  installCleanup();
  const tempRoot = mkdtempSync(path.join(os.tmpdir(), "trendwire-bench-"));
  removeOnExit(tempRoot);
  const machine = machineInfo();
  console.log(describeMachine(machine));
  const progress = (msg: string) => process.stderr.write(msg + "\n");

  const results: RunResult[] = [];
  const profiles: ProfileSummary[] = [];
  for (const caseName of cases) {
    const format: BodyFormat = caseName === "msgpack" ? "msgpack" : "json";
    const single = caseName === "single";
    const bodies = makeBodies({ format, eventsPerBody: single ? 1 : batchSize, distinct, keys, single });
    for (const server of servers) {
      const profileName = `pipeline-${caseName}-${process.pid}.cpuprofile`;
      results.push(
        await runOne(
          {
            caseName,
            server,
            contentType: contentTypes[format],
            bodies,
            connections: single ? singleConnections : batchConnections,
            warmupMs: warmupS * 1000,
            durationMs: durationS * 1000,
            drainTimeoutMs: drainTimeoutS * 1000,
            distDir,
            dataDir: path.join(tempRoot, `${caseName}-${server}`),
            runArgs,
            ...(profileDir && server === "pipeline" ? { profile: { dir: profileDir, name: profileName } } : {}),
          },
          progress,
        ),
      );
      if (profileDir && server === "pipeline") {
        const file = path.join(profileDir, profileName);
        if (existsSync(file)) profiles.push(summariseProfile(file, { root: path.dirname(distDir), top }));
        else progress(`  no profile written at ${file} (did the pipeline exit cleanly?)`);
      }
    }
  }

  console.log("");
  printPipelineReport(results);
  for (const p of profiles) printProfile(p);
  const json = {
    bench: "pipeline",
    at: new Date().toISOString(),
    machine,
    config: { durationS, warmupS, batchConnections, singleConnections, batchSize, distinctBodies: distinct, keys, cases, servers, drainTimeoutS, runArgs },
    results,
    comparisons: comparisons(results),
    ...(profiles.length > 0 ? { profiles } : {}),
  };
  console.log("");
  console.log(JSON.stringify(json));
}
