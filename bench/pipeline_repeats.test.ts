import { test } from "uvu";
import * as assert from "uvu/assert";
import type { RunResult } from "./pipeline_run.ts";
import { headline, medianRuns, repeatRatios, summariseRepeats } from "./pipeline_repeats.ts";

/** A run with just what the repeat summary reads. */
function run(caseName: string, server: "bare" | "pipeline", repeat: number, figure: number): RunResult {
  return {
    case: caseName, server, repeat, label: server === "bare" ? "bare" : "embedded",
    ...(server === "pipeline" ? { transport: "embedded" } : {}),
    requestsPerSec: figure, ingestEventsPerSec: server === "bare" ? figure : figure * 2,
    endToEnd: server === "pipeline" ? { eventsPerSec: figure } : undefined,
  } as unknown as RunResult;
}

test("headline: requests/s for single events, end-to-end events/s for pipeline batches, accepted events/s for bare", () => {
  assert.is(headline(run("single", "pipeline", 0, 7)), 7);
  assert.is(headline(run("json", "pipeline", 0, 300)), 300, "end to end, not the (doubled) edge figure");
  assert.is(headline(run("json", "bare", 0, 1000)), 1000);
});

test("each repetition's ratio pairs runs of the same repetition; batches are judged against bare JSON", () => {
  const results = [
    run("json", "bare", 0, 1000), run("json", "pipeline", 0, 250), run("msgpack", "bare", 0, 2000), run("msgpack", "pipeline", 0, 300),
    run("json", "bare", 1, 1600), run("json", "pipeline", 1, 320), run("msgpack", "bare", 1, 2000), run("msgpack", "pipeline", 1, 480),
    run("json", "bare", 2, 800), run("json", "pipeline", 2, 240), run("msgpack", "bare", 2, 2000), run("msgpack", "pipeline", 2, 200),
  ];
  const ratios = repeatRatios(results);
  assert.equal(ratios.filter((r) => r.case === "json").map((r) => r.ratio), [0.25, 0.2, 0.3]);
  assert.equal(ratios.filter((r) => r.case === "msgpack").map((r) => r.ratio), [0.3, 0.3, 0.25], "msgpack ÷ that repetition's bare JSON");
  const [json, msgpack] = summariseRepeats(ratios);
  assert.equal([json!.medianRatio, json!.minRatio, json!.maxRatio, json!.met], [0.25, 0.2, 0.3, false]);
  assert.is(msgpack!.medianRatio, 0.3);
  const medians = medianRuns(results);
  assert.is(medians.find((r) => r.case === "json" && r.server === "bare")!.repeat, 0, "1000 is the median of 800, 1000, 1600");
  assert.is(medians.find((r) => r.case === "json" && r.server === "pipeline")!.repeat, 0, "250 of 240, 250, 320");
  assert.is(medians.length, 4);
});

test("an even number of repetitions: the median ratio is the mean of the middle two", () => {
  const results = [0, 1, 2, 3].flatMap((k) => [run("single", "bare", k, 100), run("single", "pipeline", k, [10, 40, 20, 30][k]!)]);
  assert.is(summariseRepeats(repeatRatios(results))[0]!.medianRatio, 0.25);
});

test.run();
