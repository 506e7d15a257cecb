/** deno.json's tasks run what exists: each module a task names is in the repository. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "./helpers/cli.ts";
import { configSpec } from "../app/config.ts";

test("every module a deno.json task runs exists", async () => {
  const root = repoRoot();
  const { tasks } = JSON.parse(await readFile(join(root, "deno.json"), "utf8")) as { tasks: Record<string, string> };
  assert.ok(Object.keys(tasks).length >= 2, "deno.json has its tasks");
  for (const [name, command] of Object.entries(tasks)) {
    const modules = command.split(/\s+/).filter((word) => /\.(ts|js|mjs)$/.test(word));
    assert.ok(modules.length > 0, `task ${name} names a module: ${command}`);
    for (const path of modules) {
      const found = await stat(join(root, path)).then((s) => s.isFile(), () => false);
      assert.ok(found, `task ${name} runs ${path}, which does not exist`);
    }
  }
});

test("deno task trendwire starts Deno with the default heapGrowthPercent (Deno takes V8 flags only on its command line)", async () => {
  const { tasks } = JSON.parse(await readFile(join(repoRoot(), "deno.json"), "utf8")) as { tasks: Record<string, string> };
  assert.ok(tasks.trendwire?.split(/\s+/).includes(`--v8-flags=--heap-growing-percent=${configSpec.heapGrowthPercent.default}`), tasks.trendwire);
});

test.run();
