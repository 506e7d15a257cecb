import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Windower,
  WindowConfigError,
  WindowInputError,
  type ClosedWindow,
  type WindowEvent,
} from "./windows.ts";
import { packSnapshot, unpackSnapshot } from "./windows_packed.ts";

const ev = (key: string, ts: number, value = 1): WindowEvent => ({ key, ts, value });
/** The identity and totals of closed windows, compactly: "key@start:count/sum/min/max#rev". */
const brief = (ws: ClosedWindow[]) =>
  ws.map((w) => `${w.stream}/${w.key}@${w.windowStart}:${w.count}/${w.sum}/${w.min}/${w.max}#${w.revision}`);

test("in-order events close a window once the watermark passes its end", () => {
  const w = new Windower({});
  let r = w.add("s", [ev("a", 1_000), ev("b", 3_000), ev("a", 5_000)], 0);
  assert.equal(r.closed, []);
  r = w.add("s", [ev("a", 11_000)], 1);
  assert.is(w.watermark("s"), 9_000);
  assert.equal(r.closed, [], "watermark 9000 < end 10000");
  r = w.add("s", [ev("c", 12_000)], 2);
  assert.is(w.watermark("s"), 10_000);
  assert.equal(brief(r.closed), ["s/a@0:2/2/1/1#0", "s/b@0:1/1/1/1#0"]);
  assert.is(r.closed[0]!.windowEnd, 10_000);
  assert.equal(w.stats(), { openWindows: 2, streams: 1, lateEvents: 0, forcedCloses: 0, forgottenStreams: 0 });
});

test("out-of-order events within maxOutOfOrder land in their own window", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 11_500)], 0);
  const r1 = w.add("s", [ev("a", 9_999, 5), ev("a", 2_000, 3)], 1);
  assert.equal(r1.late, []);
  const r2 = w.add("s", [ev("a", 12_000)], 2);
  assert.equal(brief(r2.closed), ["s/a@0:2/8/3/5#0"]);
});

test("events behind watermark + lateness are returned late and not counted", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000)], 0);
  const closing = w.add("s", [ev("a", 13_000)], 1);
  assert.equal(brief(closing.closed), ["s/a@0:1/1/1/1#0"]);
  const r = w.add("s", [ev("a", 5_000, 7), ev("a", 12_500)], 2);
  assert.equal(r.closed, []);
  assert.equal(r.late, [{ event: ev("a", 5_000, 7), windowStart: 0, watermark: 11_000, reason: "late" }]);
  assert.is(w.stats().lateEvents, 1);
  const end = w.flush();
  assert.equal(brief(end), ["s/a@10000:2/2/1/1#0"], "the late event went nowhere");
});

test("allowed lateness re-emits with full totals, once per step, then expires", () => {
  const w = new Windower({ defaults: { allowedLatenessMs: 5_000 } });
  w.add("s", [ev("a", 1_000, 2), ev("a", 2_000, 4)], 0);
  let r = w.add("s", [ev("b", 12_000)], 1);
  assert.equal(brief(r.closed), ["s/a@0:2/6/2/4#0"]);
  r = w.add("s", [ev("a", 3_000, 1), ev("a", 4_000, 9)], 2);
  assert.equal(brief(r.closed), ["s/a@0:4/16/1/9#1"], "one revision carrying all four events");
  assert.equal(r.late, []);
  r = w.add("s", [ev("c", 9_000)], 3);
  assert.equal(brief(r.closed), ["s/c@0:1/1/1/1#0"], "first events for a passed window: revision 0");
  assert.is(w.stats().openWindows, 3);
  r = w.add("s", [ev("b", 17_000)], 4);
  assert.is(w.watermark("s"), 15_000);
  assert.is(w.stats().openWindows, 1, "windows ending at 10000 expired at watermark 15000");
  r = w.add("s", [ev("a", 4_500)], 5);
  assert.is(r.late.length, 1);
  assert.is(r.late[0]!.reason, "late");
});

