/**
 * Command-line parsing and help: `trendwire <command> [--flag value | --flag=value | --flag]`.
 * Help text for `run` is generated from the config spec, so it never drifts from the code.
 */
import { describeConfig } from "../runtime/core/config.ts";
import { configSpec } from "./config.ts";

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
  trendwire help [run|config] show help (config: the settings table in Markdown)

Run 'trendwire run --help' for every option.
`;

export function runHelp(): string {
  const rows = describeConfig(configSpec);
  const width = Math.max(...rows.map((r) => r.flag.length)) + 8;
  const lines = rows.map((r) => `  ${(r.flag + " <v>").padEnd(width)} ${r.description} (default ${r.default || '""'}; env ${r.env})`);
  return `Usage: trendwire run [options]

Runs the actor kinds named by --actors (all of them by default) in this process. With no
servers configured, everything runs embedded: an fsync'd in-process log under --data-dir,
checkpoints, and archived objects in the same directory.

Options (flag > environment > config file > default):
  --config <file>           JSON file with settings by field name (see README)
${lines.join("\n")}
  --help                    show this help
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
