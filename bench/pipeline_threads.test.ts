import { test } from "uvu";
import * as assert from "uvu/assert";
import { threadSplit } from "./pipeline_run.ts";
import type { ThreadTimes } from "./child.ts";

const percentOf1000ms = (ms: number) => ms / 10;
const times = (entries: [number, number, number?][]) =>
  new Map<number, ThreadTimes>(entries.map(([tid, cpuMs, waitMs]) => [tid, waitMs === undefined ? { cpuMs } : { cpuMs, waitMs }]));

test("a process's CPU by thread: the main thread is the pid, the busiest other and all others are apart, a thread born during the phase counts from zero", () => {
  const before = times([[100, 5000], [101, 2000], [102, 300]]);
  const after = times([[100, 5600], [101, 2700], [102, 400], [103, 150]]);
  assert.equal(threadSplit(100, before, after, percentOf1000ms), { mainCpuPercent: 60, busiestOtherCpuPercent: 70, othersCpuPercent: 95, count: 4 });
});

test("waiting for a core: the main thread's and the busiest other's, over the phase", () => {
  const before = times([[100, 5000, 900], [101, 2000, 400], [102, 300, 50]]);
  const after = times([[100, 5600, 1040], [101, 2550, 590], [102, 700, 60]]);
  assert.equal(threadSplit(100, before, after, percentOf1000ms), {
    mainCpuPercent: 60,
    mainWaitPercent: 14,
    busiestOtherCpuPercent: 55,
    busiestOtherWaitPercent: 19,
    othersCpuPercent: 95,
    count: 3,
  });
});

test("no /proc (either reading missing): no split", () => {
  assert.is(threadSplit(100, undefined, times([[100, 1]]), percentOf1000ms), undefined);
  assert.is(threadSplit(100, times([[100, 1]]), undefined, percentOf1000ms), undefined);
});

test.run();