test("an idle stream's windows close on tick, independent of tick cadence", () => {
  const run = (ticks: number[]) => {
    const w = new Windower({});
    w.add("s", [ev("a", 1_000)], 0);
    return ticks.flatMap((t) => brief(w.tick(t)).map((b) => `${t}:${b}`));
  };
  const w = new Windower({});
  w.add("s", [ev("a", 1_000)], 0);
  assert.equal(w.tick(9_999), [], "not idle before idleTimeout (= window size)");
  assert.is(w.watermark("s"), -1_000);
  assert.equal(w.tick(10_000), [], "idle: watermark -1000 + 10000 = 9000");
  assert.is(w.watermark("s"), 9_000);
  assert.equal(brief(w.tick(11_000)), ["s/a@0:1/1/1/1#0"]);
  assert.equal(run([5_000, 10_000, 11_000, 20_000]), ["11000:s/a@0:1/1/1/1#0"]);
  assert.equal(run([30_000]), ["30000:s/a@0:1/1/1/1#0"]);
});

test("add() applies the idle advance before folding, so a stale event after a pause is late", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000)], 0);
  const r = w.add("s", [ev("a", 2_000), ev("b", 40_000)], 30_000);
  assert.equal(brief(r.closed), ["s/a@0:1/1/1/1#0"]);
  assert.equal(r.late.map((l) => [l.event.ts, l.watermark]), [[2_000, 29_000]]);
  assert.is(w.watermark("s"), 38_000);
});

test("a window passed by the idle advance takes that step's events and is emitted once", () => {
  const w = new Windower({ defaults: { allowedLatenessMs: 6_000, idleTimeoutMs: 4_000 } });
  w.add("s", [ev("a", 1_000)], 0);
  const r = w.add("s", [ev("a", 5_000, 4)], 12_000);
  assert.is(w.watermark("s"), 11_000, "idle: -1000 + 12000 of quiet");
  assert.equal(r.late, []);
  assert.equal(brief(r.closed), ["s/a@0:2/5/1/4#0"]);
});

test("per-stream configuration: sizes and idle timeout default per stream", () => {
  const w = new Windower({ defaults: { maxOutOfOrderMs: 0 }, perStream: { fast: { sizeMs: 1_000 } } });
  assert.equal(w.configFor("fast"), { sizeMs: 1_000, maxOutOfOrderMs: 0, allowedLatenessMs: 0, idleTimeoutMs: 1_000 });
  assert.is(w.configFor("other").sizeMs, 10_000);
  w.add("fast", [ev("a", 1_500), ev("a", 1_999)], 0);
  w.add("slow", [ev("a", 1_500)], 0);
  const fast = w.add("fast", [ev("a", 2_000)], 1);
  assert.equal(brief(fast.closed), ["fast/a@1000:2/2/1/1#0"]);
  const slow = w.add("slow", [ev("a", 2_000)], 1);
  assert.equal(slow.closed, []);
  assert.equal(w.tick(1_000), [], "fast has been quiet 999 ms");
  assert.equal(brief(w.tick(1_001)), ["fast/a@2000:1/1/1/1#0"], "fast goes idle after its 1 s window");
});

test("flush closes every window; later events for flushed windows are refused, not re-opened", () => {
  const w = new Windower({ defaults: { allowedLatenessMs: 60_000 } });
  w.add("x", [ev("a", 1_000)], 0);
  w.add("y", [ev("b", 5_000)], 0);
  const emitted = w.add("x", [ev("c", 13_000)], 1);
  assert.equal(brief(emitted.closed), ["x/a@0:1/1/1/1#0"]);
  assert.is(w.stats().openWindows, 3, "x/a is kept for its lateness span");
  const flushed = w.flush();
  assert.equal(brief(flushed), ["y/b@0:1/1/1/1#0", "x/c@10000:1/1/1/1#0"], "x/a is not emitted twice");
  assert.is(w.stats().openWindows, 0);
  const after = w.add("x", [ev("a", 16_000), ev("d", 31_000)], 2);
  assert.equal(after.late.map((l) => [l.event.ts, l.reason]), [[16_000, "force-closed"]]);
  assert.equal(brief(w.flush()), ["x/d@30000:1/1/1/1#0"]);
});

