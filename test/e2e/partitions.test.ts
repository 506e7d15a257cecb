/**
 * The partition count of a run (setting `partitions`, 0 = auto): embedded, a new data directory
 * gets 1 and a data directory keeps the count it started with (recorded in partitions.json, or
 * read from the durable consumers of one started before it recorded it); over NATS auto is 16.
 * Embedded runs on real data directories, and a different explicit count is refused before
 * anything is published.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "../../runtime/platform/current.ts";
import { trendwireConfig } from "../../app/config.ts";
import { startPipeline } from "../../app/pipeline.ts";
import { PARTITIONS_FILE, partitionsOfConsumers, recordedPartitions, withPartitions } from "../../app/partition_count.ts";
import { durableGroups } from "../../runtime/transport/in_process.ts";
import { ConfigError } from "../../runtime/core/errors.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { metricSum, postEvents } from "../helpers/edge_client.ts";
import { T0, type TestEvent } from "../helpers/events.ts";

function flagsFor(dataDir: string, extra: Record<string, string> = {}) {
  return { port: "0", host: "127.0.0.1", "data-dir": dataDir, "stages-thread": "off", "detect-model": "off", ...extra };
}

/** Starts a pipeline on `dataDir`, has `events` accepted and aggregated, and stops it. */
async function runOnce(dataDir: string, events: TestEvent[], extra: Record<string, string> = {}): Promise<void> {
  const platform = await currentPlatform();
  const pipeline = await startPipeline(trendwireConfig({ flags: flagsFor(dataDir, extra) }), platform, { log: memoryLogger("warn") });
  try {
    const base = `http://127.0.0.1:${pipeline.server!.port}`;
    const before = await metricSum(base, "tw_events_aggregated_total", { stream: "parts" });
    const ack = await postEvents(base, "parts", "json", events);
    assert.is(ack.accepted, events.length);
    await waitFor("every accepted event aggregated", async () => (await metricSum(base, "tw_events_aggregated_total", { stream: "parts" })) === before + events.length, { timeoutMs: 20_000 });
  } finally {
    await pipeline.stop();
  }
}

/** Runs `body` with a fresh data directory, removed afterwards (also on failure). */
async function inDataDir(prefix: string, body: (dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = await makeTempDir(prefix);
  try {
    await body(dataDir);
  } finally {
    await removeDir(dataDir);
  }
}

const events: TestEvent[] = Array.from({ length: 40 }, (_, i) => ({ key: `k${i % 13}`, ts: T0 + i }));

test("embedded: a new data directory gets 1 partition, and a restart keeps it", async () =>
  inDataDir("tw-parts-new-", async (dataDir) => {
    await runOnce(dataDir, events);
    const platform = await currentPlatform();
    assert.is(await recordedPartitions(platform, dataDir), 1);
    assert.equal((await durableGroups(platform.fs, `${dataDir}/log`, "TW_EVENTS")).filter((g) => g.startsWith("aggregate-")), ["aggregate-p0"]);
    await runOnce(dataDir, events);
    assert.is(await recordedPartitions(platform, dataDir), 1);
  }));

test("embedded: a data directory started with 4 partitions keeps 4, also one that predates partitions.json; another explicit count is refused by name", async () =>
  inDataDir("tw-parts-four-", async (dataDir) => {
    const platform = await currentPlatform();
    await runOnce(dataDir, events, { partitions: "4" });
    assert.is(await recordedPartitions(platform, dataDir), 4);
    // Auto follows the directory: the run uses 4, and its events still flow end to end.
    assert.is((await withPartitions(trendwireConfig({ flags: flagsFor(dataDir) }), platform)).partitions, 4);
    await runOnce(dataDir, events);
    const aggregateGroups = async () => (await durableGroups(platform.fs, `${dataDir}/log`, "TW_EVENTS")).filter((g) => g.startsWith("aggregate-")).sort();
    assert.equal(await aggregateGroups(), ["aggregate-p0", "aggregate-p1", "aggregate-p2", "aggregate-p3"]);

    // A directory started before it recorded its count: read from its consumers, then recorded.
    await platform.fs.remove(`${dataDir}/${PARTITIONS_FILE}`);
    assert.is(await partitionsOfConsumers(platform, dataDir), 4);
    assert.is((await withPartitions(trendwireConfig({ flags: flagsFor(dataDir) }), platform)).partitions, 4);
    assert.is(await recordedPartitions(platform, dataDir), 4);

    let caught: unknown;
    try {
      const pipeline = await startPipeline(trendwireConfig({ flags: flagsFor(dataDir, { partitions: "8" }) }), platform, { log: memoryLogger("warn") });
      await pipeline.stop();
    } catch (err) {
      caught = err;
    }
    assert.instance(caught, ConfigError);
    assert.is((caught as ConfigError).field, "partitions");
    assert.match((caught as Error).message, /started with 4 partitions, not 8/);
    // Refused before anything was created for the other count.
    assert.equal(await aggregateGroups(), ["aggregate-p0", "aggregate-p1", "aggregate-p2", "aggregate-p3"]);
    assert.is(await recordedPartitions(platform, dataDir), 4);
  }));

test("over NATS auto is 16 and an explicit count is kept (nothing is read from the data directory)", async () => {
  const platform = await currentPlatform();
  const nats = { nats: "nats://127.0.0.1:1", "data-dir": "/nonexistent/tw-data" };
  assert.is((await withPartitions(trendwireConfig({ flags: nats }), platform)).partitions, 16);
  assert.is((await withPartitions(trendwireConfig({ flags: { ...nats, partitions: "8" } }), platform)).partitions, 8);
});

test("embedded: a damaged partitions.json stops start-up by name instead of being guessed", async () =>
  inDataDir("tw-parts-bad-", async (dataDir) => {
    const platform = await currentPlatform();
    await platform.fs.writeFileAtomic(`${dataDir}/${PARTITIONS_FILE}`, new TextEncoder().encode("{\"partitions\": \"many\"}"));
    let caught: unknown;
    try {
      await withPartitions(trendwireConfig({ flags: flagsFor(dataDir) }), platform);
    } catch (err) {
      caught = err;
    }
    assert.instance(caught, ConfigError);
    assert.is((caught as ConfigError).field, "partitions");
  }));

test("embedded: a log whose consumers cannot be read records no count (repaired, it is read again)", async () =>
  inDataDir("tw-parts-unreadable-", async (dataDir) => {
    const platform = await currentPlatform();
    await platform.fs.mkdirp(`${dataDir}/log/TW_EVENTS`);
    await platform.fs.writeFileAtomic(`${dataDir}/log/TW_EVENTS/aggregate-p7.consumer.json`, new TextEncoder().encode("{damaged"));
    // This run resolves a count (opening the log then fails with the reason), but records none.
    assert.is((await withPartitions(trendwireConfig({ flags: flagsFor(dataDir) }), platform)).partitions, 1);
    assert.is(await recordedPartitions(platform, dataDir), undefined);
    // Repaired: the consumers say 8 partitions, and that is what is recorded.
    const repaired = { v: 1, group: "aggregate-p7", filter: "tw.events.7", floor: 0, acked: [], delivered: [] };
    await platform.fs.writeFileAtomic(`${dataDir}/log/TW_EVENTS/aggregate-p7.consumer.json`, new TextEncoder().encode(JSON.stringify(repaired)));
    assert.is((await withPartitions(trendwireConfig({ flags: flagsFor(dataDir) }), platform)).partitions, 8);
    assert.is(await recordedPartitions(platform, dataDir), 8);
  }));

test.run();
