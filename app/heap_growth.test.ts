/** heapGrowthPercent as `trendwire run` applies it: through the platform, or a warning where it cannot. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { applyHeapGrowth } from "./heap_growth.ts";
import { configSpec } from "./config.ts";

test("a platform that sets V8 flags while running gets the configured growth, 0 included", () => {
  for (const percent of [configSpec.heapGrowthPercent.default, 0, 350]) {
    const set: number[] = [];
    assert.is(applyHeapGrowth({ name: "node", setHeapGrowthPercent: (p) => void set.push(p) }, percent), undefined);
    assert.equal(set, [percent]);
  }
});

test("where V8 flags go only on the command line, a value other than the default is reported, naming the flag", () => {
  assert.is(applyHeapGrowth({ name: "deno" }, configSpec.heapGrowthPercent.default), undefined);
  const warning = applyHeapGrowth({ name: "deno" }, 0);
  assert.ok(warning?.includes("--v8-flags=--heap-growing-percent=0"), warning);
});

test.run();
