import { test } from "uvu";
import * as assert from "uvu/assert";
import { threadSplit } from "./pipeline_run.ts";

const percentOf1000ms = (ms: number) => (ms / 1000) * 100;

test("a process's CPU by thread: the main thread is the pid, the busiest other and all others are apart, a thread born during the phase counts from zero", () => {
  const before = new Map([[100, 5000], [101, 2000], [102, 300]]);
  const after = new Map([[100, 5600], [101, 2700], [102, 400], [103, 150]]);
  assert.equal(threadSplit(100, before, after, percentOf1000ms), { mainCpuPercent: 60, busiestOtherCpuPercent: 70, othersCpuPercent: 95, count: 4 });
});

test("no /proc (either reading missing): no split", () => {
  assert.is(threadSplit(100, undefined, new Map([[100, 1]]), percentOf1000ms), undefined);
  assert.is(threadSplit(100, new Map([[100, 1]]), undefined, percentOf1000ms), undefined);
});

test.run();
