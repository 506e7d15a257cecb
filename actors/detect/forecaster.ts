/**
 * OnlineForecaster: a small TensorFlow.js MLP shared by the keys of one stream, trained online,
 * predicting a key's next normalised window total from its previous `lags` normalised totals.
 * Its prediction error feeds the detector's score (see forecast_error.ts).
 *
 * Live and offline runs must score a series identically, so a prediction depends only on the
 * ORDER of the rows fed in, never on how they were batched:
 *  - the prediction for row i comes from the model as it stood before row i's target was seen;
 *  - every row enters a ring replay buffer, and one Adam step on a minibatch drawn from it (by a
 *    stateless hash of the step number: no Math.random) runs after every `trainEvery` rows
 *    counted since creation;
 *  - `forecast` splits its input at those training points and predicts each run of rows in one
 *    batched call, which gives the same floats as one row at a time (forecaster.test.ts).
 * Weights start from a seeded hash, so two forecasters fed the same rows agree bit for bit, and
 * `snapshot()`/`restore()` carry everything that decides future predictions.
 *
 * Architecture: lags → dense(hidden, tanh) → 1 (linear). Loss: Huber (δ = 1) so spikes in the
 * training rows pull the model less than squared error would. A training step is one
 * TensorFlow.js pass, forward and back, over the minibatch (the gradient written out: for a
 * two-layer network the tape of tf.grad costs more than the arithmetic), downloaded once; Adam
 * then updates the 161 parameters in JS, which hold the model (flat float32, as snapshotted).
 *
 * Two ways in. `forecast()` predicts a batch of rows with TensorFlow.js. `step()` is what the
 * detector scores with: one row at a time, predicted by a plain-JS forward pass over a float64
 * copy of the weights (refreshed after every training step), because the detector must score
 * each window before it reads the next, and one TensorFlow.js call costs tens of microseconds
 * where this whole forward pass (161 weights) costs well under one (`npm run bench -- forecast`
 * shows both). Training stays in TensorFlow.js. `step()` agrees with `forecast()` to float32
 * rounding (forecaster.test.ts) and, like it, depends only on the order of rows.
 */
import { loadTf } from "./tf_loader.ts";
import type { ForecastBackend, TfModule } from "./tf_loader.ts";
import type { Tensor1D, Tensor2D } from "@tensorflow/tfjs";

export interface ForecasterOptions {
  /** Lagged inputs per row. */
  lags: number;
  /** Hidden tanh units. */
  hidden: number;
  /** One optimiser step after every this many rows. */
  trainEvery: number;
  /** Rows per optimiser step, drawn from the replay buffer. */
  minibatch: number;
  /** Rows kept in the ring replay buffer. */
  replayCapacity: number;
  learningRate: number;
  /** Seeds the initial weights and the minibatch draws. */
  seed: number;
  backend: ForecastBackend;
}

export const defaultForecasterOptions: Readonly<ForecasterOptions> = Object.freeze({
  lags: 8,
  hidden: 16,
  trainEvery: 256,
  minibatch: 128,
  replayCapacity: 4096,
  learningRate: 0.01,
  seed: 1,
  // wasm: 1.4–1.9× the cpu backend's updates/s from batch 10 up (bench/forecast.ts), bit-identical
  // on Node and Deno; cpu is faster only one row per call. The two backends' floats differ in
  // the last bits, so live and offline runs must use the same one.
  backend: "wasm",
});

/** Everything that decides a forecaster's future predictions, as plain numbers and arrays. */
export interface ForecasterSnapshot {
  version: 1;
  options: ForecasterOptions;
  /** Rows fed since creation. */
  rows: number;
  /** Optimiser steps taken. */
  steps: number;
  params: Float32Array;
  adamM: Float32Array;
  adamV: Float32Array;
  /** The ring buffer as stored (row r at slot r % replayCapacity). */
  replayInputs: Float32Array;
  replayTargets: Float32Array;
}

export class ForecasterInputError extends Error {}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

