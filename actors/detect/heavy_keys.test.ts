import { test } from "uvu";
import * as assert from "uvu/assert";
import { DecayedCountMin, HeavyKeys, type Activity } from "./heavy_keys.ts";
import { startFromPrior } from "./baseline.ts";
import { detectorConfig, newKeyState, observe } from "./detector.ts";
import { mulberry32 } from "../../test/helpers/random.ts";

const H = 10_000; // half-life (ms) = one window here
const W = 1_000; // window (ms)

/** Zipf(1)-ish key ranks 0..n-1 from a seeded PRNG (inverse CDF of a continuous 1/x law). */
function zipf(seed: number, n: number): () => number {
  const random = mulberry32(seed);
  return () => Math.min(n - 1, Math.floor(Math.exp(random() * Math.log(n + 1)) - 1));
}

/** Exact decayed activity per key, to compare the sketch with. */
class Exact {
  readonly events = new Map<string, number>();
  readonly windows = new Map<string, number>();
  add(id: string, time: number, events: number) {
    const scale = 2 ** (time / H);
    this.events.set(id, (this.events.get(id) ?? 0) + events * scale);
    this.windows.set(id, (this.windows.get(id) ?? 0) + scale);
  }
  at(id: string, time: number) {
    const scale = 2 ** (time / H);
    return { events: (this.events.get(id) ?? 0) / scale, windows: (this.windows.get(id) ?? 0) / scale };
  }
}

