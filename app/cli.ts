/**
 * Command-line parsing and help: `trendwire <command> [--flag value | --flag=value | --flag]`.
 * Help text for `run` is generated from the config spec, so it never drifts from the code.
 */
import { describeConfig } from "../runtime/core/config.ts";
import { configSpec, detectorFields } from "./config.ts";

export interface ParsedArgs {
  command: string | undefined;
  flags: Record<string, string | boolean>;
  positional: string[];
}

export class UsageError extends Error {}

export function parseArgs(argv: string[]): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  let command: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-h") {
      flags.help = true;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      if (eq > 0) {
        flags[arg.slice(2, eq)] = arg.slice(eq + 1);
      } else {
        const name = arg.slice(2);
        const next = argv[i + 1];
        if (name === "help" || next === undefined || next.startsWith("--")) flags[name] = true;
        else flags[name] = argv[++i]!;
      }
    } else if (command === undefined) {
      command = arg;
    } else {
      positional.push(arg);
    }
  }
  return { command, flags, positional };
}

export const mainHelp = `trendwire — real-time trend detection on an edge-deployable actor runtime

Usage:
  trendwire run [options]     run the pipeline (embedded by default: one process, no servers)
  trendwire streams --nats <url> [--json]
                              JetStream streams and consumers: sizes, pending, redelivered
  trendwire detect --csv <file> [--explain]
                              score a timestamp,value series (NAB format) offline, as detect would
  trendwire help [run|detect|config]
                              show help (config: the settings table in Markdown)

Run 'trendwire run --help' for every option.
`;

/** One help line per setting: flag, description, default and environment variable. */
function optionLines(rows: ReturnType<typeof describeConfig>): string {
  const width = Math.max(...rows.map((r) => r.flag.length)) + 8;
  return rows.map((r) => `  ${(r.flag + " <v>").padEnd(width)} ${r.description} (default ${r.default || '""'}; env ${r.env})`).join("\n");
}

export function runHelp(): string {
  return `Usage: trendwire run [options]

Runs the actor kinds named by --actors (all of them by default) in this process. With no
servers configured, everything runs embedded: an fsync'd in-process log under --data-dir,
checkpoints, and archived objects in the same directory.

Options (flag > environment > config file > default):
  --config <file>           JSON file with settings by field name (see README)
${optionLines(describeConfig(configSpec))}
  --help                    show this help

Exit codes: 0 stopped by SIGTERM or SIGINT after draining; 1 start-up failed, supervision gave
up, or the durable log or the stages thread failed (after a second of answering 503 and not
ready), also when a stop comes within that second, or draining failed or timed out; 130 a
second signal while draining.
`;
}

export function detectHelp(): string {
  const fields: readonly string[] = detectorFields;
  const rows = describeConfig(configSpec).filter((r) => fields.includes(r.field));
  return `Usage: trendwire detect --csv <file | -> [--explain] [options]

Scores a series the way the live detect actor scores one key's windows: each row in order, its
score computed only from the rows up to it (no look-ahead). The input is NAB's format: a header
line "timestamp,value", then one row per line; timestamps are "YYYY-MM-DD HH:MM:SS" (UTC), ISO
8601 or epoch ms. "-" reads standard input. Prints "timestamp,value,anomaly_score", one line per
row, the timestamp as read and the score in [0, 1) in full precision. With the forecast model on
(the default), the series gets a fresh model, as a new stream does in 'trendwire run'.

Options:
  --csv <file>              the series to score ("-" for standard input)
  --explain                 also print anomalous,detector,explanation (the explanation CSV-quoted)
  --config <file>           JSON settings file, as for 'trendwire run'
${optionLines(rows)}
  --help                    show this help

Exit codes: 0 scored, 1 bad input (the message names the line), 2 usage error.
`;
}

/** The README's configuration table, generated from the spec (`trendwire help config`). */
export function configTableMarkdown(): string {
  const rows = describeConfig(configSpec).map((r) => `| \`${r.field}\` | \`${r.flag}\` | \`${r.env}\` | \`${r.default}\` | ${r.description} |`);
  return ["| setting | flag | env | default | meaning |", "|---|---|---|---|---|", ...rows].join("\n");
}

export const streamsHelp = `Usage: trendwire streams --nats <url> [--json] [NATS options of 'trendwire run']

Prints each JetStream stream of the pipeline (messages, bytes, sequence range, size bound) and
each consumer (filter, messages pending, delivered but unacknowledged, redelivered, last
delivered sequence, ack floor). --json prints the same as JSON.
`;
