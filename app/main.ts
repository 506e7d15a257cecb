/**
 * The trendwire CLI entry point, for Node (dist/app/main.js) and Deno (app/main.ts).
 * Wires the platform, configuration and signals to the pipeline; nothing else reads the
 * environment.
 */
import { currentPlatform } from "../runtime/platform/current.ts";
import type { Platform } from "../runtime/platform/platform.ts";
import { ConfigError } from "../runtime/core/errors.ts";
import { trendwireConfig } from "./config.ts";
import { createLogger } from "../runtime/core/log.ts";
import { applyHeapGrowth } from "./heap_growth.ts";
import { configTableMarkdown, detectHelp, mainHelp, parseArgs, runHelp, streamsHelp, UsageError } from "./cli.ts";
import { streamsCommand } from "./streams_command.ts";
import { detectCommand, DetectInputError } from "./detect_command.ts";
import { startPipeline } from "./pipeline.ts";

async function readConfigFile(platform: Platform, path: string): Promise<Record<string, unknown>> {
  const bytes = await platform.fs.readFile(path);
  if (!bytes) throw new UsageError(`config file not found: ${path}`);
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("expected a JSON object");
    return value;
  } catch (err) {
    throw new UsageError(`config file ${path}: ${(err as Error).message}`);
  }
}

/** Settings from --config, the environment and flags; NOMAD_ALLOC_INDEX stands in for TW_INSTANCE. */
async function loadConfig(platform: Platform, flags: Record<string, string | boolean>) {
  const { config: configPath, ...rest } = flags;
  if (configPath === true) throw new UsageError("--config needs a file path");
  const file = typeof configPath === "string" ? await readConfigFile(platform, configPath) : undefined;
  const env = (name: string) => platform.env(name) ?? (name === "TW_INSTANCE" ? platform.env("NOMAD_ALLOC_INDEX") : undefined);
  return trendwireConfig({ file, env, flags: rest });
}

/** The CLI's own lines, outside the pipeline: structured on stderr, as the pipeline's are. */
const cliLog = createLogger();

async function run(platform: Platform, flags: Record<string, string | boolean>): Promise<void> {
  const config = await loadConfig(platform, flags);
  // Before the stages thread starts: fewer full collections for some memory (README, Memory).
  const heapWarning = applyHeapGrowth(platform, config.heapGrowthPercent);
  if (heapWarning) cliLog.warn(heapWarning);
  // Signals during start-up end the process at once (nothing was accepted yet); a start-up that
  // hangs (e.g. a server that accepts connections but never answers) ends it after a deadline.
  let starting = true;
  const early = platform.onShutdownSignal((signal) => {
    if (starting) {
      cliLog.warn(`${signal} during start-up; exiting`);
      platform.exit(0);
    }
  });
  const deadline = setTimeout(() => {
    cliLog.error(`start-up did not finish within ${config.shutdownTimeoutMs * 2} ms; exiting`);
    platform.exit(1);
  }, config.shutdownTimeoutMs * 2);
  const pipeline = await startPipeline(config, platform, {
    onEscalate: (err) => {
      cliLog.error("cannot go on (supervision gave up, or the durable log failed); exiting", { err: err.message });
      platform.exit(1);
    },
  });
  starting = false;
  clearTimeout(deadline);
  early();
  if (pipeline.server) cliLog.info(`listening on http://${config.host}:${pipeline.server.port}`);
  let signals = 0;
  platform.onShutdownSignal((signal) => {
    if (++signals > 1) platform.exit(130); // a second signal: stop waiting
    const timer = setTimeout(() => {
      cliLog.error("shutdown timed out", { signal });
      platform.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    void pipeline.stop().then(
      () => {
        clearTimeout(timer);
        // Stopped within the grace after a failure (Pipeline.failure): still a failure.
        platform.exit(pipeline.failure ? 1 : 0);
      },
      (err) => {
        cliLog.error("shutdown failed", { err: String(err) });
        platform.exit(1);
      },
    );
  });
}

async function main(): Promise<void> {
  const platform = await currentPlatform();
  const { command, flags, positional } = parseArgs(platform.args());
  try {
    if (command === undefined || command === "help") {
      if (command === "help" && positional[0] === "config") return void console.log(configTableMarkdown());
      const topic = command === "help" ? positional[0] : undefined;
      console.log(topic === "run" ? runHelp() : topic === "detect" ? detectHelp() : mainHelp);
      return;
    }
    if (command === "run") {
      if (flags.help) return void console.log(runHelp());
      return await run(platform, flags);
    }
    if (command === "streams") {
      if (flags.help) return void console.log(streamsHelp);
      const { json, ...rest } = flags;
      const config = await loadConfig(platform, rest);
      return await streamsCommand(config, platform, json === true);
    }
    if (command === "detect") {
      if (flags.help) return void console.log(detectHelp());
      const { csv, explain, ...rest } = flags;
      if (typeof csv !== "string") throw new UsageError("detect needs --csv <file> (or --csv - for standard input)");
      if (explain !== undefined && explain !== true) throw new UsageError(`--explain takes no value, got "${explain}"`);
      const config = await loadConfig(platform, rest);
      return await detectCommand(config, platform, { csv, explain: explain === true });
    }
    throw new UsageError(`unknown command: ${command}`);
  } catch (err) {
    if (err instanceof DetectInputError) {
      console.error(`trendwire: ${err.message}`);
      platform.exit(1);
    }
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`trendwire: ${err.message}\n\n${mainHelp}`);
      platform.exit(2);
    }
    // Start-up failed (e.g. NATS unreachable): one clear line, non-zero exit for the scheduler.
    const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    cliLog.error(`start-up failed: ${(err as Error).message}${cause}`);
    platform.exit(1);
  }
}

await main();
