/**
 * Checkpoint formats of the detect actor: checkpoints written by older code restore and the
 * restored actor goes on exactly as the run that wrote them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectActor, type DetectState } from "./detect.ts";
import { typicalWindow } from "./heavy_keys.ts";
import { detectorConfig } from "./detector.ts";
import { LONG_STATE_LENGTH } from "./likelihood.ts";
import { HOT_WIDTH, joinSlot, readProfile, SLOT_WIDTH } from "./state_slab.ts";
import { newForecastErrorState } from "./forecast_error.ts";
import { float64Bytes, MessageType, readFloat64s, type AggBatch, type TrendSignal } from "../../schemas/mod.ts";
import { fakeContext, message, type FakeContext } from "../../test/helpers/fake_ctx.ts";
import { MessageCodec } from "../../runtime/codec/codec.ts";
import { AFTER, BEFORE, HOUR, SIGNALS_BETWEEN, T0, windowsAt } from "./testdata/checkpoint_v2.ts";

const codec = new MessageCodec();
const make = () =>
  detectActor({ partitions: 1, owned: [0], detector: detectorConfig({ warmupWindows: 5, windowMs: HOUR }), maxKeys: 100, jsonSignals: false, sketchWidth: 16, sketchDepth: 2 });
const bytesOf = (base64: string) => Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));

async function feed(actor: ReturnType<typeof make>, state: DetectState, ctx: FakeContext, i: number): Promise<DetectState> {
  const batch: AggBatch = { partition: 0, windows: windowsAt(i), watermarks: {} };
  return actor.receive(state, message("tw.agg.0", MessageType.AggBatch, batch), ctx);
}

/** Every key's id, state (as plain numbers), last window, weight and rate, sorted by id. */
const view = (s: DetectState) =>
  [...s.keys.values()]
    .map((e) => [`${e.stream}/${e.key}`, JSON.parse(JSON.stringify(e.value)), e.last, e.weight, typicalWindow(e)])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));

async function restoreFrom(snapshot: unknown) {
  const actor = make();
  const ctx = fakeContext({ now: T0, restored: { seqs: {}, snapshot } });
  return { actor, ctx, state: await actor.init(ctx) };
}

test("a format 2 checkpoint restores and the actor goes on exactly as the run that wrote it", async () => {
  let { actor, ctx, state } = await restoreFrom(codec.decodeValue(bytesOf(BEFORE)));
  assert.is(state.keys.size, 7);
  for (let i = 130; i < 160; i++) state = await feed(actor, state, ctx, i);
  const signalled = ctx.published.map((p) => p.body as TrendSignal).map((b) => [b.key, b.windowStart, b.score, b.detector]);
  assert.equal(signalled, SIGNALS_BETWEEN);
  const after = await restoreFrom(codec.decodeValue(bytesOf(AFTER)));
  const states = (v: unknown[][]) => v.map(([id, value, last]) => [id, value, last]);
  assert.equal(states(view(state)), states(view(after.state)), "the same states as the older run's later checkpoint");
  // Activity: the older run kept tracked keys in its 16-wide sketch, where other keys' windows
  // added to theirs; they are counted exactly now, so no higher, and each at least its own windows.
  const older = view(after.state);
  let same = 0;
  for (const [i, [id, , , weight, rate]] of view(state).entries()) {
    const [, , , oldWeight, oldRate] = older[i]!;
    assert.ok(weight <= oldWeight * (1 + 1e-12), `${id}: ${weight} ≤ ${oldWeight}`);
    if (weight === oldWeight && rate === oldRate) same++;
  }
  assert.is(same, 5, "keys that shared no cells with a busier one: the same activity as before");
});

