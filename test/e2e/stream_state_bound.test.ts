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
    // 100 ms windows close and expire once a stream has been quiet for its idle timeout (a window)
    // and the watermark then passes their end (2 s of maxOutOfOrder): on a tick (every second).
    await waitFor("the twelve streams' windows emitted", async () => (await metricSum(tp.base, "tw_windows_emitted_total")) >= 12, { timeoutMs: 20_000 });
    await waitFor("aggregate reports twelve streams", async () => (await metricSum(tp.base, "tw_aggregate_streams")) === 12, { timeoutMs: 20_000 });
    for (const name of ["new0", "new1"]) accepted += (await postEvents(tp.base, name, "json", [{ key: "k", ts: Date.now() }])).accepted;
    // A new stream that takes the streams past an eighth more than at the last check (at least
    // one more) finds 12 idle ones, 8 past the bound: they go. Both new ones hold windows.
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