/** Loads TensorFlow.js (lazily, once per process) and builds a forecaster. */
export async function createForecaster(options: Partial<ForecasterOptions> = {}): Promise<OnlineForecaster> {
  const resolved = forecasterOptions(options);
  const tf = await loadTf(resolved.backend);
  return new OnlineForecaster(tf, resolved);
}

export function forecasterOptions(partial: Partial<ForecasterOptions>): ForecasterOptions {
  const o = { ...defaultForecasterOptions, ...partial };
  for (const name of ["lags", "hidden", "trainEvery", "minibatch", "replayCapacity"] as const) {
    if (!Number.isInteger(o[name]) || o[name] < 1) throw new ForecasterInputError(`forecaster ${name}: expected an integer >= 1, got ${o[name]}`);
  }
  if (!(o.learningRate > 0)) throw new ForecasterInputError(`forecaster learningRate: expected > 0, got ${o.learningRate}`);
  if (!Number.isInteger(o.seed)) throw new ForecasterInputError(`forecaster seed: expected an integer, got ${o.seed}`);
  return o;
}

export class OnlineForecaster {
  readonly options: Readonly<ForecasterOptions>;
  private readonly tf: TfModule;
  private readonly paramCount: number;
  /** The model: w1 (lags × hidden, row-major), b1, w2 (hidden), b2; and Adam's moments. */
  private readonly params: Float32Array;
  private readonly adamM: Float32Array;
  private readonly adamV: Float32Array;
  /** `params` as tensors, per layer, for forecast() and training; rebuilt after each step. */
  private layers: { w1: Tensor2D; b1: Tensor1D; w2: Tensor2D; b2: Tensor1D };
  private readonly replayInputs: Float32Array;
  private readonly replayTargets: Float32Array;
  private rows = 0;
  private steps = 0;
  private disposed = false;
  /** `params` as float64, for step()'s forward pass; rewritten whenever `params` changes. */
  private readonly weights: Float64Array;

  constructor(tf: TfModule, options: ForecasterOptions) {
    this.tf = tf;
    this.options = Object.freeze({ ...options });
    const { lags, hidden, replayCapacity } = options;
    this.paramCount = lags * hidden + hidden + hidden + 1;
    this.params = initialParams(options);
    this.adamM = new Float32Array(this.paramCount);
    this.adamV = new Float32Array(this.paramCount);
    this.replayInputs = new Float32Array(replayCapacity * lags);
    this.replayTargets = new Float32Array(replayCapacity);
    this.weights = new Float64Array(this.paramCount);
    this.layers = this.uploadLayers();
  }

  /** Lagged inputs per row. */
  get lags(): number {
    return this.options.lags;
  }

  /** Rows fed since creation. */
  get rowCount(): number {
    return this.rows;
  }

  /** Optimiser steps taken. */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * Predicts each row's target, then learns it. `inputs` holds n rows of `lags` values
   * (row-major), `targets` n values. Returns n predictions; prediction i is made before row
   * i's target is learned, and is the same however the rows are split across calls.
   */
  forecast(inputs: Float32Array, targets: Float32Array, n: number): Float32Array {
    this.assertLive();
    const { lags, trainEvery } = this.options;
    if (!Number.isInteger(n) || n < 0 || inputs.length < n * lags || targets.length < n) {
      throw new ForecasterInputError(`forecast: need ${n} rows of ${lags} inputs and ${n} targets, got ${inputs.length} inputs and ${targets.length} targets`);
    }
    const predictions = new Float32Array(n);
    for (let start = 0; start < n; ) {
      const end = Math.min(n, start + trainEvery - (this.rows % trainEvery));
      this.predictInto(inputs.subarray(start * lags, end * lags), end - start, predictions, start);
      this.remember(inputs, targets, start, end);
      if (this.rows % trainEvery === 0) this.trainStep();
      start = end;
    }
    return predictions;
  }

