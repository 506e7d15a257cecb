/**
 * `npm run bench -- ab --a <build> --b <build>`: two builds of the embedded pipeline measured
 * alternately, pair after pair, under the pipeline bench's load (bench/pipeline_run.ts, the
 * same cases, bodies and end-to-end count). On this kind of virtual machine one build's figure
 * moves by ±15 % from one minute to the next, so a change worth 5–15 % shows only when the two
 * builds run seconds apart, many times over, in both orders (A then B in odd pairs, B then A in
 * even ones, so a drift favours neither). The verdict is the median of the pairs' B ÷ A and how
 * many pairs B won; CPU per event (all threads) is reported beside it, less sensitive to the
 * machine's neighbours than the rates.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { installCleanup, removeOnExit } from "./child.ts";
import { caseBodies, caseNames, caseRunSpec, runOne, type CaseLoad, type CaseName, type RunResult } from "./pipeline_run.ts";
import { startEmbedded } from "./deployment.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { headline } from "./pipeline_report.ts";
import { median } from "./pipeline_repeats.ts";
import { argsFlag, BenchUsageError, intFlag, listFlag, secondsFlag } from "./flags.ts";
import { formatTable, si } from "./table.ts";
import { rejectedText } from "./pipeline_report.ts";

const known = ["a", "b", "cases", "pairs", "duration", "warmup", "batch-connections", "single-connections", "batch-size", "bodies", "keys", "drain-timeout", "run-args", "a-run-args", "b-run-args"];

export const abHelp = `Usage: npm run bench -- ab --a <build> --b <build> [options]
       node dist/bench/main.js ab --a <build> --b <build> [options]

Measures two builds of the embedded pipeline alternately ('trendwire run' from each build's
dist/, a fresh data directory every run), or one build under two settings (--a-run-args,
--b-run-args), under the pipeline bench's load and end-to-end count: for each pair and case, A
then B (odd pairs) or B then A (even pairs). Prints the machine, the two builds' dist/ paths
and run arguments, each pair's figures, B ÷ A, CPU per event and the responses other
than 202 (a 503 says the stages fell behind; only 202s count), then per case the median
B ÷ A, its range, how many pairs B won and each build's median CPU per event, any failed runs,
and one JSON object as the last line of stdout. A pair counts only when both runs got events
through and drained; otherwise it is listed as failed, and its second run is skipped. Nothing
is asserted: the exit code is 0.

A build is a checkout with a built dist/ (or that dist/ itself); relative paths resolve
against the directory the bench runs in (the package root under npm run). E.g. the working
tree against the last commit:
  git worktree add /tmp/base HEAD && ln -s "$PWD/node_modules" /tmp/base/node_modules \\
    && (cd /tmp/base && npx tsc -p .)
  npm run bench -- ab --a /tmp/base --b . --cases msgpack --pairs 4

Options:
  --a <build>, --b <build>  the two builds (required)
  --cases <list>            json, msgpack, single (default all three)
  --pairs <n>               alternating pairs per case (default 4)
  --duration <s>            measured seconds per run (default 10)
  --warmup <s>              warm-up seconds before measuring (default 2)
  --batch-connections <n>   connections for the batch cases (default 16)
  --single-connections <n>  connections for the single-event case (default 64)
  --batch-size <n>          events per batch request (default 1000)
  --bodies <n>              distinct pre-encoded bodies sent in rotation (default 64)
  --keys <n>                distinct event keys (default 10000)
  --drain-timeout <s>       longest wait for the pipeline to drain (default 60)
  --run-args="<args>"       extra arguments for every 'trendwire run' of both builds (note the =)
  --a-run-args="<args>"     extra arguments for A's runs only (after --run-args, so they win)
  --b-run-args="<args>"     the same for B's runs; with one build as both, this compares two
                            settings: --a . --b . --a-run-args="--heap-growth-percent 0"
`;

/** Where a build's compiled app is: `<dir>/dist` for a checkout, or `<dir>` itself. */
export function distOf(dir: string): string | undefined {
  const root = path.resolve(dir);
  if (existsSync(path.join(root, "dist/app/main.js"))) return path.join(root, "dist");
  if (existsSync(path.join(root, "app/main.js"))) return root;
  return undefined;
}