test("a checkpoint from before the forecast chain (shorter long blocks) restores with a fresh forecast and every other number intact", async () => {
  const snapshot = codec.decodeValue(bytesOf(AFTER)) as { fields: string[]; long: number; numbers: Uint8Array };
  const full = await restoreFrom(codec.decodeValue(bytesOf(AFTER)));
  // The same checkpoint as older code wrote it: each key's long block cut before the forecast part.
  const stat = snapshot.fields.length;
  const forecastPart = 8 + 3 + 8; // recent values, error state, chain
  const v1 = snapshot.long - forecastPart;
  const width = stat + snapshot.long + 3;
  const numbers = readFloat64s(snapshot.numbers);
  const keys = numbers.length / width;
  const cut = new Float64Array(keys * (width - forecastPart));
  for (let k = 0; k < keys; k++) {
    const from = k * width;
    const to = k * (width - forecastPart);
    cut.set(numbers.subarray(from, from + stat + v1), to);
    cut.set(numbers.subarray(from + width - 3, from + width), to + stat + v1);
  }
  assert.is(snapshot.long, LONG_STATE_LENGTH);
  const { state } = await restoreFrom({ ...snapshot, long: v1, numbers: float64Bytes(cut) });
  const expected = view(full.state).map(([id, value, last, weight, rate]) => {
    const long = { ...value.long, recent: new Array(8).fill(0), forecastError: newForecastErrorState(), forecast: { ring: [0, 0, 0, 0, 0], sum: 0, mean: 0, variance: 0 } };
    return [id, { ...value, long }, last, weight, rate];
  });
  assert.equal(view(state), expected);
});

/** Format 4 as format 3 wrote it: each slot whole, its profile back inside it (packLong's layout), and a rate (weight / windows) per key for its windows. */
function asFormat3(s4: { blocks: Uint8Array[]; profiles: Uint8Array[]; blockSlots: number; meta: Uint8Array }) {
  const blocks = s4.blocks.map((bytes, b) => {
    const hot = readFloat64s(bytes);
    const profiles = readFloat64s(s4.profiles[b]!);
    const whole = new Float64Array((hot.length / HOT_WIDTH) * SLOT_WIDTH);
    for (let i = 0; i < hot.length / HOT_WIDTH; i++) whole.set(joinSlot(hot, i * HOT_WIDTH, readProfile(profiles, i), 0), i * SLOT_WIDTH);
    return float64Bytes(whole);
  });
  const meta = readFloat64s(s4.meta).slice();
  for (let o = 0; o < meta.length; o += 3) meta[o + 2] = meta[o + 2]! > 0 ? meta[o + 1]! / meta[o + 2]! : 0;
  const { profiles: _, ...rest } = s4;
  return { ...rest, packed: 3, blocks, meta: float64Bytes(meta) };
}

test("a checkpoint (format 2, 3 or 4) restored with a smaller maxKeys keeps the heaviest keys and frees the others' slots", async () => {
  const running = await restoreFrom(codec.decodeValue(bytesOf(AFTER)));
  const format4 = codec.decodeValue(codec.encodeLarge((await running.actor.checkpoint!(running.state, running.ctx)).snapshot)) as Parameters<typeof asFormat3>[0];
  assert.is((format4 as unknown as { packed: number }).packed, 4);
  const heaviest = [...running.state.keys.values()].sort((a, b) => b.weight - a.weight).slice(0, 3).map((e) => `${e.stream}/${e.key}`).sort();
  for (const snapshot of [codec.decodeValue(bytesOf(AFTER)), asFormat3(format4), format4]) {
    const actor = detectActor({ partitions: 1, owned: [0], detector: detectorConfig({ warmupWindows: 5, windowMs: HOUR }), maxKeys: 3, jsonSignals: false, sketchWidth: 16, sketchDepth: 2 });
    const ctx = fakeContext({ now: T0, restored: { seqs: {}, snapshot } });
    let state = await actor.init(ctx);
    assert.equal([...state.keys.values()].map((e) => `${e.stream}/${e.key}`).sort(), heaviest);
    assert.is(state.slab.used, 3);
    const full = view(running.state).filter(([id]) => heaviest.includes(id as string));
    assert.equal(view(state), full, "their states intact");
    for (let i = 160; i < 170; i++) state = await feed(actor, state, ctx, i);
    assert.ok(state.slab.used <= 3);
  }
});