  /**
   * The scoring path: predicts `row`'s target from the model as it stands (plain JS, see the
   * module comment), then learns the row, taking a TensorFlow.js training step when the
   * schedule says so. Returns the prediction.
   */
  step(row: ArrayLike<number>, target: number): number {
    if (this.disposed) throw new ForecasterInputError("forecaster used after dispose()");
    const { lags, hidden, replayCapacity, trainEvery } = this.options;
    if (row.length !== lags) throw new ForecasterInputError(`step: need ${lags} inputs, got ${row.length}`);
    const w = this.weights;
    const b1 = lags * hidden;
    const w2 = b1 + hidden;
    let y = w[w2 + hidden]!;
    for (let j = 0; j < hidden; j++) {
      let a = w[b1 + j]!;
      for (let i = 0; i < lags; i++) a += row[i]! * w[i * hidden + j]!;
      y += Math.tanh(a) * w[w2 + j]!;
    }
    const slot = this.rows % replayCapacity;
    for (let i = 0; i < lags; i++) this.replayInputs[slot * lags + i] = row[i]!;
    this.replayTargets[slot] = target;
    this.rows++;
    if (this.rows % trainEvery === 0) {
      this.assertLive();
      this.trainStep();
    }
    return y;
  }

  /** A copy of the state; `restore` on a forecaster with the same options resumes it exactly. */
  snapshot(): ForecasterSnapshot {
    this.assertLive();
    return {
      version: 1,
      options: { ...this.options },
      rows: this.rows,
      steps: this.steps,
      params: this.params.slice(),
      adamM: this.adamM.slice(),
      adamV: this.adamV.slice(),
      replayInputs: this.replayInputs.slice(),
      replayTargets: this.replayTargets.slice(),
    };
  }

  restore(snapshot: ForecasterSnapshot): void {
    this.assertLive();
    const mismatch = (Object.keys(this.options) as (keyof ForecasterOptions)[]).filter((k) => k !== "backend" && snapshot.options[k] !== this.options[k]);
    if (snapshot.version !== 1 || mismatch.length > 0) {
      throw new ForecasterInputError(`forecaster restore: snapshot version ${snapshot.version} with different options (${mismatch.join(", ")})`);
    }
    for (const [target, values] of [[this.params, snapshot.params], [this.adamM, snapshot.adamM], [this.adamV, snapshot.adamV]] as const) {
      if (values.length !== this.paramCount) throw new ForecasterInputError(`forecaster restore: expected ${this.paramCount} parameters, got ${values.length}`);
      target.set(values);
    }
    this.replayInputs.set(snapshot.replayInputs);
    this.replayTargets.set(snapshot.replayTargets);
    this.rows = snapshot.rows;
    this.steps = snapshot.steps;
    this.replaceLayers();
  }

