/**
 * `heapGrowthPercent` (README, Memory) applied to the process: through the platform where it
 * can set V8 flags while running (Node), else only on the runtime's command line (Deno, whose
 * `deno task trendwire` passes the default).
 */
import type { Platform } from "../runtime/platform/platform.ts";
import { configSpec } from "./config.ts";

/** Applies `percent`; returns a warning to log when it cannot be applied and is not the default. */
export function applyHeapGrowth(platform: Pick<Platform, "name" | "setHeapGrowthPercent">, percent: number): string | undefined {
  if (platform.setHeapGrowthPercent) {
    platform.setHeapGrowthPercent(percent);
    return undefined;
  }
  if (percent === configSpec.heapGrowthPercent.default) return undefined;
  return `heapGrowthPercent ${percent} is not applied unless ${platform.name} was started with --v8-flags=--heap-growing-percent=${percent}`;
}
