import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  Windower,
  WindowRestoreError,
  type AddResult,
  type ClosedWindow,
  type WindowerOptions,
  type WindowEvent,
} from "./windows.ts";
import { mulberry32 } from "../../test/helpers/random.ts";

/** Seeded, so every property run is reproducible from its seed. */
const prng = mulberry32;

type Op = { kind: "add"; stream: string; events: WindowEvent[]; now: number } | { kind: "tick"; now: number };

const STREAMS = ["alpha", "beta", "gamma"];

function options(maxOpenWindows: number): WindowerOptions {
  return {
    defaults: { sizeMs: 10_000, maxOutOfOrderMs: 2_000, allowedLatenessMs: 0 },
    perStream: { beta: { sizeMs: 5_000 }, gamma: { allowedLatenessMs: 6_000, idleTimeoutMs: 4_000 } },
    maxOpenWindows,
  };
}

/** A random workload: drifting event clocks, jitter, stragglers, pauses, and ticks. */
function workload(seed: number, steps: number): Op[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const ops: Op[] = [];
  let now = 1_700_000_000_000;
  const lag = new Map(STREAMS.map((s) => [s, int(3_000)]));
  for (let i = 0; i < steps; i++) {
    now += int(rnd() < 0.05 ? 30_000 : 1_500);
    if (rnd() < 0.2) {
      ops.push({ kind: "tick", now });
      continue;
    }
    const stream = STREAMS[int(STREAMS.length)]!;
    const events: WindowEvent[] = [];
    for (let n = 1 + int(12); n > 0; n--) {
      const jitter = rnd() < 0.1 ? int(25_000) : int(3_500);
      events.push({ key: `k${int(9)}`, ts: now - lag.get(stream)! - jitter, value: int(40) - 10 });
    }
    ops.push({ kind: "add", stream, events, now });
  }
  return ops;
}

type Step = AddResult;

function apply(w: Windower, op: Op): Step {
  return op.kind === "add" ? w.add(op.stream, op.events, op.now) : { closed: w.tick(op.now), late: [] };
}

/** Only what MessagePack/JSON carry unchanged: plain objects, arrays, finite numbers, strings, null. */
function isPlain(v: unknown): boolean {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isPlain);
  if (typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.values(v as object).every(isPlain);
  }
  return false;
}

const identity = (c: ClosedWindow) => `${c.stream}\u0000${c.key}\u0000${c.windowStart}`;
/** Strictly ascending by (windowEnd, stream, key): sorted, and one revision per window. */
const sorted = (cs: ClosedWindow[]) =>
  cs.every((c, i) => {
    if (i === 0) return true;
    const p = cs[i - 1]!;
    if (p.windowEnd !== c.windowEnd) return p.windowEnd < c.windowEnd;
    return p.stream !== c.stream ? p.stream < c.stream : p.key < c.key;
  });

/** Follows a run's output: checks each call's result and keeps every window's latest revision. */
class Output {
  readonly final = new Map<string, ClosedWindow>();
  /** Windows whose latest revision came from emitOpen(). */
  readonly provisional = new Set<string>();
  revisions = 0;

  record(closed: ClosedWindow[], provisional = false): void {
    assert.ok(sorted(closed), "each result is sorted and holds one revision per window");
    for (const c of closed) {
      const id = identity(c);
      const prev = this.final.get(id);
      assert.is(c.revision, prev === undefined ? 0 : prev.revision + 1, "revisions count up from 0");
      if (prev !== undefined) assert.ok(c.count >= prev.count, "every revision carries full totals");
      if (c.revision > 0) this.revisions++;
      this.final.set(id, c);
      if (provisional) this.provisional.add(id);
      else this.provisional.delete(id);
    }
  }
}

/** Brute force: every event not returned late, folded into its window, must be in the final revisions. */
function checkTotals(w: Windower, ops: Op[], late: Set<WindowEvent>, out: Output): void {
  const expected = new Map<string, { count: number; sum: number; min: number; max: number }>();
  let added = 0;
  for (const op of ops) {
    if (op.kind !== "add") continue;
    added += op.events.length;
    const size = w.configFor(op.stream).sizeMs;
    for (const e of op.events) {
      if (late.has(e)) continue;
      const id = `${op.stream}\u0000${e.key}\u0000${Math.floor(e.ts / size) * size}`;
      const t = expected.get(id) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
      expected.set(id, { count: t.count + 1, sum: t.sum + e.value, min: Math.min(t.min, e.value), max: Math.max(t.max, e.value) });
    }
  }
  assert.equal([...out.final.keys()].sort(), [...expected.keys()].sort(), "exactly the windows that got events");
  for (const [id, c] of out.final) {
    assert.equal({ count: c.count, sum: c.sum, min: c.min, max: c.max }, expected.get(id), id);
  }
  const counted = [...out.final.values()].reduce((n, c) => n + c.count, 0);
  assert.is(counted + late.size, added, "conservation: final counts + late = added");
  assert.is(w.stats().lateEvents, late.size);
}

