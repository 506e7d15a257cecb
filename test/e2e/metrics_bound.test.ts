/**
 * End to end: the metrics a client's choices label (stream names) stay bounded. With
 * --metrics-max-series 4, requests to 12 streams leave at most 4 series plus one overflow
 * series in each per-stream counter, on the main thread (accepted) and the stages thread
 * (decoded, aggregated), and the sums still reconcile with what was accepted.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { metricSum, postEvents } from "../helpers/edge_client.ts";
import { T0 } from "../helpers/events.ts";
import { waitFor } from "../helpers/wait.ts";

test("per-stream counters keep 4 series and an overflow one, their sums exact, with requests to 12 streams", async () => {
  const tp = await startTestPipeline({ "metrics-max-series": "4" });
  try {
    let accepted = 0;
    for (let i = 0; i < 12; i++) {
      const events = Array.from({ length: i + 1 }, (_, j) => ({ key: `k${j}`, ts: T0 + j }));
      accepted += (await postEvents(tp.base, `stream${i}`, "json", events)).accepted;
    }
    assert.is(accepted, 78);
    await waitFor("every accepted event aggregated", async () => (await metricSum(tp.base, "tw_events_aggregated_total")) === accepted, { timeoutMs: 20_000 });
    const text = await (await fetch(`${tp.base}/metrics`)).text();
    for (const name of ["tw_events_accepted_total", "tw_events_decoded_total", "tw_events_aggregated_total"]) {
      const lines = text.split("\n").filter((l) => l.startsWith(`${name}{`));
      assert.is(lines.length, 5, `${name}: 4 series and the overflow one\n${lines.join("\n")}`);
      assert.is(lines.filter((l) => l.includes('stream="(other)"')).length, 1, name);
      assert.is(await metricSum(tp.base, name), accepted, `${name}: the sum is exact`);
    }
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