/** 200 windows of a Zipf stream over `keys` keys, 400 events per window. */
function feedZipf(sketch: { add(id: string, time: number, events: number): unknown }, exact: Exact, keys: number, seed = 7) {
  const next = zipf(seed, keys);
  for (let w = 0; w < 200; w++) {
    const counts = new Map<number, number>();
    for (let e = 0; e < 400; e++) {
      const k = next();
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    for (const [k, c] of counts) {
      sketch.add(`s\u0000k${k}`, w * W, c);
      exact.add(`s\u0000k${k}`, w * W, c);
    }
  }
  return 199 * W;
}

test("the sketch never underestimates, and stays within its error bound but for about e^-depth of keys", () => {
  const sketch = new DecayedCountMin(512, 4, H);
  const exact = new Exact();
  const now = feedZipf(sketch, exact, 5000);
  let beyond = 0;
  let checked = 0;
  for (const id of exact.events.keys()) {
    const truth = exact.at(id, now);
    const est = sketch.estimate(id, now);
    assert.ok(est.events >= truth.events * (1 - 1e-12), `${id}: ${est.events} < ${truth.events}`);
    assert.ok(est.windows >= truth.windows * (1 - 1e-12), `${id}: windows ${est.windows} < ${truth.windows}`);
    if (est.events - truth.events > est.eventsError) beyond++;
    checked++;
  }
  assert.ok(checked > 1000, `a long tail (${checked} keys)`);
  assert.ok(beyond / checked <= 3 * Math.exp(-4), `${beyond} of ${checked} beyond the bound`);
  const unseen = sketch.estimate("s\u0000never", now);
  assert.ok(unseen.events <= unseen.eventsError, "a key never seen reads within the bound of zero");
});

test("activity decays with the half-life: one half-life later an estimate is halved", () => {
  const sketch = new DecayedCountMin(64, 3, H);
  sketch.add("a", 0, 8);
  const later = sketch.estimate("a", H);
  assert.ok(Math.abs(later.events - 4) < 1e-9 && Math.abs(later.windows - 0.5) < 1e-12);
  sketch.add("a", 2 * H, 6);
  assert.ok(Math.abs(sketch.before().events - 2) < 1e-9, "before(): the activity just before the window");
  assert.ok(Math.abs(sketch.weight / sketch.windows - 8 / 1.25) < 1e-9, "weight / windows: events per window seen, this one included (scale-free)");
  assert.ok(Math.abs(sketch.estimate("a", 2 * H).events - 8) < 1e-9);
});

test("the top k hold the true heavy hitters of a Zipf stream", () => {
  const keys = new HeavyKeys<null>({ capacity: 100, width: 2048, depth: 4, halfLifeMs: H, idleMs: 1e12 });
  const exact = new Exact();
  const now = feedZipf({ add: (id, time, events) => keys.record("s", id, time, events, () => null) }, exact, 20_000, 11);
  assert.is(keys.size, 100);
  const ranked = [...exact.events.keys()].sort((a, b) => exact.at(b, now).events - exact.at(a, now).events);
  const tracked = new Set([...keys.values()].map((e) => e.key));
  const missing = ranked.slice(0, 50).filter((id) => !tracked.has(id));
  assert.equal(missing, [], "the 50 heaviest keys all have full state");
});

test("tracked keys are counted in their entries, exactly; a key losing its state raises its activity into the sketch", () => {
  const keys = new HeavyKeys<null>({ capacity: 2, width: 1024, depth: 4, halfLifeMs: H, idleMs: 5 * W });
  const exact = new Exact();
  const seen = (id: string, time: number, events: number) => {
    keys.record("s", id, time, events, () => null)!.last = time;
    exact.add(`s\u0000${id}`, time, events);
  };
  seen("a", 0, 3);
  for (let w = 1; w <= 10; w++) seen("a", w * W, 5 + w);
  const now = 10 * W;
  assert.equal(keys.sketch.estimate("s\u0000a", now), keys.sketch.activityAt(3, 1, now), "the sketch holds only the window that admitted it");
  const tracked = keys.activity("s", "a", now);
  assert.ok(Math.abs(tracked.events - exact.at("s\u0000a", now).events) < 1e-9 && Math.abs(tracked.windows - exact.at("s\u0000a", now).windows) < 1e-9);
  for (let w = 11; w <= 16; w++) seen("b", w * W, 1); // a idles past idleMs: evicted
  assert.is(keys.get("s", "a"), undefined);
  const after = keys.sketch.estimate("s\u0000a", 16 * W);
  const truth = exact.at("s\u0000a", 16 * W);
  assert.ok(after.events >= truth.events - 1e-9 && after.events - truth.events < 1e-9, `${after.events} vs ${truth.events}`);
  assert.ok(after.windows >= truth.windows - 1e-9 && after.windows - truth.windows < 1e-9);
});

test("a key that a restore has no room for keeps its activity, in the sketch", () => {
  const config = { capacity: 3, width: 1024, depth: 4, halfLifeMs: H, idleMs: 1e12 };
  const before = new HeavyKeys<null>(config);
  for (let w = 0; w < 5; w++) for (const [key, events] of [["x", 10], ["y", 20], ["z", 30]] as const) before.record("s", key, w * W, events, () => null)!.last = w * W;
  const after = new HeavyKeys<null>({ ...config, capacity: 2 });
  after.sketch.restore(before.sketch.snapshot());
  for (const e of [...before.values()]) after.restore(e.stream, e.key, null, e.last, e.weight, e.windows);
  assert.equal([...after.values()].map((e) => e.key).sort(), ["y", "z"]);
  const kept = after.activity("s", "x", 4 * W);
  const truth = before.activity("s", "x", 4 * W);
  assert.ok(kept.events >= truth.events * (1 - 1e-12) && kept.windows >= truth.windows * (1 - 1e-12), `${kept.events} ≥ ${truth.events}`);
});

test("with keys admitted and pushed out all along, no key's activity is ever below the truth", () => {
  const keys = new HeavyKeys<null>({ capacity: 50, width: 512, depth: 4, halfLifeMs: H, idleMs: 20 * W });
  const exact = new Exact();
  const now = feedZipf({ add: (id, time, events) => keys.record("s", id, time, events, () => null) }, exact, 5000, 5);
  assert.ok(keys.evictedByRank > 100, `churn: ${keys.evictedByRank} pushed out`);
  let below = 0;
  for (const id of exact.events.keys()) {
    const got = keys.activity("s", id, now);
    const truth = exact.at(id, now);
    if (got.events < truth.events * (1 - 1e-9) || got.windows < truth.windows * (1 - 1e-9)) below++;
  }
  assert.is(below, 0);
});

test("every tracked key is found and no other, through admissions, evictions and idling (its hash table)", () => {
  // Capacity 8: a 32-cell table, so probes run long and deletions shift cells back often.
  const keys = new HeavyKeys<number>({ capacity: 8, width: 64, depth: 2, halfLifeMs: W, idleMs: 3 * W });
  const random = mulberry32(17);
  const streams = ["a", "b", "c"];
  let checks = 0;
  for (let step = 0; step < 5000; step++) {
    const time = Math.floor(step / 50) * W;
    // The population moves on every 1000 steps, and the last 300 of them only 3 keys are seen: the rest idle out.
    const quiet = step % 1000 >= 700;
    const stream = quiet ? "a" : streams[Math.floor(random() * 3)]!;
    const key = `k${quiet ? Math.floor(random() * 3) : Math.floor(random() ** 2 * 60) + 30 * Math.floor(step / 1000)}`;
    const e = keys.record(stream, key, time, 1 + Math.floor(random() * 20), () => step);
    if (e) e.last = time;
    const tracked = [...keys.values()];
    assert.is(tracked.length, keys.size);
    for (const t of tracked) assert.is(keys.get(t.stream, t.key), t, `${t.stream}/${t.key} at step ${step}`);
    const ids = new Set(tracked.map((t) => `${t.stream}/${t.key}`));
    for (const s of streams) for (let k = 0; k < 180; k += 7) if (!ids.has(`${s}/k${k}`)) assert.is(keys.get(s, `k${k}`), undefined);
    checks += tracked.length;
  }
  assert.ok(keys.evictedByRank > 100 && keys.evictedIdle > 0 && checks > 30_000, `${keys.evictedByRank} pushed out, ${keys.evictedIdle} idle`);
});

test("admission: a key gets state while it is among the k most active; the lightest is pushed out and its state dropped", () => {
  // Half-life half a window: activity ≈ the last window or two.
  const keys = new HeavyKeys<string>({ capacity: 2, width: 1024, depth: 4, halfLifeMs: W / 2, idleMs: 1e12 });
  const start = () => "state";
  keys.record("s", "a", 0, 10, start);
  keys.record("s", "b", 0, 3, start);
  assert.is(keys.record("s", "c", 0, 2, start), undefined, "2 < 3, and no burst (2 < 2·3): sketch only");
  assert.is(keys.size, 2);
  const c = keys.record("s", "c", W, 2, start);
  assert.ok(c, "its activity (2/4 + 2) now beats b's (3/4)");
  assert.equal([...keys.values()].map((e) => e.key).sort(), ["a", "c"]);
  assert.is(keys.evictedByRank, 1);
  assert.is(keys.get("s", "b"), undefined, "b's state is dropped");
  assert.is(keys.record("s", "a", W, 1, start), keys.get("s", "a"), "a tracked key keeps its entry");
});

test("a burst (one window at least twice the lightest key's typical window) is admitted at once", () => {
  const keys = new HeavyKeys<null>({ capacity: 2, width: 1024, depth: 4, halfLifeMs: H, idleMs: 1e12 });
  for (let w = 0; w < 50; w++) {
    keys.record("s", "a", w * W, 20, () => null);
    keys.record("s", "b", w * W, 10, () => null);
    if (w > 0) assert.is(keys.record("s", "tail", w * W, 1, () => null), undefined);
  }
  assert.is(keys.record("s", "tail", 50 * W, 15, () => null), undefined, "1.5× b's window: no burst");
  assert.ok(keys.record("s", "tail", 51 * W, 25, () => null), "2.5× b's window: admitted though its activity is far lower");
  assert.is(keys.get("s", "b"), undefined);
});

test("an admitted key starts from its activity before the window that admitted it", () => {
  const keys = new HeavyKeys<Activity>({ capacity: 1, width: 1024, depth: 4, halfLifeMs: H, idleMs: 1e12 });
  for (let w = 0; w < 5; w++) {
    keys.record("s", "big", w * H, 100, (before) => before);
    assert.is(keys.record("s", "tail", w * H, 2, (before) => before), undefined);
  }
  keys.record("s", "big", 5 * H, 100, (before) => before);
  const tail = keys.record("s", "tail", 5 * H, 500, (before) => before);
  assert.ok(tail, "the surge admits it");
  // Before the surge: 2 per half-life over 5 half-lives, seen 5 times.
  const events = [1, 2, 3, 4, 5].reduce((s, age) => s + 2 * 2 ** -age, 0);
  assert.ok(Math.abs(tail!.value.events - events) < 1e-9, `${tail!.value.events} vs ${events}`);
  assert.ok(Math.abs(tail!.value.windows - events / 2) < 1e-9);
});

test("the same key in two streams is two keys, each hashed as stream U+0000 key", () => {
  const keys = new HeavyKeys<string>({ capacity: 4, width: 1024, depth: 4, halfLifeMs: H, idleMs: 1e12 });
  const a = keys.record("s1", "k", 0, 5, () => "first");
  const b = keys.record("s2", "k", 0, 7, () => "second");
  assert.ok(a && b && a !== b);
  assert.is(keys.get("s1", "k")!.value, "first");
  assert.is(keys.get("s2", "k")!.value, "second");
  assert.is(keys.get("s1\u0000k", ""), undefined);
  assert.is(keys.size, 2);
  assert.is(keys.sketch.estimate("s1\u0000k", 0).events, 5, "admitted by its first window, which the sketch counts");
  assert.is(keys.sketch.estimate("s2\u0000k", 0).events, 7);
});

test("streams are held only while they have tracked keys; a key that evicts its stream's last one lands in its own stream", () => {
  const keys = new HeavyKeys<string>({ capacity: 1, width: 1024, depth: 4, halfLifeMs: H, idleMs: 1e12 });
  assert.ok(keys.record("s1", "a", 0, 5, () => "a"));
  for (let i = 0; i < 1000; i++) assert.is(keys.record(`quiet${i}`, "k", 0, 1, () => "never"), undefined, "sketch only");
  assert.is(keys.streams, 1, "a thousand streams of sketch-only keys hold nothing");
  assert.is(keys.sketch.estimate("quiet7\u0000k", 0).events >= 1, true, "their windows are in the sketch under stream U+0000 key");
  const b = keys.record("s1", "b", 0, 50, () => "b"); // a burst: pushes a, s1's only key, out
  assert.ok(b);
  assert.is(keys.get("s1", "b"), b, "b is findable in s1 although a's removal emptied it");
  assert.is(keys.get("s1", "a"), undefined);
  const c = keys.record("s2", "c", 0, 500, () => "c");
  assert.ok(c);
  assert.equal([keys.streams, keys.size, keys.get("s2", "c") === c, keys.get("s1", "b")], [1, 1, true, undefined]);
});

test("a key with no window for longer than idleMs is evicted", () => {
  const keys = new HeavyKeys<null>({ capacity: 10, width: 256, depth: 4, halfLifeMs: H, idleMs: 8 * W });
  const seen = (id: string, time: number) => (keys.record("s", id, time, 1, () => null)!.last = time);
  seen("quiet", 0);
  for (let w = 0; w <= 8; w++) seen("busy", w * W);
  assert.ok(keys.get("s", "quiet"), "idle for exactly idleMs: kept");
  seen("busy", 9 * W);
  assert.is(keys.get("s", "quiet"), undefined, "idle beyond idleMs: evicted");
  assert.is(keys.evictedIdle, 1);
  assert.is(keys.size, 1);
});

test("snapshot and restore give the same estimates; another shape does not fit", () => {
  const sketch = new DecayedCountMin(300, 3, H);
  const exact = new Exact();
  const now = feedZipf(sketch, exact, 2000, 3);
  const snap = sketch.snapshot();
  assert.is(sketch.width, 512, "width rounded up to a power of two");
  assert.is(snap.counters.byteLength, 512 * 3 * 2 * 8);
  const copy = new DecayedCountMin(300, 3, H);
  assert.ok(copy.fits(snap));
  copy.restore({ ...snap, counters: snap.counters.slice() });
  for (const id of [...exact.events.keys()].slice(0, 200)) assert.equal(copy.estimate(id, now), sketch.estimate(id, now));
  assert.not.ok(new DecayedCountMin(1024, 3, H).fits(snap));
  assert.not.ok(new DecayedCountMin(512, 3, 2 * H).fits(snap));
});

test("rebasing far in the future keeps estimates and the heap order", () => {
  const keys = new HeavyKeys<null>({ capacity: 2, width: 256, depth: 4, halfLifeMs: H, idleMs: 1e15 });
  const later = 1100 * H; // unrebased, the scale 2^1100 would overflow
  keys.record("s", "old", 0, 1, () => null);
  keys.record("s", "a", later - 2 * H, 40, () => null);
  keys.record("s", "b", later - 2 * H, 20, () => null);
  assert.is(keys.get("s", "old"), undefined, "old's activity has decayed to nothing");
  keys.record("s", "a", later, 1, () => null);
  const est = keys.activity("s", "a", later);
  assert.ok(Math.abs(est.events - 11) < 1e-9, `40/4 + 1 = ${est.events}`);
  assert.is(keys.record("s", "c", later, 5, () => null), undefined, "5 does not beat b's decayed 20/4");
  assert.is(keys.record("s", "d", later, 6, () => null), keys.get("s", "d"), "6 does");
  assert.is(keys.get("s", "b"), undefined);
  assert.ok([...keys.values()].every((e) => Number.isFinite(e.weight) && e.weight > 0));
});

test("startFromPrior: a quiet key with a prior signals its first surge; cold it would still be warming up", () => {
  const config = detectorConfig();
  const prior = newKeyState();
  startFromPrior(prior, 2, 20);
  const cold = newKeyState();
  assert.not.ok(observe(cold, 60, config).anomalous, "a cold key is in warm-up");
  assert.not.ok(observe(prior, 3, config).anomalous, "an ordinary window is not a signal");
  const surge = observe(prior, 60, config);
  assert.ok(surge.anomalous && surge.direction === "up" && surge.detector === "poisson", surge.explanation);
  assert.ok(surge.expected > 1.9 && surge.expected < 2.5, `expected ${surge.expected} ≈ the prior level 2`);
});

test.run();