/** A restart: the checkpoint goes through JSON (as through MessagePack) into a new windower. */
function restart(w: Windower, opts: WindowerOptions): Windower {
  const snap = w.snapshot();
  assert.ok(isPlain(snap), "snapshot is plain data");
  return Windower.restore(JSON.parse(JSON.stringify(snap)), opts);
}

for (const [seed, maxOpen] of [
  [1, 1_000_000],
  [2, 40],
  [3, 12],
  [4, 1_000_000],
] as const) {
  test(`random run ${seed} (maxOpenWindows ${maxOpen}): totals, revisions and conservation hold`, () => {
    const w = new Windower(options(maxOpen));
    const ops = workload(seed, 600);
    const late = new Set<WindowEvent>();
    const out = new Output();
    let idleCloses = 0;
    for (const op of ops) {
      const step = apply(w, op);
      if (op.kind === "tick") idleCloses += step.closed.length;
      for (const l of step.late) late.add(l.event);
      out.record(step.closed);
      assert.ok(w.stats().openWindows <= maxOpen);
    }
    out.record(w.flush());
    checkTotals(w, ops, late, out);

    // The workload must actually exercise the paths it claims to check.
    assert.ok(late.size > 0, "some events were late");
    assert.ok(idleCloses > 0, "ticks closed idle windows");
    if (maxOpen < 100) assert.ok(w.stats().forcedCloses > 0, "the bound forced closes");
    else assert.ok(out.revisions > 0, "allowed lateness produced revisions");
  });
}

for (const [seed, maxOpen] of [
  [21, 1_000_000],
  [22, 15],
] as const) {
  test(`emitOpen and restarts interleaved (seed ${seed}, maxOpenWindows ${maxOpen}): same output as one run, conservation holds`, () => {
    const opts = options(maxOpen);
    const ops = workload(seed, 600);
    const rnd = prng(seed * 7919);
    const straight = new Windower(opts);
    let w = new Windower(opts);
    const late = new Set<WindowEvent>();
    const out = new Output();
    let restarts = 0;
    let reemitted = 0;
    let grown = 0;
    for (const op of ops) {
      if (rnd() < 0.08) {
        // A graceful shutdown: emit open windows, checkpoint, (mostly) restart from it.
        const open = w.emitOpen();
        assert.equal(open, straight.emitOpen());
        for (const c of open) {
          assert.ok(c.windowEnd > w.watermark(c.stream)!, "only windows the watermark has not passed");
          if (c.revision > 0) reemitted++;
        }
        out.record(open, true);
        assert.equal(w.emitOpen(), [], "a second emitOpen has nothing new");
        if (rnd() < 0.7) {
          w = restart(w, opts);
          restarts++;
        }
      } else if (rnd() < 0.05) {
        w = restart(w, opts);
        restarts++;
      }
      const step = apply(w, op);
      assert.equal(step, apply(straight, op));
      for (const c of step.closed) {
        const before = out.final.get(identity(c));
        if (before !== undefined && out.provisional.has(identity(c)) && c.count > before.count) grown++;
      }
      for (const l of step.late) late.add(l.event);
      out.record(step.closed);
      assert.ok(w.stats().openWindows <= maxOpen);
    }
    const flushed = w.flush();
    assert.equal(flushed, straight.flush());
    out.record(flushed);
    assert.equal(w.stats(), straight.stats());
    checkTotals(w, ops, late, out);
    assert.equal([...out.provisional], [], "every window's last revision is a closing one");

    assert.ok(restarts > 20, "restarts happened");
    assert.ok(reemitted > 0, "emitOpen re-emitted windows changed since its last call");
    assert.ok(grown > 0, "windows took events after emitOpen and closed with them");
    assert.ok(late.size > 0, "some events were late");
    if (maxOpen < 100) assert.ok(w.stats().forcedCloses > 0, "the bound forced closes");
  });
}

