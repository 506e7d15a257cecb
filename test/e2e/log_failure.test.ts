/**
 * End to end when the embedded log fails (a full disk): ingest refuses with 503, /readyz stops
 * answering ready, the pipeline escalates (the process would exit non-zero for its supervisor to
 * restart it), and a restart on the same data directory recovers every event accepted before
 * the failure exactly once, and none of those refused.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "../../runtime/platform/current.ts";
import type { FileSystem, Platform } from "../../runtime/platform/platform.ts";
import { trendwireConfig } from "../../app/config.ts";
import { startPipeline } from "../../app/pipeline.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { withTimeout } from "../helpers/wait.ts";
import { chunk, encodeBody, T0, tally, windowEvents, type WindowTotals } from "../helpers/events.ts";
import { postEvents } from "../helpers/edge_client.ts";
import { diffTotals, finalWindows, rawSummary, sumCounts } from "../helpers/archive.ts";

const WINDOW_MS = 1000;

/**
 * The file system the data directory uses (direct I/O on Node: config.dataFileSystem), whose
 * raw log appends fail while `full()`, as with ENOSPC; every other file works.
 */
function rawLogFailing(platform: Platform, full: () => boolean): FileSystem {
  const base = platform.directFs ?? platform.fs;
  return {
    ...base,
    openAppend: async (path, options) => {
      const file = await base.openAppend(path, options);
      if (!path.includes("/TW_RAW/")) return file;
      return {
        write: (chunks) => (full() ? Promise.reject(new Error("ENOSPC: no space left on device (injected)")) : file.write(chunks)),
        sync: () => file.sync(),
        close: () => file.close(),
      };
    },
  };
}

/** One thread: the stages thread would open the log with the platform's own file system. */
function flagsFor(dataDir: string): Record<string, string> {
  return { port: "0", host: "127.0.0.1", "data-dir": dataDir, "window-ms": String(WINDOW_MS), "stages-thread": "off", "max-out-of-order-ms": "2000", "idle-timeout-ms": "600000" };
}

test("a failed write of the raw log: 503s, not ready, escalated once; a restart recovers exactly what was accepted", async () => {
  const dataDir = await makeTempDir("tw-e2e-");
  const platform = await currentPlatform();
  let diskFull = false;
  const fs = rawLogFailing(platform, () => diskFull);
  const flags = flagsFor(dataDir);
  const log = memoryLogger("warn");
  const escalations: { error: Error; at: number }[] = [];
  const first = await startPipeline(trendwireConfig({ flags }), { ...platform, fs, directFs: fs }, { log, onEscalate: (error) => escalations.push({ error, at: performance.now() }) });
  let second: Awaited<ReturnType<typeof startTestPipeline>> | undefined;
  try {
    const base = `http://127.0.0.1:${first.server!.port}`;
    assert.is(first.failure, undefined);
    const sent = new Map<string, WindowTotals>();
    let accepted = 0;
    for (const batch of chunk(windowEvents(T0, WINDOW_MS, { a: 40, b: 25 }), 20)) {
      accepted += (await postEvents(base, "disk", "json", batch)).accepted;
      tally(sent, "disk", batch, WINDOW_MS);
    }
    assert.is((await fetch(`${base}/readyz`)).status, 200);

    diskFull = true;
    const refused = windowEvents(T0 + WINDOW_MS, WINDOW_MS, { a: 5, c: 7 });
    let firstRefusalAt = 0;
    for (let i = 0; i < 3; i++) {
      const { body, contentType } = encodeBody("json", refused);
      const res = await fetch(`${base}/v1/streams/disk/events`, { method: "POST", headers: { "content-type": contentType }, body });
      assert.is(res.status, 503, `request ${i} refused`);
      assert.ok(res.headers.get("retry-after"), "with Retry-After");
      assert.is(((await res.json()) as { title: string }).title, "Storage unavailable");
      firstRefusalAt ||= performance.now();
    }
    const ready = await fetch(`${base}/readyz`);
    assert.is(ready.status, 503, "not ready once the log failed");
    await ready.body?.cancel();
    assert.match(first.failure?.message ?? "", /durable log of TW_RAW failed/, "a stop from now on ends the process non-zero (main.ts)");
    for (let i = 0; i < 100 && escalations.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(escalations.length, 1, "escalated once, however many requests were refused");
    assert.ok(escalations[0]!.at > firstRefusalAt, "after the refused request got its 503 (main.ts exits on escalation)");
    assert.match(escalations[0]!.error.message, /durable log of TW_RAW failed \(ENOSPC.*\); restart to recover/);
    const errors = log.lines.filter((l) => l.level === "error");
    assert.equal(errors.map((l) => [l.msg, l.stream]), [["durable log failed", "TW_RAW"]]);
    assert.is(log.lines.filter((l) => l.msg === "transport unavailable").length, 1, "one warning for the refused requests");
    await withTimeout("first.stop()", first.stop(), 30_000);

    second = await startTestPipeline({ "max-out-of-order-ms": "2000", "idle-timeout-ms": "600000" }, dataDir);
    await second.stop();
    assert.equal(second.log.lines, [], "the restart recovers without a warning");
    const raw = await rawSummary(dataDir);
    assert.equal(raw.repeated, [], "no raw batch archived twice");
    assert.is(raw.events, accepted, "the raw archive holds what was accepted, and nothing refused");
    const { totals } = await finalWindows(dataDir);
    assert.equal(diffTotals(sent, totals), [], "windows equal an offline recount of what was accepted");
    assert.is(sumCounts(totals), accepted);
  } finally {
    await withTimeout("first.stop()", first.stop(), 30_000).catch(() => undefined);
    await second?.stop();
    await removeDir(dataDir);
  }
});

test("a stop within the grace after the log failed: the failure is reported, and no escalation comes after it", async () => {
  const dataDir = await makeTempDir("tw-e2e-");
  const platform = await currentPlatform();
  const fs = rawLogFailing(platform, () => true);
  const escalations: Error[] = [];
  const pipeline = await startPipeline(trendwireConfig({ flags: flagsFor(dataDir) }), { ...platform, fs, directFs: fs }, { log: memoryLogger("error"), onEscalate: (error) => escalations.push(error) });
  try {
    const { body, contentType } = encodeBody("json", windowEvents(T0, WINDOW_MS, { a: 3 }));
    const res = await fetch(`http://127.0.0.1:${pipeline.server!.port}/v1/streams/disk/events`, { method: "POST", headers: { "content-type": contentType }, body });
    assert.is(res.status, 503);
    await res.body?.cancel();
    assert.match(pipeline.failure?.message ?? "", /durable log of TW_RAW failed/);
    await withTimeout("pipeline.stop()", pipeline.stop(), 30_000);
    await new Promise((r) => setTimeout(r, 1_500)); // past ESCALATION_GRACE_MS
    assert.equal(escalations, [], "the stop cancelled the escalation waiting out its grace");
    assert.match(pipeline.failure?.message ?? "", /durable log of TW_RAW failed/, "main.ts ends such a stop non-zero");
  } finally {
    await withTimeout("pipeline.stop()", pipeline.stop(), 30_000).catch(() => undefined);
    await removeDir(dataDir);
  }
});

test.run();