/** The order of the two builds in pair `pair` (from 0): A first in even-indexed pairs, B first in the others. */
export function pairOrder(pair: number): ("a" | "b")[] {
  return pair % 2 === 0 ? ["a", "b"] : ["b", "a"];
}

export interface PairResult {
  case: string;
  pair: number;
  a: number;
  b: number;
  /** b ÷ a of the headline figure (events/s end to end; requests/s for single events). */
  ratio: number;
  aCpuUsPerEvent?: number;
  bCpuUsPerEvent?: number;
  /** Each run's responses other than 202 by status (e.g. 503 when the stages fell behind), and its connection errors. */
  aRejected: Record<string, number>;
  bRejected: Record<string, number>;
  aErrors: number;
  bErrors: number;
}

export interface AbSummary {
  case: string;
  pairs: number;
  medianRatio: number;
  minRatio: number;
  maxRatio: number;
  /** Pairs in which B's figure was higher. */
  bWon: number;
  medianCpuUsPerEventA?: number;
  medianCpuUsPerEventB?: number;
}

function medianOfDefined(xs: (number | undefined)[]): number | undefined {
  const d = xs.filter((x): x is number => x !== undefined);
  return d.length > 0 ? median(d) : undefined;
}

export function summariseAb(pairs: PairResult[]): AbSummary[] {
  const byCase = new Map<string, PairResult[]>();
  for (const p of pairs) byCase.set(p.case, [...(byCase.get(p.case) ?? []), p]);
  return [...byCase].map(([name, ps]) => ({
    case: name,
    pairs: ps.length,
    medianRatio: median(ps.map((p) => p.ratio)),
    minRatio: Math.min(...ps.map((p) => p.ratio)),
    maxRatio: Math.max(...ps.map((p) => p.ratio)),
    bWon: ps.filter((p) => p.b > p.a).length,
    medianCpuUsPerEventA: medianOfDefined(ps.map((p) => p.aCpuUsPerEvent)),
    medianCpuUsPerEventB: medianOfDefined(ps.map((p) => p.bCpuUsPerEvent)),
  }));
}

const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const us = (x: number | undefined) => (x === undefined ? "" : x.toFixed(2));

/** Why a run's figure cannot be compared, if it cannot. */
export function unusable(r: RunResult): string | undefined {
  if (r.failed) return r.failed;
  if (r.endToEnd && !r.endToEnd.drained) return "the pipeline did not drain within --drain-timeout";
  if (headline(r) <= 0) return "no events went through";
  return undefined;
}

