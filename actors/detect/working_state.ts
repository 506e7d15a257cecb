/**
 * The state the detector works on for a key kept in the slab (state_slab.ts): its numbers as
 * plain fields (no accessor calls in the detector's inner loops), its profile and rings as
 * typed subarrays of the block's working slot. `load` copies a key's slot in, `store` copies it
 * back: one copy of the slot each way plus the 32 scalars, a window.
 */
import type { KeyState } from "./baseline.ts";
import type { ForecastErrorState } from "./forecast_error.ts";
import { FORECAST_LAGS, SEASON_BUCKETS, SHORT, type Chain, type LongState } from "./likelihood.ts";
import { L_ERROR, L_FORECAST, L_LEVEL, L_RECENT, L_SEASON, L_SEASONAL, L_SEEN, LONG, SEEN_WORDS, SLOT_WIDTH } from "./slot_layout.ts";

// Fields start as NaN (a double), so V8 keeps them as doubles from the first load on.
class WorkingChain implements Chain {
  sum = NaN;
  mean = NaN;
  variance = NaN;
  constructor(readonly ring: Float64Array) {}
}

class WorkingLong implements LongState {
  n = NaN;
  zMean = NaN;
  zVariance = NaN;
  seasonVariance = NaN;
  seasonSeen = NaN;
  min = NaN;
  max = NaN;
  extreme = NaN;
  readonly forecastError: ForecastErrorState = { count: NaN, mean: NaN, variance: NaN };
  readonly season: Float64Array;
  readonly seasonSeenBits: Float64Array;
  readonly recent: Float64Array;
  readonly level: WorkingChain;
  readonly seasonal: WorkingChain;
  readonly forecast: WorkingChain;
  constructor(d: Float64Array, o: number) {
    this.season = d.subarray(o + L_SEASON, o + L_SEASON + SEASON_BUCKETS);
    this.seasonSeenBits = d.subarray(o + L_SEEN, o + L_SEEN + SEEN_WORDS);
    this.recent = d.subarray(o + L_RECENT, o + L_RECENT + FORECAST_LAGS);
    this.level = new WorkingChain(d.subarray(o + L_LEVEL, o + L_LEVEL + SHORT));
    this.seasonal = new WorkingChain(d.subarray(o + L_SEASONAL, o + L_SEASONAL + SHORT));
    this.forecast = new WorkingChain(d.subarray(o + L_FORECAST, o + L_FORECAST + SHORT));
  }
}

export class WorkingState implements KeyState {
  n = NaN;
  level = NaN;
  variance = NaN;
  absError = NaN;
  upperVariance = NaN;
  upperAbs = NaN;
  fast = NaN;
  cusumUp = NaN;
  cusumDown = NaN;
  run = NaN;
  noise = NaN;
  counts = NaN;
  readonly long: WorkingLong;
  readonly #d: Float64Array;
  readonly #o: number;

  /** Over the working slot at `d[o]`. */
  constructor(d: Float64Array, o: number) {
    this.#d = d;
    this.#o = o;
    this.long = new WorkingLong(d, o + LONG);
  }

  /** Becomes the state in the slot at `o` of the same block. */
  load(o: number): this {
    const d = this.#d;
    d.copyWithin(this.#o, o, o + SLOT_WIDTH);
    this.n = d[o]!;
    this.level = d[o + 1]!;
    this.variance = d[o + 2]!;
    this.absError = d[o + 3]!;
    this.upperVariance = d[o + 4]!;
    this.upperAbs = d[o + 5]!;
    this.fast = d[o + 6]!;
    this.cusumUp = d[o + 7]!;
    this.cusumDown = d[o + 8]!;
    this.run = d[o + 9]!;
    this.noise = d[o + 10]!;
    this.counts = d[o + 11]!;
    const l = this.long;
    const b = o + LONG;
    l.n = d[b]!;
    l.zMean = d[b + 1]!;
    l.zVariance = d[b + 2]!;
    l.seasonVariance = d[b + 3]!;
    l.seasonSeen = d[b + 4]!;
    l.min = d[b + 5]!;
    l.max = d[b + 6]!;
    l.extreme = d[b + 7]!;
    loadChain(l.level, d, b + L_LEVEL + SHORT);
    loadChain(l.seasonal, d, b + L_SEASONAL + SHORT);
    loadChain(l.forecast, d, b + L_FORECAST + SHORT);
    l.forecastError.count = d[b + L_ERROR]!;
    l.forecastError.mean = d[b + L_ERROR + 1]!;
    l.forecastError.variance = d[b + L_ERROR + 2]!;
    return this;
  }

  /** Writes the state back into the slot at `o` of the same block. */
  store(o: number): void {
    const d = this.#d;
    const w = this.#o;
    d[w] = this.n;
    d[w + 1] = this.level;
    d[w + 2] = this.variance;
    d[w + 3] = this.absError;
    d[w + 4] = this.upperVariance;
    d[w + 5] = this.upperAbs;
    d[w + 6] = this.fast;
    d[w + 7] = this.cusumUp;
    d[w + 8] = this.cusumDown;
    d[w + 9] = this.run;
    d[w + 10] = this.noise;
    d[w + 11] = this.counts;
    const l = this.long;
    const b = w + LONG;
    d[b] = l.n;
    d[b + 1] = l.zMean;
    d[b + 2] = l.zVariance;
    d[b + 3] = l.seasonVariance;
    d[b + 4] = l.seasonSeen;
    d[b + 5] = l.min;
    d[b + 6] = l.max;
    d[b + 7] = l.extreme;
    storeChain(l.level, d, b + L_LEVEL + SHORT);
    storeChain(l.seasonal, d, b + L_SEASONAL + SHORT);
    storeChain(l.forecast, d, b + L_FORECAST + SHORT);
    d[b + L_ERROR] = l.forecastError.count;
    d[b + L_ERROR + 1] = l.forecastError.mean;
    d[b + L_ERROR + 2] = l.forecastError.variance;
    d.copyWithin(o, w, w + SLOT_WIDTH);
  }
}

function loadChain(c: WorkingChain, d: Float64Array, o: number): void {
  c.sum = d[o]!;
  c.mean = d[o + 1]!;
  c.variance = d[o + 2]!;
}

function storeChain(c: WorkingChain, d: Float64Array, o: number): void {
  d[o] = c.sum;
  d[o + 1] = c.mean;
  d[o + 2] = c.variance;
}
