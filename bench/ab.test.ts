/**
 * The A/B bench's bookkeeping (bench/ab.ts): builds are found from a checkout or a dist/, pairs
 * alternate their order, and the summary is the median of the pairs' B ÷ A with the count of
 * pairs B won. (The measurements themselves are the pipeline bench's, run from bench/ only.)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { rejectedText } from "./pipeline_report.ts";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { distOf, pairOrder, summariseAb, unusable, type PairResult } from "./ab.ts";
import type { RunResult } from "./pipeline_run.ts";
import { argsFlag, BenchUsageError } from "./flags.ts";

test("a build is a checkout with dist/app/main.js, or that dist/ itself; anything else is none", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), "tw-ab-"));
  try {
    mkdirSync(path.join(root, "dist/app"), { recursive: true });
    writeFileSync(path.join(root, "dist/app/main.js"), "");
    assert.is(distOf(root), path.join(root, "dist"));
    assert.is(distOf(path.join(root, "dist")), path.join(root, "dist"));
    assert.is(distOf(path.join(root, "dist/app")), undefined);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("run arguments come whitespace-split from one flag (--a-run-args, --b-run-args, --run-args); a flag without a value is refused", () => {
  assert.equal(argsFlag({ "a-run-args": "--heap-growth-percent 0  --log-level warn" }, "a-run-args"), ["--heap-growth-percent", "0", "--log-level", "warn"]);
  assert.equal(argsFlag({}, "b-run-args"), []);
  assert.throws(() => argsFlag({ "run-args": true }, "run-args"), (err: unknown) => err instanceof BenchUsageError && /--run-args needs a value/.test((err as Error).message));
});

test("pairs alternate which build runs first", () => {
  assert.equal([0, 1, 2, 3].map(pairOrder), [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]);
});

test("the summary per case: median, range and wins of B ÷ A, and the median CPU per event of each build", () => {
  const p = (c: string, pair: number, a: number, b: number, cpuA?: number, cpuB?: number): PairResult => ({ case: c, pair, a, b, ratio: b / a, aCpuUsPerEvent: cpuA, bCpuUsPerEvent: cpuB, aRejected: {}, bRejected: {}, aErrors: 0, bErrors: 0 });
  const summary = summariseAb([
    p("json", 1, 100, 110, 2.0, 1.8),
    p("msgpack", 1, 100, 90),
    p("json", 2, 100, 95, 2.2, 2.1),
    p("json", 3, 200, 240, 1.9, 1.7),
    p("json", 4, 100, 130, 2.1, 2.0),
  ]);
  const json = summary.find((s) => s.case === "json")!;
  assert.is(json.pairs, 4);
  assert.is(json.medianRatio, (1.1 + 1.2) / 2);
  assert.is(json.minRatio, 0.95);
  assert.is(json.maxRatio, 1.3);
  assert.is(json.bWon, 3);
  assert.is(json.medianCpuUsPerEventA, (2.0 + 2.1) / 2);
  assert.is(json.medianCpuUsPerEventB, (1.8 + 2.0) / 2);
  const msgpack = summary.find((s) => s.case === "msgpack")!;
  assert.equal([msgpack.pairs, msgpack.medianRatio, msgpack.bWon, msgpack.medianCpuUsPerEventA], [1, 0.9, 0, undefined]);
});

test("a run counts only when events went through and the pipeline drained", () => {
  const run = (over: Partial<RunResult> & { drained?: boolean; through?: number }): RunResult =>
    ({
      case: "json",
      server: "pipeline",
      requestsPerSec: 10,
      endToEnd: { counted: "aggregated", aggregated: 1, eventsPerSec: over.through ?? 5000, drainMs: 1, drained: over.drained ?? true, acceptedByServer: 1 },
      ...over,
    }) as RunResult;
  assert.is(unusable(run({})), undefined);
  assert.match(unusable(run({ drained: false }))!, /did not drain/);
  assert.match(unusable(run({ through: 0 }))!, /no events/);
  assert.is(unusable(run({ failed: "the pipeline process exited" })), "the pipeline process exited");
});

test("a pair's responses other than 202 read as the pipeline bench shows them: count × status, and connection errors", () => {
  assert.is(rejectedText({}), "0");
  assert.is(rejectedText({ "503": 462 }), "462×503");
  assert.is(rejectedText({ "429": 3, "503": 8 }, 2), "3×429 8×503 2 errors");
});

test.run();
