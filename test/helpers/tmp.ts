/**
 * Temporary directories for tests, through node:fs/promises and node:os so the same code runs on
 * Node and Deno (test/ code may use node: modules; product code may not).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export async function makeTempDir(prefix = "tw-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
