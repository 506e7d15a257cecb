import { test } from "uvu";
import * as assert from "uvu/assert";
import { createForecaster, defaultForecasterOptions, ForecasterInputError } from "./forecaster.ts";
import type { ForecasterOptions, OnlineForecaster } from "./forecaster.ts";
import { newForecastErrorState, observeForecastError } from "./forecast_error.ts";
import { forecastBackends, loadTf } from "./tf_loader.ts";
import { mulberry32 } from "../../test/helpers/random.ts";

const LAGS = 8;
/** Small schedule so a few thousand rows cross many training points. */
const quick: Partial<ForecasterOptions> = { trainEvery: 64, minibatch: 32, replayCapacity: 512 };

/** A noisy sine (period 24, amplitude 1.5, uniform noise ±0.05) as lag rows and targets. */
function sineRows(n: number, seed: number, at: (i: number, clean: number) => number = (_, v) => v): { inputs: Float32Array; targets: Float32Array } {
  const random = mulberry32(seed);
  const series = Float32Array.from({ length: n + LAGS }, (_, i) => at(i, 1.5 * Math.sin((2 * Math.PI * i) / 24) + 0.1 * (random() - 0.5)));
  const inputs = new Float32Array(n * LAGS);
  for (let i = 0; i < n; i++) inputs.set(series.subarray(i, i + LAGS), i * LAGS);
  return { inputs, targets: series.slice(LAGS) };
}

/** Feeds rows [from, to) in chunks whose sizes come from `chunk()`. */
function feed(f: OnlineForecaster, rows: { inputs: Float32Array; targets: Float32Array }, from: number, to: number, chunk: () => number): Float32Array {
  const out = new Float32Array(to - from);
  for (let i = from; i < to; ) {
    const n = Math.min(chunk(), to - i);
    out.set(f.forecast(rows.inputs.subarray(i * LAGS, (i + n) * LAGS), rows.targets.subarray(i, i + n), n), i - from);
    i += n;
  }
  return out;
}

function meanAbs(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.abs(values[i]!);
  return sum / values.length;
}

function assertBitIdentical(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const b = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const first = a.findIndex((bits, i) => bits !== b[i]);
  assert.is(first, -1, `${what}: first difference at row ${first} (${actual[first]} vs ${expected[first]})`);
}

test("learns a noisy sine: error after training ≤ 0.3 × the naive last-value error", async () => {
  const f = await createForecaster();
  const rows = sineRows(32_000, 1);
  const predictions = feed(f, rows, 0, 32_000, () => 500);
  const tail = 2000;
  const modelErrors = predictions.slice(-tail).map((p, k) => p - rows.targets[32_000 - tail + k]!);
  const naiveErrors = rows.targets.slice(-tail).map((y, k) => y - rows.inputs[(32_000 - tail + k) * LAGS + LAGS - 1]!);
  const early = meanAbs(predictions.slice(0, 500).map((p, k) => p - rows.targets[k]!));
  f.dispose();
  assert.ok(meanAbs(modelErrors) < 0.3 * meanAbs(naiveErrors), `model MAE ${meanAbs(modelErrors)} vs naive ${meanAbs(naiveErrors)}`);
  assert.ok(meanAbs(modelErrors) < early / 5, `model MAE ${meanAbs(modelErrors)} vs untrained ${early}`);
});

for (const backend of forecastBackends) {
  test(`${backend}: predictions are bit-identical whether rows come in one call, one at a time, or random chunks`, async () => {
    const rows = sineRows(3000, 2);
    const random = mulberry32(3);
    const results: Float32Array[] = [];
    for (const chunk of [() => 3000, () => 1, () => 1 + Math.floor(random() * 150)]) {
      const f = await createForecaster({ ...quick, backend });
      results.push(feed(f, rows, 0, 3000, chunk));
      assert.is(f.stepCount, Math.floor(3000 / quick.trainEvery!));
      f.dispose();
    }
    assertBitIdentical(results[1]!, results[0]!, "single rows vs one call");
    assertBitIdentical(results[2]!, results[0]!, "random chunks vs one call");
  });
}

test("two forecasters with the same seed agree exactly; another seed does not", async () => {
  const rows = sineRows(1500, 4);
  const [a, b, c] = await Promise.all([createForecaster(quick), createForecaster(quick), createForecaster({ ...quick, seed: 2 })]);
  const pa = feed(a, rows, 0, 1500, () => 100);
  const pb = feed(b, rows, 0, 1500, () => 100);
  const pc = feed(c, rows, 0, 1500, () => 100);
  for (const f of [a, b, c]) f.dispose();
  assertBitIdentical(pb, pa, "same seed");
  assert.ok(pc.some((p, i) => p !== pa[i]), "a different seed gives different predictions");
});