export async function abBench(flags: Record<string, string | boolean>, positional: string[] = []): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  if (positional.length > 0) throw new BenchUsageError(`unexpected argument ${JSON.stringify(positional[0])} (builds go with --a and --b)`);
  if (typeof flags.a !== "string" || typeof flags.b !== "string") throw new BenchUsageError("ab needs --a <build> and --b <build>");
  const builds = { a: distOf(flags.a), b: distOf(flags.b) };
  for (const side of ["a", "b"] as const) {
    if (!builds[side]) throw new BenchUsageError(`--${side} ${String(flags[side])}: no dist/app/main.js there (build it first: npx tsc -p .)`);
  }
  const cases = [...new Set(listFlag(flags, "cases", caseNames))] as CaseName[];
  const pairs = intFlag(flags, "pairs", 4, 1);
  const durationS = secondsFlag(flags, "duration", 10, 0.1);
  const warmupS = secondsFlag(flags, "warmup", 2, 0);
  const batchConnections = intFlag(flags, "batch-connections", 16, 1);
  const singleConnections = intFlag(flags, "single-connections", 64, 1);
  const batchSize = intFlag(flags, "batch-size", 1000, 1);
  const distinct = intFlag(flags, "bodies", 64, 1);
  const keys = intFlag(flags, "keys", 10_000, 1);
  const drainTimeoutS = secondsFlag(flags, "drain-timeout", 60, 1);
  const load: CaseLoad = { batchSize, distinct, keys, batchConnections, singleConnections, warmupS, durationS, drainTimeoutS };
  const runArgs = argsFlag(flags, "run-args");
  const aRunArgs = argsFlag(flags, "a-run-args");
  const bRunArgs = argsFlag(flags, "b-run-args");
  const sideRunArgs = { a: [...runArgs, ...aRunArgs], b: [...runArgs, ...bRunArgs] };

  installCleanup();
  const tempRoot = mkdtempSync(path.join(os.tmpdir(), "trendwire-ab-"));
  removeOnExit(tempRoot);
  const machine = machineInfo();
  console.log(describeMachine(machine));
  console.log(`A: ${builds.a} ${sideRunArgs.a.join(" ")}\nB: ${builds.b} ${sideRunArgs.b.join(" ")}`);
  const progress = (msg: string) => process.stderr.write(msg + "\n");

  const results: PairResult[] = [];
  const failures: string[] = [];
  const bodiesOf = new Map(cases.map((c) => [c, caseBodies(c, load)]));
  for (let pair = 0; pair < pairs; pair++) {
    for (const caseName of cases) {
      const got: Partial<Record<"a" | "b", RunResult>> = {};
      for (const side of pairOrder(pair)) {
        const dataDir = path.join(tempRoot, `${caseName}-${pair}-${side}`);
        const run = `pair ${pair + 1} ${caseName} ${side.toUpperCase()}`;
        try {
          const r = await runOne(
            caseRunSpec(caseName, "pipeline", load, bodiesOf.get(caseName)!, () => startEmbedded({ distDir: builds[side]!, dataDir, runArgs: sideRunArgs[side] })),
            (msg) => progress(`pair ${pair + 1}, ${side.toUpperCase()}: ${msg}`),
          );
          const why = unusable(r);
          if (why === undefined) got[side] = r;
          else failures.push(`${run}: ${why}`);
        } catch (err) {
          failures.push(`${run}: ${(err as Error).message}`);
        } finally {
          rmSync(dataDir, { recursive: true, force: true });
        }
        if (got[side] === undefined) break; // the pair cannot count: its other run would be wasted
      }
      if (!got.a || !got.b) continue;
      const a = headline(got.a);
      const b = headline(got.b);
      results.push({
        case: caseName, pair: pair + 1, a, b, ratio: b / a, aCpuUsPerEvent: got.a.serverCpuUsPerEvent, bCpuUsPerEvent: got.b.serverCpuUsPerEvent,
        aRejected: got.a.rejected, bRejected: got.b.rejected, aErrors: got.a.errors, bErrors: got.b.errors,
      });
    }
  }

  const summary = summariseAb(results);
  console.log("\nEach pair, the two builds one after the other (events/s end to end; requests/s for single):\n");
  console.log(
    formatTable(
      ["case", "pair", "A", "B", "B ÷ A", "CPU µs/event A", "CPU µs/event B", "non-202 A", "non-202 B"],
      results.map((r) => [r.case, r.pair, si(r.a), si(r.b), pct(r.ratio), us(r.aCpuUsPerEvent), us(r.bCpuUsPerEvent), rejectedText(r.aRejected, r.aErrors), rejectedText(r.bRejected, r.bErrors)]),
    ),
  );
  console.log("");
  console.log(
    formatTable(
      ["case", "pairs", "median B ÷ A", "range", "B won", "median CPU µs/event A", "median CPU µs/event B"],
      summary.map((s) => [s.case, s.pairs, pct(s.medianRatio), `${pct(s.minRatio)} – ${pct(s.maxRatio)}`, `${s.bWon} of ${s.pairs}`, us(s.medianCpuUsPerEventA), us(s.medianCpuUsPerEventB)]),
    ),
  );
  if (failures.length > 0) console.log(`\nFailed runs:\n${failures.map((f) => `- ${f}`).join("\n")}`);
  console.log(JSON.stringify({ bench: "ab", at: new Date().toISOString(), machine, builds, config: { cases, pairs, durationS, warmupS, batchConnections, singleConnections, batchSize, distinct, keys, drainTimeoutS, runArgs, aRunArgs, bRunArgs }, pairResults: results, summary, failures }));
}
