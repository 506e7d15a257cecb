/**
 * End to end: the state aggregate keeps per stream name stays bounded. With
 * --max-idle-streams 4, twelve streams whose windows have all closed and expired are cut to the
 * four most recently active once new streams arrive; /metrics shows the streams held and those
 * forgotten, and every accepted event is still aggregated exactly once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { metricSum, postEvents } from "../helpers/edge_client.ts";
import { waitFor } from "../helpers/wait.ts";

test("streams holding no window beyond --max-idle-streams are forgotten as new ones arrive", async () => {
  const tp = await startTestPipeline({ "max-idle-streams": "4", "window-ms": "100" });
  try {
    let accepted = 0;
    for (let i = 0; i < 12; i++) accepted += (await postEvents(tp.base, `old${i}`, "json", [{ key: "k", ts: Date.now() }])).accepted;
    // 100 ms windows of streams quiet for a window close and expire on aggregate's next tick (1 s).
    await waitFor("the twelve streams' windows emitted", async () => (await metricSum(tp.base, "tw_windows_emitted_total")) >= 12, { timeoutMs: 20_000 });
    await waitFor("aggregate reports twelve streams", async () => (await metricSum(tp.base, "tw_aggregate_streams")) === 12, { timeoutMs: 20_000 });
    for (const name of ["new0", "new1"]) accepted += (await postEvents(tp.base, name, "json", [{ key: "k", ts: Date.now() }])).accepted;
    // The first new stream finds 12 idle ones past the bound (4, plus an eighth of it, at least 1): 8 go.
    await waitFor("eight streams forgotten", async () => (await metricSum(tp.base, "tw_aggregate_streams_forgotten_total")) === 8, { timeoutMs: 20_000 });
    await waitFor("six streams held", async () => (await metricSum(tp.base, "tw_aggregate_streams")) === 6, { timeoutMs: 20_000 });
    assert.is(accepted, 14);
    await waitFor("every accepted event aggregated", async () => (await metricSum(tp.base, "tw_events_aggregated_total")) === accepted, { timeoutMs: 20_000 });
    assert.is(await metricSum(tp.base, "tw_events_late_total"), 0);
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
