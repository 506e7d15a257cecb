/**
 * Trendwire's benchmarks (a Node tool): `npm run bench -- <name> [options]`, i.e.
 * `node dist/bench/main.js <name> [options]`. Each bench prints the machine, a table, and one
 * machine-readable JSON object as the last line of stdout. Benches measure; they never fail
 * the process because a target was missed (exit 0), only on usage errors (2) or crashes (1).
 */
import process from "node:process";
import { parseArgs } from "../app/cli.ts";
import { pipelineBench, pipelineHelp } from "./pipeline.ts";
import { nabBench, nabHelp } from "./nab.ts";
import { forecastBench, forecastHelp } from "./forecast.ts";
import { summariseProfile } from "./cpuprofile.ts";
import { printProfile } from "./profile_report.ts";
import { BenchUsageError, intFlag } from "./flags.ts";
import { detectBench, detectHelp } from "./detect.ts";
import { abBench, abHelp } from "./ab.ts";
import { diskBench, diskHelp } from "./disk.ts";
import { parseBench, parseHelp } from "./parse.ts";

const cpuprofileHelp = `Usage: node dist/bench/main.js cpuprofile <file.cpuprofile> [--top 25]

Summarises a V8 CPU profile (node --cpu-prof): the top self-time functions with their source
location (dist/*.js mapped back to the .ts line), and self time by area.
`;

interface Bench {
  summary: string;
  help: string;
  run(flags: Record<string, string | boolean>, positional: string[]): Promise<void>;
}

const benches: Record<string, Bench> = {
  pipeline: {
    summary: "events/s through the pipeline (embedded; JetStream with --transport nats) vs a bare node:http parse-only server, and event-to-trend latency",
    help: pipelineHelp,
    run: (flags) => pipelineBench(flags),
  },
  nab: {
    summary: "detection quality on NAB's DEV files (standard / low FP / low FN) beside the published detectors",
    help: nabHelp,
    run: (flags) => nabBench(flags),
  },
  forecast: {
    summary: "window updates/s through the detect forecaster (TensorFlow.js MLP) per batch size, cpu vs wasm backend",
    help: forecastHelp,
    run: (flags) => forecastBench(flags),
  },
  detect: {
    summary: "window updates/s through detect (actor and bare detector, one core), and RSS with 1 M distinct keys",
    help: detectHelp,
    run: (flags) => detectBench(flags),
  },
  ab: {
    summary: "two builds (or two settings) of the embedded pipeline measured alternately, pair after pair (median B ÷ A per case)",
    help: abHelp,
    run: (flags, positional) => abBench(flags, positional),
  },
  disk: {
    summary: "buffered vs O_DIRECT writes through the Node adapter's file systems: whole synced files after a pause, and synced small appends",
    help: diskHelp,
    run: (flags) => diskBench(flags),
  },
  parse: {
    summary: "ingest's body parsing, µs per event: JSON.parse / MessagePack decode alone, the general path, and the path ingest takes",
    help: parseHelp,
    run: (flags) => parseBench(flags),
  },
  cpuprofile: {
    summary: "summarise a .cpuprofile (top self-time functions and areas)",
    help: cpuprofileHelp,
    async run(flags, positional) {
      if (positional.length === 0) throw new BenchUsageError("cpuprofile needs a file");
      for (const file of positional) printProfile(summariseProfile(file, { root: process.cwd(), top: intFlag(flags, "top", 25, 1) }));
    },
  },
};

const mainHelp = `Usage: npm run bench -- <bench> [options]     (node dist/bench/main.js <bench> [options])

Benches:
${Object.entries(benches).map(([name, b]) => `  ${name.padEnd(12)} ${b.summary}`).join("\n")}

Run 'npm run bench -- <bench> --help' for a bench's options.
`;

async function main(): Promise<void> {
  const { command, flags, positional } = parseArgs(process.argv.slice(2));
  const bench = command === undefined ? undefined : benches[command];
  if (command === undefined || command === "help") return void console.log(positional[0] && benches[positional[0]] ? benches[positional[0]]!.help : mainHelp);
  if (!bench) {
    console.error(`bench: unknown bench "${command}"\n\n${mainHelp}`);
    process.exitCode = 2;
    return;
  }
  if (flags.help) return void console.log(bench.help);
  try {
    await bench.run(flags, positional);
  } catch (err) {
    if (err instanceof BenchUsageError) {
      console.error(`bench ${command}: ${err.message}\n\n${bench.help}`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}

await main();
