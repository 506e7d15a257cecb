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

/** mulberry32: a tiny seeded PRNG, so every property run is reproducible from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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

for (const [seed, maxOpen] of [
  [1, 1_000_000],
  [2, 40],
  [3, 12],
  [4, 1_000_000],
] as const) {
  test(`random run ${seed} (maxOpenWindows ${maxOpen}): totals, revisions and conservation hold`, () => {
    const opts = options(maxOpen);
    const w = new Windower(opts);
    const ops = workload(seed, 600);
    const late = new Set<WindowEvent>();
    const final = new Map<string, ClosedWindow>();
    let added = 0;
    let revisions = 0;
    let idleCloses = 0;
    const record = (closed: ClosedWindow[]) => {
      assert.ok(sorted(closed), "each result is sorted and holds one revision per window");
      for (const c of closed) {
        const prev = final.get(identity(c));
        assert.is(c.revision, prev === undefined ? 0 : prev.revision + 1, "revisions count up from 0");
        if (c.revision > 0) revisions++;
        final.set(identity(c), c);
      }
    };
    for (const op of ops) {
      const step = apply(w, op);
      if (op.kind === "add") added += op.events.length;
      else idleCloses += step.closed.length;
      for (const l of step.late) late.add(l.event);
      record(step.closed);
      assert.ok(w.stats().openWindows <= maxOpen);
    }
    record(w.flush());

    // Expected: every event not returned late, folded by brute force into its window.
    const expected = new Map<string, { count: number; sum: number; min: number; max: number }>();
    for (const op of ops) {
      if (op.kind !== "add") continue;
      const size = w.configFor(op.stream).sizeMs;
      for (const e of op.events) {
        if (late.has(e)) continue;
        const id = `${op.stream}\u0000${e.key}\u0000${Math.floor(e.ts / size) * size}`;
        const t = expected.get(id) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity };
        expected.set(id, { count: t.count + 1, sum: t.sum + e.value, min: Math.min(t.min, e.value), max: Math.max(t.max, e.value) });
      }
    }
    assert.equal([...final.keys()].sort(), [...expected.keys()].sort(), "exactly the windows that got events");
    for (const [id, c] of final) {
      assert.equal({ count: c.count, sum: c.sum, min: c.min, max: c.max }, expected.get(id), id);
    }
    const counted = [...final.values()].reduce((n, c) => n + c.count, 0);
    assert.is(counted + late.size, added, "conservation: final counts + late = added");
    assert.is(w.stats().lateEvents, late.size);

    // The workload must actually exercise the paths it claims to check.
    assert.ok(late.size > 0, "some events were late");
    assert.ok(idleCloses > 0, "ticks closed idle windows");
    if (maxOpen < 100) assert.ok(w.stats().forcedCloses > 0, "the bound forced closes");
    else assert.ok(revisions > 0, "allowed lateness produced revisions");
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
        const snap = w.snapshot();
        assert.ok(isPlain(snap), "snapshot is plain data");
        w = Windower.restore(JSON.parse(JSON.stringify(snap)), opts);
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
  ];
  for (const snap of bad) {
    assert.throws(() => Windower.restore(snap as never, {}), (e: unknown) => e instanceof WindowRestoreError);
  }
  assert.is(Windower.restore(good, {}).stats().openWindows, 1);
});

test.run();
