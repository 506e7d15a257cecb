/**
 * Picks the platform adapter for the runtime we are on. The Deno adapter is imported through a
 * variable so tsc (building for Node) leaves it alone; Deno runs the sources directly.
 */
import type { Platform } from "./platform.ts";

export async function currentPlatform(): Promise<Platform> {
  if ("Deno" in globalThis) {
    const denoModule = "./deno.ts";
    return ((await import(denoModule)) as { denoPlatform: Platform }).denoPlatform;
  }
  return (await import("./node.ts")).nodePlatform;
}
