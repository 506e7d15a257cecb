import { test } from "uvu";
import * as assert from "uvu/assert";
import type { RunResult } from "./pipeline_run.ts";
import { medianRuns, repeatRatios, summariseRepeats } from "./pipeline_repeats.ts";
import { frameworkComparisons, headline } from "./pipeline_report.ts";

/** A run with just what the repeat summary reads. */
function run(caseName: string, server: "bare" | "hono" | "pipeline", repeat: number, figure: number): RunResult {
  return {
    case: caseName, server, repeat, label: server === "pipeline" ? "embedded" : server,
    ...(server === "pipeline" ? { transport: "embedded" } : {}),
    requestsPerSec: figure, ingestEventsPerSec: server === "pipeline" ? figure * 2 : figure,
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

test("with hono measured: each repetition's pipeline ÷ hono for the same case and bodies, and its median; the target stays on bare", () => {
  const results = [0, 1, 2].flatMap((k) => [
    run("json", "bare", k, 1000), run("json", "hono", k, 800), run("json", "pipeline", k, [400, 600, 480][k]!),
    run("msgpack", "bare", k, 900), run("msgpack", "hono", k, 1200), run("msgpack", "pipeline", k, 600),
    run("single", "bare", k, 70), run("single", "hono", k, 56), run("single", "pipeline", k, [28, 35, 42][k]!),
  ]);
  const ratios = repeatRatios(results);
  assert.equal(ratios.filter((r) => r.case === "json").map((r) => r.ofHono), [0.5, 0.75, 0.6]);
  assert.equal(ratios.filter((r) => r.case === "msgpack").map((r) => [r.ratio, r.ofHono]), [[0.6, 0.5], [0.6, 0.5], [0.6, 0.5]], "msgpack: ÷ bare JSON for the target, ÷ hono MessagePack");
  const summary = summariseRepeats(ratios);
  const single = summary.find((s) => s.case === "single")!;
  assert.equal([single.medianRatio, single.medianOfHono, single.met], [0.5, 0.625, true]);
  assert.is(summary.find((s) => s.case === "json")!.medianOfHono, 0.6);
  assert.is(headline(run("json", "hono", 0, 800)), 800, "a reference server's accepted events/s");
  assert.is(medianRuns(results).length, 9);
  assert.is(summariseRepeats(repeatRatios(results.filter((r) => r.server !== "hono")))[0]!.medianOfHono, undefined, "without hono, none");
});

test("frameworkComparisons: hono ÷ bare and pipeline ÷ hono per case from the same run's median runs; none without hono", () => {
  const results = [run("single", "bare", 0, 70), run("single", "hono", 0, 56), run("single", "pipeline", 0, 35), run("json", "bare", 0, 1000), run("json", "pipeline", 0, 500)];
  const [single, ...rest] = frameworkComparisons(results);
  assert.equal(rest, [], "json has no hono run");
  assert.equal([single!.case, single!.bare, single!.hono, single!.pipeline, single!.honoOfBare, single!.pipelineOfHono], ["single", 70, 56, 35, 0.8, 0.625]);
  assert.equal(frameworkComparisons(results.filter((r) => r.server !== "hono")), []);
});

test.run();