test("snapshot/restore resumes exactly: weights, optimiser state, step count, replay buffer", async () => {
  const rows = sineRows(3000, 5);
  const original = await createForecaster(quick);
  feed(original, rows, 0, 1530, () => 77);
  const snapshot = original.snapshot();
  const restored = await createForecaster(quick);
  restored.restore(structuredClone(snapshot));
  assert.is(restored.rowCount, 1530);
  assert.is(restored.stepCount, original.stepCount);
  const expected = feed(original, rows, 1530, 3000, () => 100);
  const actual = feed(restored, rows, 1530, 3000, () => 33);
  const fresh = await createForecaster(quick);
  const unrestored = feed(fresh, rows, 1530, 3000, () => 100);
  for (const f of [original, restored, fresh]) f.dispose();
  assertBitIdentical(actual, expected, "restored vs original");
  assert.ok(unrestored.some((p, i) => p !== expected[i]), "without restore the predictions differ");
});

test("restore rejects a snapshot taken with other options", async () => {
  const a = await createForecaster(quick);
  const b = await createForecaster({ ...quick, hidden: 8 });
  assert.throws(() => b.restore(a.snapshot()), (err: unknown) => err instanceof ForecasterInputError && /hidden/.test(String(err)));
  a.dispose();
  b.dispose();
});

test("no tensor leaks: the tensor count stays flat over many calls and returns to its start after dispose", async () => {
  const tf = await loadTf(defaultForecasterOptions.backend);
  const before = tf.memory().numTensors;
  const f = await createForecaster(quick);
  const rows = sineRows(2000, 6);
  feed(f, rows, 0, 200, () => 50);
  const held = tf.memory().numTensors;
  feed(f, rows, 200, 2000, () => 37);
  f.restore(f.snapshot());
  assert.is(tf.memory().numTensors, held, "after 1800 more rows, 28 training steps and a restore");
  f.dispose();
  assert.is(tf.memory().numTensors, before, "after dispose");
  assert.throws(() => f.forecast(rows.inputs, rows.targets, 1), (err: unknown) => err instanceof ForecasterInputError);
});

test("a forecaster refuses to run once another backend is active (its floats would change)", async () => {
  const f = await createForecaster({ ...quick, backend: "cpu" });
  const rows = sineRows(10, 9);
  f.forecast(rows.inputs, rows.targets, 10);
  await loadTf("wasm");
  assert.throws(() => f.forecast(rows.inputs, rows.targets, 10), (err: unknown) => err instanceof ForecasterInputError && /cpu backend, but wasm/.test(String(err)));
  await loadTf("cpu");
  f.dispose();
});

test("a spike and a level shift in a learned sine give far larger |z| than ordinary points", async () => {
  const f = await createForecaster();
  const trained = sineRows(24_000, 7);
  feed(f, trained, 0, 24_000, () => 1000);
  const spikeAt = 600 + LAGS; // series index: the target of row 600
  const shiftFrom = 1200 + LAGS;
  const test_ = sineRows(1500, 8, (i, v) => v + (i === spikeAt ? 3 : 0) + (i >= shiftFrom ? 2 : 0));
  const predictions = feed(f, test_, 0, 1500, () => 250);
  f.dispose();
  const state = newForecastErrorState();
  const z = Array.from(predictions, (p, i) => observeForecastError(state, test_.targets[i]! - p));
  // Ordinary points: after the error state has warmed up, away from the spike and the shift.
  const ordinary = z.filter((_, i) => i >= 200 && i < 1200 && (i < 600 || i > 600 + LAGS)).map(Math.abs).sort((a, b) => a - b);
  const p99 = ordinary[Math.floor(ordinary.length * 0.99)]!;
  assert.ok(p99 < 4, `ordinary |z| p99 ${p99}`);
  assert.ok(Math.abs(z[600]!) > 5 * p99 && Math.abs(z[600]!) > 10, `spike z ${z[600]} vs ordinary p99 ${p99}`);
  assert.ok(Math.abs(z[1200]!) > 5 * p99 && Math.abs(z[1200]!) > 10, `shift z ${z[1200]} vs ordinary p99 ${p99}`);
});

test("step() (the scoring path, plain-JS forward pass) agrees with forecast() (TensorFlow.js) row for row, through training steps", async () => {
  for (const backend of forecastBackends) {
    const rows = sineRows(1000, 11);
    const batched = await createForecaster({ ...quick, backend });
    const stepped = await createForecaster({ ...quick, backend });
    const expected = feed(batched, rows, 0, 1000, () => 1000);
    let worst = 0;
    for (let i = 0; i < 1000; i++) {
      const y = stepped.step(rows.inputs.subarray(i * LAGS, (i + 1) * LAGS), rows.targets[i]!);
      worst = Math.max(worst, Math.abs(y - expected[i]!));
    }
    // Both learn the same rows on the same schedule, so only the forward pass's float32 vs
    // float64 arithmetic differs; training steps then see identical (float32) replay rows.
    assert.ok(stepped.stepCount === batched.stepCount && stepped.stepCount === Math.floor(1000 / 64), `${backend}: ${stepped.stepCount} steps`);
    assert.ok(worst < 1e-5, `${backend}: largest |step − forecast| ${worst}`);
    const a = stepped.snapshot();
    const b = batched.snapshot();
    assertBitIdentical(a.params, b.params, `${backend}: weights after training`);
    stepped.dispose();
    batched.dispose();
  }
});

test.run();
