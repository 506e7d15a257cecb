/**
 * The state the detector works on for a key kept in the slab (state_slab.ts): its numbers as
 * plain fields (no accessor calls in the detector's inner loops), its profile and rings as
 * typed subarrays of the block's working slot. `load` copies in what one window can touch: the
 * scalars, the rings and seen-bits (the slot's last 41 numbers) and the one profile bucket of
 * the window's time; `store` copies them back. The other 167 buckets stay in the key's slot
 * (a window reads one), so a window moves about 10 cache lines of the slot, not all 29.
 */
import type { KeyState } from "./baseline.ts";
import type { ForecastErrorState } from "./forecast_error.ts";
import { FORECAST_LAGS, SEASON_BUCKETS, SHORT, type Chain, type LongState } from "./likelihood.ts";
import { L_ERROR, L_FORECAST, L_LEVEL, L_RECENT, L_SEASON, L_SEASONAL, L_SEEN, LONG, SEEN_WORDS, SLOT_WIDTH } from "./slot_layout.ts";

/** Where the part of a slot that load and store copy whole begins: the seen-bits, then the rings and chains. */
const TAIL = LONG + L_SEEN;
if (L_SEASON + SEASON_BUCKETS !== L_SEEN) throw new Error("working_state: the profile is not right before the tail");

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
  /** The profile bucket `load` brought in (−1: none). */
  #bucket = -1;

  /** Over the working slot at `d[o]`. */
  constructor(d: Float64Array, o: number) {
    this.#d = d;
    this.#o = o;
    this.long = new WorkingLong(d, o + LONG);
  }

  /**
   * Becomes the state in the slot at `o` of the same block, for a window in profile bucket
   * `bucket` (seasonBucket of its time; −1 for a window with no time): other buckets are not
   * loaded, so the detector must be given that window's time.
   */
  load(o: number, bucket: number): this {
    const d = this.#d;
    const w = this.#o;
    d.copyWithin(w + TAIL, o + TAIL, o + SLOT_WIDTH);
    this.#bucket = bucket;
    if (bucket >= 0) d[w + LONG + L_SEASON + bucket] = d[o + LONG + L_SEASON + bucket]!;
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

  /** Writes the state back into the slot at `o` of the same block (after `load(o, …)`). */
  store(o: number): void {
    const d = this.#d;
    const w = this.#o;
    d[o] = this.n;
    d[o + 1] = this.level;
    d[o + 2] = this.variance;
    d[o + 3] = this.absError;
    d[o + 4] = this.upperVariance;
    d[o + 5] = this.upperAbs;
    d[o + 6] = this.fast;
    d[o + 7] = this.cusumUp;
    d[o + 8] = this.cusumDown;
    d[o + 9] = this.run;
    d[o + 10] = this.noise;
    d[o + 11] = this.counts;
    const l = this.long;
    const b = o + LONG;
    d[b] = l.n;
    d[b + 1] = l.zMean;
    d[b + 2] = l.zVariance;
    d[b + 3] = l.seasonVariance;
    d[b + 4] = l.seasonSeen;
    d[b + 5] = l.min;
    d[b + 6] = l.max;
    d[b + 7] = l.extreme;
    const wb = w + LONG;
    storeChain(l.level, d, wb + L_LEVEL + SHORT);
    storeChain(l.seasonal, d, wb + L_SEASONAL + SHORT);
    storeChain(l.forecast, d, wb + L_FORECAST + SHORT);
    d[wb + L_ERROR] = l.forecastError.count;
    d[wb + L_ERROR + 1] = l.forecastError.mean;
    d[wb + L_ERROR + 2] = l.forecastError.variance;
    // A seen-bit that went from set to clear: the long layer was reset (resetLongState), which
    // zeroes the whole profile, not only the bucket this window holds.
    let cleared = 0;
    for (let i = 0; i < SEEN_WORDS; i++) cleared |= d[b + L_SEEN + i]! & ~d[wb + L_SEEN + i]!;
    if (cleared !== 0) d.fill(0, b + L_SEASON, b + L_SEASON + SEASON_BUCKETS);
    d.copyWithin(o + TAIL, w + TAIL, w + SLOT_WIDTH);
    if (this.#bucket >= 0) d[b + L_SEASON + this.#bucket] = d[wb + L_SEASON + this.#bucket]!;
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