test("closed windows come out sorted by (windowEnd, stream, key)", () => {
  const w = new Windower({ defaults: { maxOutOfOrderMs: 100, sizeMs: 10 } });
  w.add("b", [ev("z", 5), ev("a", 5), ev("m", 15)], 0);
  w.add("a", [ev("q", 15), ev("é", 5), ev("e", 5)], 0);
  const out = w.tick(1_000);
  assert.equal(
    out.map((c) => `${c.windowEnd}:${c.stream}/${c.key}`),
    ["10:a/e", "10:a/é", "10:b/a", "10:b/z", "20:a/q", "20:b/m"],
  );
});

test("maxOpenWindows bounds memory by force-closing the earliest-ending windows", () => {
  const w = new Windower({ maxOpenWindows: 3 });
  w.add("s", [ev("a", 1_000), ev("b", 2_000), ev("c", 3_000)], 0);
  let r = w.add("s", [ev("d", 4_000)], 1);
  assert.equal(brief(r.closed), ["s/c@0:1/1/1/1#0"], "last-opened of the earliest end is evicted");
  assert.equal(r.late.map((l) => [l.event.key, l.reason]), [["d", "force-closed"]]);
  r = w.add("s", [ev("e", 11_000), ev("a", 5_000), ev("c", 6_000)], 2);
  assert.equal(r.late.map((l) => [l.event.key, l.reason]), [["c", "force-closed"]]);
  assert.equal(w.stats(), { openWindows: 3, streams: 1, lateEvents: 2, forcedCloses: 1, forgottenStreams: 0 });
  r = w.add("s", [ev("f", 11_500)], 3);
  assert.equal(brief(r.closed), ["s/b@0:1/1/1/1#0"]);
  assert.equal(w.stats().openWindows, 3);
  assert.equal(w.stats().forcedCloses, 2);
  assert.equal(brief(w.flush()), ["s/a@0:2/2/1/1#0", "s/e@10000:1/1/1/1#0", "s/f@10000:1/1/1/1#0"]);
});

test("evicting a window with an unemitted revision emits that revision first", () => {
  const w = new Windower({ defaults: { maxOutOfOrderMs: 0, allowedLatenessMs: 10_000 }, maxOpenWindows: 2 });
  w.add("s", [ev("a", 1_000)], 0);
  assert.equal(brief(w.add("s", [ev("b", 10_000)], 1).closed), ["s/a@0:1/1/1/1#0"]);
  const r = w.add("s", [ev("a", 2_000, 5), ev("c", 11_000), ev("a", 3_000)], 2);
  assert.equal(brief(r.closed), ["s/a@0:2/6/1/5#1"]);
  assert.equal(r.late.map((l) => [l.event.ts, l.reason]), [[3_000, "force-closed"]]);
  assert.equal(w.stats(), { openWindows: 2, streams: 1, lateEvents: 1, forcedCloses: 1, forgottenStreams: 0 });
});

test("overflow eviction picks the earliest end across streams, ties by stream name", () => {
  const w = new Windower({ maxOpenWindows: 2 });
  w.add("zeta", [ev("a", 1_000)], 0);
  w.add("alpha", [ev("a", 1_000)], 0);
  const r = w.add("mid", [ev("a", 30_000)], 0);
  assert.equal(brief(r.closed), ["alpha/a@0:1/1/1/1#0"]);
  assert.equal(brief(w.flush()), ["zeta/a@0:1/1/1/1#0", "mid/a@30000:1/1/1/1#0"]);
});

test("a non-finite ts or value is rejected before anything changes", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000)], 0);
  const before = JSON.stringify(w.snapshot());
  try {
    w.add("s", [ev("a", 2_000), ev("b", Number.NaN)], 1);
    assert.unreachable("should throw");
  } catch (err) {
    assert.instance(err, WindowInputError);
    assert.is((err as WindowInputError).index, 1);
  }
  assert.is(JSON.stringify(w.snapshot()), before);
});

test("invalid configuration is rejected by field name", () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      assert.instance(err, WindowConfigError);
      return (err as WindowConfigError).field;
    }
    return "no error";
  };
  assert.is(field(() => new Windower({ defaults: { sizeMs: 0 } })), "defaults.sizeMs");
  assert.is(field(() => new Windower({ perStream: { x: { idleTimeoutMs: -1 } } })), "perStream.x.idleTimeoutMs");
  assert.is(field(() => new Windower({ defaults: { maxOutOfOrderMs: 1.5 } })), "defaults.maxOutOfOrderMs");
  assert.is(field(() => new Windower({ maxOpenWindows: 0 })), "maxOpenWindows");
  assert.is(field(() => new Windower({ maxIdleStreams: 0 })), "maxIdleStreams");
  assert.is(field(() => new Windower({ perStream: { x: { allowedLatenessMs: 0 } } })), "no error");
});

