/**
 * setHeapGrowthPercent (what `trendwire run` applies as heapGrowthPercent): on Node it takes
 * effect at run time, after V8 has started; Deno takes V8 flags only on its command line, so its
 * adapter has none.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "./current.ts";

/**
 * A child Node process that sets the growth through the adapter, keeps ~20 MB live, then lets
 * ~170 MB of objects reach the old generation and die there; prints its full collections.
 */
const childScript = (adapterUrl: string) => `
import { nodePlatform } from ${JSON.stringify(adapterUrl)};
import { PerformanceObserver, constants } from "node:perf_hooks";
nodePlatform.setHeapGrowthPercent(Number(process.argv[1]));
const chunk = () => Array.from({ length: 2000 }, (_, j) => ({ j }));
const live = Array.from({ length: 200 }, chunk);
globalThis.gc();
let full = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
}).observe({ entryTypes: ["gc"] });
const fifo = [];
for (let i = 0; i < 3000; i++) {
  fifo.push(chunk());
  if (fifo.length > 1000) fifo.shift();
}
await new Promise((resolve) => setTimeout(resolve, 20));
console.log(JSON.stringify({ full, live: live.length }));
`;

async function fullCollections(percent: number): Promise<number> {
  const { execFileSync } = await import("node:child_process");
  const adapterUrl = new URL(`./node${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url).href;
  const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", childScript(adapterUrl), String(percent)], { encoding: "utf8" });
  return (JSON.parse(out.trim()) as { full: number }).full;
}

test("Node: a heap growth set at run time spaces full collections out (10 % against 400 %)", async () => {
  const platform = await currentPlatform();
  if (platform.name !== "node") {
    assert.is(platform.setHeapGrowthPercent, undefined, "Deno's adapter cannot set V8 flags once running");
    return;
  }
  const tight = await fullCollections(10);
  const loose = await fullCollections(400);
  // ~170 MB through an old generation of ~20-60 MB: at 10 % the limit is never far ahead.
  assert.ok(tight >= 3, `10 %: ${tight} full collections`);
  assert.ok(tight >= 2 * loose, `10 %: ${tight} full collections, 400 %: ${loose}`);
});

test.run();