for (const seed of [11, 12, 13]) {
  test(`snapshot → restore → continue matches an uninterrupted run (seed ${seed})`, () => {
    const opts = options(seed === 13 ? 15 : 1_000_000);
    const ops = workload(seed, 500);
    const rnd = prng(seed * 7919);
    const straight = new Windower(opts);
    const expected = ops.map((op) => apply(straight, op));
    expected.push({ closed: straight.flush(), late: [] });

    let w = new Windower(opts);
    const actual: Step[] = [];
    let restores = 0;
    for (const op of ops) {
      if (rnd() < 0.1) {
        w = restart(w, opts);
        restores++;
      }
      actual.push(apply(w, op));
    }
    actual.push({ closed: w.flush(), late: [] });
    assert.ok(restores > 10);
    assert.equal(actual, expected);
    assert.equal(w.stats(), straight.stats());
  });
}

const ev = (key: string, ts: number, value = 1): WindowEvent => ({ key, ts, value });
const brief = (ws: ClosedWindow[]) =>
  ws.map((w) => `${w.stream}/${w.key}@${w.windowStart}:${w.count}/${w.sum}/${w.min}/${w.max}#${w.revision}`);

test("a restart from the checkpoint taken right after emitOpen continues the windows as revision 1", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000, 2), ev("a", 3_000, 5), ev("b", 4_000)], 0);
  assert.equal(brief(w.emitOpen()), ["s/a@0:2/7/2/5#0", "s/b@0:1/1/1/1#0"]);
  const restored = restart(w, {});
  assert.equal(restored.emitOpen(), [], "what went out before the restart is not sent again");
  let r = restored.add("s", [ev("a", 6_000, 1)], 5);
  assert.equal(r, { closed: [], late: [] }, "the window still takes events after the restart");
  r = restored.add("s", [ev("c", 12_500)], 6);
  assert.equal(brief(r.closed), ["s/a@0:3/8/1/5#1", "s/b@0:1/1/1/1#1"], "full totals: before and after the restart");
});

test("a window changed after emitOpen stays marked across a restart", () => {
  const w = new Windower({});
  w.add("s", [ev("a", 1_000), ev("b", 2_000)], 0);
  assert.is(w.emitOpen().length, 2);
  w.add("s", [ev("b", 3_000, 4)], 1);
  assert.equal(w.snapshot().streams[0]!.changed, [1], "b, second in index order");
  const restored = restart(w, {});
  assert.equal(brief(restored.emitOpen()), ["s/b@0:2/5/1/4#1"]);
  assert.equal(restored.emitOpen(), []);
});

test("restore refuses a changed window size for a stream that holds windows", () => {
  const w = new Windower({});
  w.add("s", [{ key: "a", ts: 1_000, value: 1 }], 0);
  w.add("empty", [{ key: "a", ts: 1_000, value: 1 }, { key: "a", ts: 30_000, value: 1 }], 0);
  w.flush();
  w.add("s", [{ key: "a", ts: 50_000, value: 1 }], 0);
  const snap = w.snapshot();
  assert.throws(() => Windower.restore(snap, { perStream: { s: { sizeMs: 5_000 } } }), (e: unknown) => e instanceof WindowRestoreError);
  const resized = Windower.restore(snap, { perStream: { empty: { sizeMs: 5_000 } } });
  assert.is(resized.stats().openWindows, 1, "a stream without windows may change size");
  assert.is(resized.watermark("empty"), 28_000);
});

test("restore rejects malformed snapshots with WindowRestoreError", () => {
  const w = new Windower({});
  w.add("s", [{ key: "a", ts: 1_000, value: 1 }], 0);
  const good = w.snapshot();
  const bad = [
    { ...good, version: 2 },
    { ...good, streams: [{ ...good.streams[0]!, counts: [] }] },
    { ...good, streams: [{ ...good.streams[0]!, watermark: null }] },
    { ...good, streams: [good.streams[0]!, good.streams[0]!] },
    { ...good, streams: [{ ...good.streams[0]!, changed: [1] }] },
    { ...good, streams: [{ ...good.streams[0]!, changed: "0" }] },
  ];
  for (const snap of bad) {
    assert.throws(() => Windower.restore(snap as never, {}), (e: unknown) => e instanceof WindowRestoreError);
  }
  assert.is(Windower.restore(good, {}).stats().openWindows, 1);
  const { changed: _, ...older } = good.streams[0]!;
  assert.is(Windower.restore({ ...good, streams: [older] }, {}).stats().openWindows, 1, "snapshots without `changed` restore");
});

test.run();