test("emitOpen emits partial totals as revision 0 and keeps the windows open", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000, 2), ev("b", 3_000), ev("a", 11_000)], 0);
  assert.is(w.watermark("s"), 9_000);
  assert.equal(brief(w.emitOpen()), ["s/a@0:1/2/2/2#0", "s/b@0:1/1/1/1#0", "s/a@10000:1/1/1/1#0"]);
  assert.is(w.stats().openWindows, 3, "emitted windows still count as open");
  let r = w.add("s", [ev("a", 5_000, 7), ev("c", 9_000)], 1);
  assert.equal(r.late, [], "an emitted window still takes events");
  assert.equal(r.closed, []);
  r = w.add("s", [ev("d", 12_500)], 2);
  assert.equal(
    brief(r.closed),
    ["s/a@0:2/9/2/7#1", "s/b@0:1/1/1/1#1", "s/c@0:1/1/1/1#0"],
    "closing emits revision 1 with full totals (b unchanged too); c was never emitted",
  );
  assert.equal(brief(w.flush()), ["s/a@10000:1/1/1/1#1", "s/d@10000:1/1/1/1#0"], "flush closes an emitted window too");
});

test("emitOpen twice with no new events emits nothing the second time", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000), ev("b", 2_000)], 0);
  assert.is(w.emitOpen().length, 2);
  assert.equal(w.emitOpen(), [], "nothing new");
  w.add("s", [ev("b", 4_000, 3)], 1);
  assert.equal(brief(w.emitOpen()), ["s/b@0:2/4/1/3#1"], "only the changed window, full totals");
  assert.equal(w.emitOpen(), []);
});

test("emitOpen leaves closed windows in their lateness span alone; revisions run on after the close", () => {
  const w = new Windower({ defaults: { allowedLatenessMs: 5_000 } });
  w.add("s", [ev("a", 1_000)], 0);
  assert.equal(brief(w.add("s", [ev("b", 12_000)], 1).closed), ["s/a@0:1/1/1/1#0"]);
  assert.equal(brief(w.emitOpen()), ["s/b@10000:1/1/1/1#0"], "a is closed and unchanged");
  assert.equal(brief(w.add("s", [ev("a", 2_000), ev("b", 13_000)], 2).closed), ["s/a@0:2/2/1/1#1"]);
  assert.equal(brief(w.emitOpen()), ["s/b@10000:2/2/1/1#1"]);
  let r = w.add("s", [ev("x", 22_000)], 3);
  assert.equal(brief(r.closed), ["s/b@10000:2/2/1/1#2"], "the close is emitted even though nothing changed");
  r = w.add("s", [ev("b", 14_000, 5)], 4);
  assert.equal(brief(r.closed), ["s/b@10000:3/7/1/5#3"], "a lateness revision follows");
});

test("an emitted open window counts against maxOpenWindows; evicting it emits its close", () => {
  const w = new Windower({ maxOpenWindows: 2 });
  w.add("s", [ev("a", 1_000), ev("b", 2_000)], 0);
  assert.equal(brief(w.emitOpen()), ["s/a@0:1/1/1/1#0", "s/b@0:1/1/1/1#0"]);
  const r = w.add("s", [ev("c", 11_000), ev("b", 3_000)], 1);
  assert.equal(brief(r.closed), ["s/b@0:1/1/1/1#1"], "b is evicted: its closing revision goes out");
  assert.equal(r.late.map((l) => [l.event.key, l.reason]), [["b", "force-closed"]]);
  assert.equal(w.stats(), { openWindows: 2, streams: 1, lateEvents: 1, forcedCloses: 1, forgottenStreams: 0 });
  assert.equal(brief(w.emitOpen()), ["s/c@10000:1/1/1/1#0"]);
});