test("restored into a sketch of another shape (maxKeys changed), keys keep their activity, carried over at their last window", async () => {
  // 200 windows of 20 keys; a half-life of 8 windows, so the sketch's scale has grown to 2^25.
  const config = { partitions: 1, owned: [0], detector: detectorConfig({ warmupWindows: 5, windowMs: HOUR, halfLifeWindows: 8 }), jsonSignals: false, sketchDepth: 2 };
  const before = detectActor({ ...config, maxKeys: 20, sketchWidth: 64 });
  const ctx = fakeContext({ now: T0 });
  let state = await before.init(ctx);
  const events = (k: number) => 1 + k;
  for (let w = 0; w < 200; w++) {
    const windows = Array.from({ length: 20 }, (_, k) => ({ stream: "s", key: `k${k}`, windowStart: T0 + w * HOUR, windowEnd: T0 + (w + 1) * HOUR, count: events(k), sum: events(k), min: 1, max: 1, revision: 0 }));
    state = await before.receive(state, message("tw.agg.0", MessageType.AggBatch, { partition: 0, windows, watermarks: {} }), ctx);
  }
  const snapshot = codec.decodeValue(codec.encodeLarge((await before.checkpoint!(state, ctx)).snapshot));
  const now = T0 + 199 * HOUR;
  // Each key's true activity: Σ events·2^(−age/8) over its windows, and Σ 2^(−age/8).
  const decayed = Array.from({ length: 200 }, (_, age) => 2 ** (-age / 8)).reduce((a, b) => a + b, 0);
  const after = detectActor({ ...config, maxKeys: 10, sketchWidth: 256 }); // another width: the sketch is not taken
  const restored = await after.init(fakeContext({ now, restored: { seqs: {}, snapshot } }));
  assert.equal([...restored.keys.values()].map((e) => e.key).sort(), Array.from({ length: 10 }, (_, k) => `k${k + 10}`).sort(), "the 10 heaviest keep state");
  for (let k = 0; k < 20; k++) {
    const a = restored.keys.activity("s", `k${k}`, now);
    // Never below the truth; above it only by what 2 × 64 counters' collisions added before admission, long decayed.
    const truth = events(k) * decayed;
    assert.ok(a.events >= truth * (1 - 1e-12) && a.events <= truth * (1 + 1e-6), `k${k}: ${a.events} events, truth ${truth}`);
    assert.ok(a.windows >= decayed * (1 - 1e-12) && a.windows <= decayed * (1 + 1e-6), `k${k}: ${a.windows} windows, truth ${decayed}`);
  }
});

test("the checkpoint interval counts the bytes a checkpoint writes (≈ 200 MB/s), not just packing (which copies nothing)", async () => {
  const actor = detectActor({ partitions: 1, owned: [0], detector: detectorConfig({ warmupWindows: 5 }), maxKeys: 3000, jsonSignals: false });
  const ctx = fakeContext({ now: T0 });
  const windows = Array.from({ length: 3000 }, (_, k) => ({ stream: "s", key: `k${k}`, windowStart: T0, windowEnd: T0 + 10_000, count: 5, sum: 5, min: 1, max: 1, revision: 0 }));
  const state = await actor.receive(await actor.init(ctx), message("tw.agg.0", MessageType.AggBatch, { partition: 0, windows, watermarks: {} }), ctx);
  const { snapshot } = await actor.checkpoint!(state, ctx);
  const s = snapshot as { blocks: Uint8Array[]; profiles: Uint8Array[]; sketch: { counters: Uint8Array } };
  const bytes = [...s.blocks, ...s.profiles].reduce((n, b) => n + b.byteLength, 0) + s.sketch.counters.byteLength;
  assert.ok(bytes > 3000 * 1800, `${bytes} bytes`);
  assert.ok(actor.checkpointIntervalMs! >= (40 * bytes) / 200_000, `${actor.checkpointIntervalMs} ms for ${bytes} bytes`);
});

test.run();
