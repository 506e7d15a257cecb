import { test } from "uvu";
import * as assert from "uvu/assert";
import { seededRandom } from "./events.ts";
import { backfillEvents, planSurges, poisson, SignalTracker, surgeKeys } from "./latency_plan.ts";

const options = { windowMs: 2000, surges: 3, baselinePerWindow: 20, backfillWindows: 4 };

test("planSurges: one key per window from the first full window after the start", () => {
  const surges = planSurges(10_500, options);
  assert.equal(
    surges.map((s) => [s.key, s.windowStart, s.windowEnd]),
    [
      ["surge-0", 12_000, 14_000],
      ["surge-1", 14_000, 16_000],
      ["surge-2", 16_000, 18_000],
    ],
  );
  assert.is(surgeKeys(100).length, 32, "at most 32 keys take turns");
});

test("backfillEvents: surge keys' history in time order, whole windows before the start's window and that window up to the start", () => {
  const events = backfillEvents(10_500, options, seededRandom(1));
  assert.ok(events.length > 0);
  for (let i = 1; i < events.length; i++) assert.ok(events[i - 1]!.ts <= events[i]!.ts, "sorted by ts");
  assert.ok(events.every((e) => e.ts >= 10_000 - 4 * 2000 && e.ts < 10_500));
  const perKeyWindow = new Map<string, number>();
  for (const e of events) perKeyWindow.set(`${e.key}@${Math.floor(e.ts / 2000)}`, (perKeyWindow.get(`${e.key}@${Math.floor(e.ts / 2000)}`) ?? 0) + 1);
  assert.ok([...perKeyWindow.keys()].every((k) => /^surge-[0-2]@[1-5]$/.test(k)), [...perKeyWindow.keys()].join());
  const full = [...perKeyWindow].filter(([k]) => !k.endsWith("@5")).map(([, n]) => n);
  assert.ok(full.length === 12 && full.every((n) => n > 5 && n < 40), `Poisson(20) counts per whole window: ${full}`);
});

test("poisson: mean close to the asked mean", () => {
  const random = seededRandom(3);
  let sum = 0;
  for (let i = 0; i < 4000; i++) sum += poisson(random, 2.5);
  assert.ok(Math.abs(sum / 4000 - 2.5) < 0.1, String(sum / 4000));
  assert.is(poisson(random, 0), 0);
});

test("SignalTracker: first up-signal per surge and path counts; others are counted apart; times from window end and first request", () => {
  const surges = planSurges(10_500, options);
  const t = new SignalTracker(surges, ["sse", "nats"], "latency");
  t.sent(12_000, 12_010);
  t.sent(12_000, 12_030); // not the first request of that window
  surges[0]!.sentAt = 12_010;
  const signal = { stream: "latency", key: "surge-0", windowStart: 12_000, windowEnd: 14_000, direction: "up", emittedAt: 14_150 };
  t.onSignal("sse", signal, 14_200);
  t.onSignal("sse", signal, 14_900); // a repeat does not replace the first arrival
  t.onSignal("sse", { ...signal, direction: "down" }, 14_300);
  t.onSignal("sse", { ...signal, key: "bg3" }, 14_300);
  t.onSignal("nats", signal, 14_180);
  assert.not.ok(t.complete());
  const sse = t.summary("sse");
  assert.is(sse.received, 1);
  assert.is(sse.missed, 2);
  assert.is(sse.otherSignals, 2);
  assert.is(sse.afterWindowEnd.p99Ms, 200);
  assert.is(sse.fromFirstEvent.p99Ms, 2190);
  assert.is(sse.emittedAfterEnd.p50Ms, 150);
  assert.equal(sse.samples[0], { key: "surge-0", windowStart: 12_000, afterWindowEndMs: 200, fromFirstEventMs: 2190, emittedAfterEndMs: 150 });
  assert.equal(sse.samples[1], { key: "surge-1", windowStart: 14_000 }, "a missed surge has no times");
  for (const s of surges.slice(1)) for (const path of ["sse", "nats"]) t.onSignal(path, { stream: "latency", key: s.key, windowStart: s.windowStart, windowEnd: s.windowEnd, direction: "up" }, s.windowEnd + 300);
  assert.ok(t.complete());
  assert.is(t.summary("nats").afterWindowEnd.count, 3);
});

test.run();