  /** Frees every tensor this forecaster holds; it cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disposeLayers();
  }

  private assertLive(): void {
    if (this.disposed) throw new ForecasterInputError("forecaster used after dispose()");
    // The backend is process-wide; computing on another one would change the floats silently.
    const active = this.tf.getBackend();
    if (active !== this.options.backend) throw new ForecasterInputError(`forecaster built for the ${this.options.backend} backend, but ${active} is active`);
  }

  private predictInto(rows: Float32Array, n: number, out: Float32Array, offset: number): void {
    if (n === 0) return;
    const tf = this.tf;
    const { w1, b1, w2, b2 } = this.layers;
    const y = tf.tidy(() => {
      const hidden = tf.tanh(tf.add(tf.matMul(tf.tensor2d(rows, [n, this.options.lags]), w1), b1));
      return tf.add(tf.matMul(hidden, w2), b2);
    });
    out.set(y.dataSync() as Float32Array, offset);
    y.dispose();
  }

  private remember(inputs: Float32Array, targets: Float32Array, start: number, end: number): void {
    const { lags, replayCapacity } = this.options;
    for (let i = start; i < end; i++) {
      const slot = this.rows % replayCapacity;
      this.replayInputs.set(inputs.subarray(i * lags, (i + 1) * lags), slot * lags);
      this.replayTargets[slot] = targets[i]!;
      this.rows++;
    }
  }

  /** One Adam step on a minibatch drawn from the replay buffer by hashing (seed, step, j). */
  private trainStep(): void {
    const tf = this.tf;
    const { lags, minibatch, replayCapacity, learningRate, seed } = this.options;
    const filled = Math.min(this.rows, replayCapacity);
    const xs = new Float32Array(minibatch * lags);
    const ys = new Float32Array(minibatch);
    for (let j = 0; j < minibatch; j++) {
      const slot = hash32(seed, this.steps, j) % filled;
      xs.set(this.replayInputs.subarray(slot * lags, (slot + 1) * lags), j * lags);
      ys[j] = this.replayTargets[slot]!;
    }
    this.steps++;
    const { w1, b1, w2, b2 } = this.layers;
    // Forward, then back: with e = y − t, the mean Huber loss has dL/dy = clip(e, −1, 1) / B.
    const gradient = tf.tidy(() => {
      const x = tf.tensor2d(xs, [minibatch, lags]);
      const h = tf.tanh(tf.add(tf.matMul(x, w1), b1));
      const y = tf.add(tf.matMul(h, w2), b2);
      const dy = tf.mul(tf.clipByValue(tf.sub(y, tf.tensor2d(ys, [minibatch, 1])), -1, 1), 1 / minibatch);
      const dPre = tf.mul(tf.matMul(dy, w2, false, true), tf.sub(1, tf.square(h)));
      return tf.concat([tf.reshape(tf.matMul(x, dPre, true, false), [-1]), tf.sum(dPre, 0), tf.reshape(tf.matMul(h, dy, true, false), [-1]), tf.sum(dy, 0)]);
    });
    const g = gradient.dataSync() as Float32Array;
    gradient.dispose();
    // Adam, bias-corrected step size in float64 (its "efficient" form); state stored as float32.
    const stepSize = (learningRate * Math.sqrt(1 - BETA2 ** this.steps)) / (1 - BETA1 ** this.steps);
    const { params, adamM, adamV } = this;
    for (let i = 0; i < this.paramCount; i++) {
      const m = (adamM[i] = BETA1 * adamM[i]! + (1 - BETA1) * g[i]!);
      const v = (adamV[i] = BETA2 * adamV[i]! + (1 - BETA2) * g[i]! * g[i]!);
      params[i] -= (stepSize * m) / (Math.sqrt(v) + EPSILON);
    }
    this.replaceLayers();
  }

  private replaceLayers(): void {
    this.disposeLayers();
    this.layers = this.uploadLayers();
  }

  /** `params` as per-layer tensors, and as float64 for step(). */
  private uploadLayers(): { w1: Tensor2D; b1: Tensor1D; w2: Tensor2D; b2: Tensor1D } {
    const tf = this.tf;
    const { lags, hidden } = this.options;
    const p = this.params;
    this.weights.set(p);
    const b1 = lags * hidden;
    const w2 = b1 + hidden;
    return {
      w1: tf.tensor2d(p.slice(0, b1), [lags, hidden]),
      b1: tf.tensor1d(p.slice(b1, w2)),
      w2: tf.tensor2d(p.slice(w2, w2 + hidden), [hidden, 1]),
      b2: tf.tensor1d(p.slice(w2 + hidden)),
    };
  }

  private disposeLayers(): void {
    for (const t of Object.values(this.layers)) t.dispose();
  }
}

/** Glorot-uniform weights and zero biases, drawn from hash32(seed, 0x5eed, i). */
function initialParams(o: ForecasterOptions): Float32Array {
  const { lags, hidden } = o;
  const params = new Float32Array(lags * hidden + hidden + hidden + 1);
  const uniform = (i: number, limit: number) => ((hash32(o.seed, 0x5eed, i) / 2 ** 32) * 2 - 1) * limit;
  const limit1 = Math.sqrt(6 / (lags + hidden));
  for (let i = 0; i < lags * hidden; i++) params[i] = uniform(i, limit1);
  const w2Start = lags * hidden + hidden;
  const limit2 = Math.sqrt(6 / (hidden + 1));
  for (let i = 0; i < hidden; i++) params[w2Start + i] = uniform(w2Start + i, limit2);
  return params;
}

/** A stateless 32-bit hash of three integers (murmur3's finaliser over a mix), as an unsigned int. */
function hash32(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35) ^ Math.imul(c + 0x165667b1, 0x27d4eb2f);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
