/**
 * The trendwire CLI entry point, for Node (dist/app/main.js) and Deno (app/main.ts).
 * Wires the platform, configuration and signals to the pipeline; nothing else reads the
 * environment.
 */
import { currentPlatform } from "../runtime/platform/current.ts";
import type { Platform } from "../runtime/platform/platform.ts";
import { ConfigError } from "../runtime/core/errors.ts";
import { trendwireConfig } from "./config.ts";
import { configTableMarkdown, mainHelp, parseArgs, runHelp, UsageError } from "./cli.ts";
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

async function run(platform: Platform, flags: Record<string, string | boolean>): Promise<void> {
  const { config: configPath, ...rest } = flags;
  if (configPath === true) throw new UsageError("--config needs a file path");
  const file = typeof configPath === "string" ? await readConfigFile(platform, configPath) : undefined;
  const config = trendwireConfig({ file, env: (name) => platform.env(name), flags: rest });
  const pipeline = await startPipeline(config, platform, {
    onEscalate: (err) => {
      console.error(JSON.stringify({ t: new Date().toISOString(), level: "error", msg: "supervision gave up; exiting", err: err.message }));
      platform.exit(1);
    },
  });
  if (pipeline.server) console.error(JSON.stringify({ t: new Date().toISOString(), level: "info", msg: `listening on http://${config.host}:${pipeline.server.port}` }));
  let signals = 0;
  platform.onShutdownSignal((signal) => {
    if (++signals > 1) platform.exit(130); // a second signal: stop waiting
    const timer = setTimeout(() => {
      console.error(JSON.stringify({ level: "error", msg: "shutdown timed out", signal }));
      platform.exit(1);
    }, config.shutdownTimeoutMs + 5_000);
    void pipeline.stop().then(
      () => {
        clearTimeout(timer);
        platform.exit(0);
      },
      (err) => {
        console.error(JSON.stringify({ level: "error", msg: "shutdown failed", err: String(err) }));
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
      console.log(command === "help" && positional[0] === "run" ? runHelp() : mainHelp);
      return;
    }
    if (command === "run") {
      if (flags.help) return void console.log(runHelp());
      return await run(platform, flags);
    }
    throw new UsageError(`unknown command: ${command}`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      console.error(`trendwire: ${err.message}\n\n${mainHelp}`);
      platform.exit(2);
    }
    throw err;
  }
}

await main();
