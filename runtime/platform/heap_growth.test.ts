/**
 * setHeapGrowthPercent (what `trendwire run` applies as heapGrowthPercent, app/heap_growth.ts):
 * on Node it takes effect at run time, after V8 has started, and for a thread started after it
 * (as the stages thread is); Deno takes V8 flags only on its command line, so its adapter has
 * none.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "./current.ts";

/**
 * A child Node process that sets the growth through the adapter and then, on a worker thread
 * started afterwards, keeps ~19 MB live and sends ~200 MB of objects through a queue long
 * enough that they reach the old generation (~100 MB live at its fullest) and die there; prints
 * the worker's full collections.
 */
const childScript = (adapterUrl: string) => `
import { nodePlatform } from ${JSON.stringify(adapterUrl)};
import { Worker } from "node:worker_threads";
nodePlatform.setHeapGrowthPercent(Number(process.argv[1]));
const work = \`
  import { parentPort } from "node:worker_threads";
  import { PerformanceObserver, constants } from "node:perf_hooks";
  const chunk = () => Array.from({ length: 2000 }, (_, j) => ({ j }));
  const live = Array.from({ length: 200 }, chunk);
  globalThis.gc();
  let full = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) full++;
  }).observe({ entryTypes: ["gc"] });
  const fifo = [];
  for (let i = 0; i < 3500; i++) {
    fifo.push(chunk());
    if (fifo.length > 1000) fifo.shift();
  }
  setTimeout(() => parentPort.postMessage({ full, live: live.length }), 20);
\`;
const worker = new Worker(work, { eval: true });
worker.once("message", (m) => { console.log(JSON.stringify(m)); process.exit(0); });
worker.once("error", (e) => { console.error(e); process.exit(1); });
`;

async function fullCollections(percent: number): Promise<number> {
  const { execFileSync } = await import("node:child_process");
  // The worker's code is a module as the child's is (it inherits --input-type=module).
  // Node runs the tests from dist/, where the adapter is node.js beside this file.
  const adapterUrl = new URL("./node.js", import.meta.url).href;
  const out = execFileSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", childScript(adapterUrl), String(percent)], { encoding: "utf8", timeout: 60_000 });
  return (JSON.parse(out.trim()) as { full: number }).full;
}

test("Node: a heap growth set at run time spaces out a later thread's full collections (10 % against 400 %)", async () => {
  const platform = await currentPlatform();
  if (platform.name !== "node") {
    assert.is(platform.setHeapGrowthPercent, undefined, "Deno's adapter cannot set V8 flags once running");
    return;
  }
  const tight = await fullCollections(10);
  const loose = await fullCollections(400);
  // At 10 % the next limit is never far past what survived; at 400 % it is four times further.
  assert.ok(tight >= 3, `10 %: ${tight} full collections`);
  assert.ok(tight >= 2 * loose, `10 %: ${tight} full collections, 400 %: ${loose}`);
});

test.run();