test("streams holding no window beyond maxIdleStreams are forgotten, least recently active first", () => {
  const w = new Windower({ maxIdleStreams: 2 });
  for (const [i, stream] of ["a", "b", "c"].entries()) w.add(stream, [ev("k", 1_000)], i);
  assert.equal(brief(w.tick(100_000)), ["a/k@0:1/1/1/1#0", "b/k@0:1/1/1/1#0", "c/k@0:1/1/1/1#0"]);
  assert.is(w.stats().openWindows, 0, "all three expired: none holds a window");
  assert.is(w.add("a", [ev("k", 1_000)], 100_001).late.length, 1, "a's step (late, still activity) makes b the least recent");
  w.add("d", [ev("k", 100_000)], 100_002);
  assert.is(w.stats().streams, 3);
  assert.is(w.stats().forgottenStreams, 1);
  assert.is(w.watermark("b"), undefined, "b forgotten");
  assert.ok(w.watermark("a") !== undefined && w.watermark("c") !== undefined);

  // A kept stream refuses an event for a window it closed; a forgotten one starts afresh.
  assert.equal(w.add("c", [ev("k", 1_500)], 100_003).late.map((l) => l.reason), ["late"]);
  assert.equal(w.add("b", [ev("k", 1_500)], 100_004).late, []);
  assert.equal(brief(w.flush()).filter((s) => s.startsWith("b/")), ["b/k@0:1/1/1/1#0"]);
});

test("streams holding windows are never forgotten, however many there are; idle ones go within an eighth more new streams", () => {
  const w = new Windower({ maxIdleStreams: 1 });
  for (let i = 0; i < 20; i++) w.add(`s${i}`, [ev("k", 1_000)], i);
  assert.equal(w.stats(), { openWindows: 20, streams: 20, lateEvents: 0, forcedCloses: 0, forgottenStreams: 0 });
  w.tick(100_000); // every window closes and expires: 20 idle streams
  let added = 0;
  while (w.stats().forgottenStreams === 0 && added < 20) w.add(`new${added++}`, [ev("k", 100_000)], 100_001 + added);
  assert.ok(added <= 1 + Math.ceil(20 / 8), `forgotten after ${added} new streams`);
  assert.is(w.stats().forgottenStreams, 19);
  assert.is(w.stats().streams, 1 + added, "the new streams (holding windows) and one idle stream");
  assert.ok(w.watermark("s19") !== undefined, "the most recently active idle stream is the one kept");
});

test("a stream whose windows were force-closed is not forgotten while they would still be refused", () => {
  const w = new Windower({ maxOpenWindows: 1, maxIdleStreams: 1 });
  w.add("a", [ev("k", 1_000, 5)], 0);
  assert.equal(brief(w.add("b", [ev("k", 1_000)], 1).closed), ["a/k@0:1/5/5/5#0"], "a's window force-closed to make room");
  for (const [i, stream] of ["c", "d", "e", "f"].entries()) w.add(stream, [ev("k", 1_000)], 2 + i);
  assert.ok(w.watermark("a") !== undefined, "a kept: its force-closed window is not past the watermark");
  const r = w.add("a", [ev("k", 2_000, 7)], 10);
  assert.equal(r.late.map((l) => l.reason), ["force-closed"], "refused, never a second revision 0");
  assert.equal(brief(w.flush()).filter((x) => x.startsWith("a/")), []);
});

test("a restored windower forgets idle streams in the order they were last active", () => {
  const w = new Windower({ maxIdleStreams: 2 });
  for (const [i, stream] of ["a", "b", "c"].entries()) w.add(stream, [ev("k", 1_000)], i);
  w.tick(100_000);
  w.add("a", [ev("k", 1_000)], 100_001);
  const restored = Windower.restore(unpackSnapshot(packSnapshot(w.snapshot())), { maxIdleStreams: 2 });
  // Forgetting waits for an eighth of maxIdleStreams (at least one) more streams than the bound.
  restored.add("d", [ev("k", 100_000)], 100_002);
  restored.add("e", [ev("k", 100_000)], 100_003);
  assert.is(restored.stats().forgottenStreams, 1);
  assert.is(restored.watermark("b"), undefined, "b, not a: the restored windower knows a was active after it");
  assert.equal(["a", "c", "d", "e"].map((s) => restored.watermark(s) !== undefined), [true, true, true, true]);
});

test.run();
