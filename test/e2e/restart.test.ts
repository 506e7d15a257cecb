/**
 * End to end across a restart: stop the pipeline, start a new one on the same data directory,
 * send more, stop again. The archive must reconcile over both runs: nothing lost, nothing
 * archived or counted twice, and a request retried across the restart still counts once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { chunk, poisson, prng, T0, tally, windowEvents, type TestEvent, type WindowTotals } from "../helpers/events.ts";
import { postEvents } from "../helpers/edge_client.ts";
import { diffTotals, finalWindows, rawSummary, readArchive, sumCounts } from "../helpers/archive.ts";

const WINDOW_MS = 1000;
const defaultFlags = { "max-out-of-order-ms": "2000", "idle-timeout-ms": "600000" };

function traffic(seed: number, fromWindow: number, windows: number): TestEvent[] {
  const random = prng(seed);
  const out: TestEvent[] = [];
  for (let w = fromWindow; w < fromWindow + windows; w++) {
    out.push(...windowEvents(T0 + w * WINDOW_MS, WINDOW_MS, { a: poisson(random, 30), b: poisson(random, 10), c: poisson(random, 3) }));
  }
  return out;
}

// Embedded runs default to 1 partition (app/partition_count.ts); 4 keeps recovery across several covered.
for (const partitions of ["0", "4"]) {
  test(`a restart on the same data directory keeps every event exactly once (partitions ${partitions})`, async () => {
    const flags = { ...defaultFlags, partitions };
    const first = await startTestPipeline(flags);
    const dataDir = first.dataDir;
    let second: Awaited<ReturnType<typeof startTestPipeline>> | undefined;
    try {
      const sent = new Map<string, WindowTotals>();
      const batchIds = new Set<string>();
      let accepted = 0;
      const send = async (base: string, stream: string, events: TestEvent[], headers: Record<string, string> = {}) => {
        for (const batch of chunk(events, 60)) {
          const r = await postEvents(base, stream, "json", batch, headers);
          if (!r.duplicate) {
            accepted += r.accepted;
            tally(sent, stream, batch, WINDOW_MS);
          }
          batchIds.add(r.batchId);
        }
      };

      await send(first.base, "restart", traffic(1, 0, 6));
      const retried = windowEvents(T0 + 30 * WINDOW_MS, WINDOW_MS, { r: 12 });
      await send(first.base, "retried", retried, { "idempotency-key": "retry-across-restart" });
      await first.stop();
      assert.equal(first.log.lines, [], "nothing logged at warn or error");
      const afterFirst = await rawSummary(dataDir);
      assert.is(afterFirst.events, accepted, "run 1 archived everything it accepted");

      second = await startTestPipeline(flags, dataDir);
      const retry = await postEvents(second.base, "retried", "json", retried, { "idempotency-key": "retry-across-restart" });
      assert.is(retry.duplicate, true, "a retry after the restart is still recognised as a duplicate");
      await send(second.base, "restart", traffic(2, 10, 6));
      await send(second.base, "restart-new", traffic(3, 10, 2));
      await second.stop();
      assert.equal(second.log.lines, [], "nothing logged at warn or error");

      const raw = await rawSummary(dataDir);
      assert.equal(raw.badSeqs, [], "no sequence archived twice over both runs");
      assert.equal(raw.repeated, [], "no raw batch archived twice over both runs");
      assert.equal([...raw.batches.keys()].sort(), [...batchIds].sort(), "the raw archive holds exactly the accepted batches of both runs");
      assert.is(raw.events, accepted);
      const { totals } = await finalWindows(dataDir);
      assert.equal(diffTotals(sent, totals), [], "windows of both runs equal an offline recount");
      assert.is(sumCounts(totals), accepted);
      assert.equal(await readArchive(dataDir, "dlq"), [], "nothing was dead-lettered");
    } finally {
      await first.stop();
      await second?.stop();
      await removeDir(dataDir);
    }
  });
}

test("a restart replays nothing twice: the archive does not change when a pipeline restarts idle", async () => {
  const first = await startTestPipeline(defaultFlags);
  const dataDir = first.dataDir;
  try {
    const events = traffic(4, 0, 3);
    for (const batch of chunk(events, 50)) await postEvents(first.base, "idle", "msgpack", batch);
    await first.stop();
    assert.equal(first.log.lines, [], "nothing logged at warn or error");
    const before = { raw: await readArchive(dataDir, "raw"), agg: await readArchive(dataDir, "agg") };
    const second = await startTestPipeline(defaultFlags, dataDir);
    await second.stop();
    assert.equal(second.log.lines, [], "nothing logged at warn or error");
    const after = { raw: await readArchive(dataDir, "raw"), agg: await readArchive(dataDir, "agg") };
    assert.equal(after.raw.map((o) => o.path), before.raw.map((o) => o.path), "no raw object added or removed");
    assert.equal(after.agg.map((o) => o.path), before.agg.map((o) => o.path), "no window object added or removed");
    assert.equal((await finalWindows(dataDir)).totals, tally(new Map(), "idle", events, WINDOW_MS));
  } finally {
    await first.stop();
    await removeDir(dataDir);
  }
});

test.run();
