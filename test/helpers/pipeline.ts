/**
 * Starting the embedded pipeline for end-to-end tests: a real HTTP edge on a free loopback
 * port, the in-process transport and the archive in a temp data directory, logs captured in
 * memory. `window-ms` defaults to 1000 here so tests run in event time of seconds.
 */
import { currentPlatform } from "../../runtime/platform/current.ts";
import { trendwireConfig } from "../../app/config.ts";
import { startPipeline, type Pipeline } from "../../app/pipeline.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { makeTempDir } from "./tmp.ts";
import { withTimeout } from "./wait.ts";

export interface TestPipeline {
  pipeline: Pipeline;
  base: string;
  dataDir: string;
  /** Everything the pipeline logged at warn or error (crashes, dead letters, failed housekeeping). */
  log: ReturnType<typeof memoryLogger>;
  stop(): Promise<void>;
}

export async function startTestPipeline(flags: Record<string, string> = {}, dataDir?: string): Promise<TestPipeline> {
  const dir = dataDir ?? (await makeTempDir("tw-e2e-"));
  const platform = await currentPlatform();
  const config = trendwireConfig({ flags: { port: "0", host: "127.0.0.1", "data-dir": dir, "window-ms": "1000", ...flags } });
  const log = memoryLogger("warn");
  const pipeline = await startPipeline(config, platform, { log });
  // A stop that hangs fails the test instead of hanging the suite.
  return { pipeline, base: `http://127.0.0.1:${pipeline.server!.port}`, dataDir: dir, log, stop: () => withTimeout("pipeline.stop()", pipeline.stop(), 30_000) };
}
