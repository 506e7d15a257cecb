/**
 * The embedded pipeline with its stages on a worker thread (app/stages_thread.ts, the default
 * on 2+ CPUs) and on one thread (`--stages-thread off`): the same traffic, in through HTTP,
 * reconciles exactly in both (accepted = aggregated = archived, window by window), the worker's
 * metrics and logs come out through the main thread, and a start that fails (a worker that
 * cannot open the log, a taken port) fails with its reason.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "../../runtime/platform/current.ts";
import { trendwireConfig } from "../../app/config.ts";
import { startPipeline } from "../../app/pipeline.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { withTimeout, waitFor } from "../helpers/wait.ts";
import { chunk, poisson, prng, T0, tally, windowEvents, type TestEvent, type WindowTotals } from "../helpers/events.ts";
import { inParallel, metricSum, postEvents } from "../helpers/edge_client.ts";
import { diffTotals, finalWindows, rawSummary } from "../helpers/archive.ts";

const WINDOW_MS = 1000;

function traffic(seed: number, windows: number): TestEvent[] {
  const random = prng(seed);
  const out: TestEvent[] = [];
  for (let w = 0; w < windows; w++) {
    const counts: Record<string, number> = {};
    for (let j = 0; j < 6; j++) counts[`k${j}`] = poisson(random, 10 + 5 * j);
    out.push(...windowEvents(T0 + w * WINDOW_MS, WINDOW_MS, counts, () => undefined));
  }
  return out;
}

/** Requests go 6 at a time, so event time arrives out of order: the watermark trails by a minute (windows close at stop). */
async function start(mode: string, dataDir: string) {
  const platform = await currentPlatform();
  const config = trendwireConfig({
    // With the stages thread on, 4 partitions (embedded runs default to 1): its stages fold several.
    flags: { port: "0", host: "127.0.0.1", "data-dir": dataDir, "window-ms": String(WINDOW_MS), "max-out-of-order-ms": "60000", "idle-timeout-ms": "600000", "stages-thread": mode, partitions: mode === "on" ? "4" : "0" },
  });
  const log = memoryLogger("info");
  const pipeline = await startPipeline(config, platform, { log });
  return { pipeline, log, base: `http://127.0.0.1:${pipeline.server!.port}` };
}

for (const mode of ["on", "off"]) {
  test(`stages thread ${mode}: HTTP traffic reconciles exactly (accepted = aggregated = archived)`, async () => {
    const dataDir = await makeTempDir("tw-stages-");
    const { pipeline, log, base } = await start(mode, dataDir);
    let stopped = false;
    try {
      const events = traffic(mode === "on" ? 11 : 12, 12);
      const sent = tally(new Map<string, WindowTotals>(), "threads", events, WINDOW_MS);
      const batches = chunk(events, 97);
      const acks = await inParallel(batches, 6, (b) => postEvents(base, "threads", "json", b));
      const accepted = acks.reduce((n, a) => n + a.accepted, 0);
      assert.is(accepted, events.length);
      // The stages' counters reach /metrics through the main thread.
      await waitFor("every accepted event aggregated", async () => (await metricSum(base, "tw_events_aggregated_total", { stream: "threads" })) === accepted, { timeoutMs: 20_000 });
      assert.is(await metricSum(base, "tw_events_decoded_total", { stream: "threads" }), accepted);
      assert.is(await metricSum(base, "tw_events_accepted_total", { stream: "threads" }), accepted);
      const rss = (await (await fetch(`${base}/metrics`)).text()).match(/^process_resident_memory_bytes /gm) ?? [];
      assert.is(rss.length, 1, "a series both threads have is listed once");

      await withTimeout("pipeline.stop()", pipeline.stop(), 30_000);
      stopped = true;
      const raw = await rawSummary(dataDir, "threads");
      assert.equal(raw.badSeqs, []);
      assert.equal(raw.repeated, []);
      assert.is(raw.events, accepted, "archived raw = accepted");
      const { totals } = await finalWindows(dataDir, ["threads"]);
      assert.equal(diffTotals(sent, totals), [], "every window's count and sum as sent");

      const fromStages = log.lines.filter((l) => l.thread === "stages");
      if (mode === "on") {
        assert.ok(fromStages.some((l) => l.msg === "trendwire started"), "the stages thread's log lines come out through the main thread's logger");
        assert.ok(log.lines.some((l) => l.msg === "trendwire started" && l.stagesThread === true));
      } else {
        assert.is(fromStages.length, 0, "one thread: no stages thread");
      }
      assert.equal(log.lines.filter((l) => l.level === "error"), []);
    } finally {
      if (!stopped) await pipeline.stop().catch(() => {});
      await removeDir(dataDir);
    }
  });
}

test("a stages thread that cannot open the log fails start-up with the reason", async () => {
  const dataDir = await makeTempDir("tw-stages-bad-");
  const platform = await currentPlatform();
  try {
    // A file where the log directory should be: the worker's transport cannot open it.
    await platform.fs.writeFileAtomic(`${dataDir}/log`, new TextEncoder().encode("not a directory"));
    let caught: unknown;
    try {
      const { pipeline } = await start("on", dataDir);
      await pipeline.stop();
    } catch (err) {
      caught = err;
    }
    assert.instance(caught, Error);
    assert.match((caught as Error).message, /stages thread did not start/);
    // The reason: the log directory cannot be made (Node: ENOTDIR; Deno: os error 20).
    assert.match(String(((caught as Error).cause as Error | undefined)?.message), /not a directory/i);
  } finally {
    await removeDir(dataDir);
  }
});

test("a taken HTTP port fails start-up at once with the reason, and the stages thread goes with it", async () => {
  const first = await makeTempDir("tw-stages-a-");
  const second = await makeTempDir("tw-stages-b-");
  const { pipeline } = await start("on", first);
  try {
    const platform = await currentPlatform();
    const config = trendwireConfig({ flags: { port: String(pipeline.server!.port), host: "127.0.0.1", "data-dir": second, "stages-thread": "on" } });
    const log = memoryLogger("info");
    let caught: unknown;
    await startPipeline(config, platform, { log }).then((p) => p.stop(), (err) => (caught = err));
    assert.instance(caught, Error, "the second pipeline cannot listen on the first one's port");
    assert.match(String((caught as Error).message), /EADDRINUSE|in use/i);
    assert.not.ok(log.lines.some((l) => l.msg === "restarting child"), "not retried as a crash");
    assert.ok(log.lines.some((l) => l.thread === "stages" && l.msg === "trendwire stopped"), "its stages thread was stopped, not left running");
  } finally {
    await pipeline.stop();
    await removeDir(first);
    await removeDir(second);
  }
});

test.run();
