/**
 * The state the detector works on for a key kept in the slab (state_slab.ts): its numbers as
 * plain fields (no accessor calls in the detector's inner loops), its profile and rings as
 * typed subarrays of the block's working slot. `load` copies in what one window can touch: the
 * key's hot slot (scalars, seen-bits, rings: 62 numbers, 8 cache lines next to the keys before
 * and after it) and the one profile bucket of the window's time, from the block's profiles
 * (stored bucket by bucket, so next to the key before's same bucket); `store` copies them back.
 * The other 167 buckets stay in the profile block (a window reads one).
 */
import type { KeyState } from "./baseline.ts";
import type { ForecastErrorState } from "./forecast_error.ts";
import { FORECAST_LAGS, SEASON_BUCKETS, SHORT, type Chain, type LongState } from "./likelihood.ts";
import { H_ERROR, H_FORECAST, H_LEVEL, H_RECENT, H_SEASONAL, H_SEEN, HOT_WIDTH, LONG, SEEN_WORDS } from "./slot_layout.ts";

/** Where the part of a hot slot that load and store copy whole begins: the seen-bits, then the rings and chains. */
const TAIL = LONG + H_SEEN;

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
  /** Over the long layer at `d[o]` of a hot slot, with its own profile array. */
  constructor(d: Float64Array, o: number) {
    this.season = new Float64Array(SEASON_BUCKETS);
    this.seasonSeenBits = d.subarray(o + H_SEEN, o + H_SEEN + SEEN_WORDS);
    this.recent = d.subarray(o + H_RECENT, o + H_RECENT + FORECAST_LAGS);
    this.level = new WorkingChain(d.subarray(o + H_LEVEL, o + H_LEVEL + SHORT));
    this.seasonal = new WorkingChain(d.subarray(o + H_SEASONAL, o + H_SEASONAL + SHORT));
    this.forecast = new WorkingChain(d.subarray(o + H_FORECAST, o + H_FORECAST + SHORT));
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
  /** The block's profiles, bucket by bucket (bucket b of slot i at b × slots + i). */
  readonly #profiles: Float64Array;
  readonly #slots: number;
  /** The working slot's offset in the state block. */
  readonly #o: number;
  /** The profile bucket `load` brought in (−1: none). */
  #bucket = -1;

  /** Over the working slot at `d[o]` of a state block, whose slots' profiles are `profiles`. */
  constructor(d: Float64Array, o: number, profiles: Float64Array) {
    this.#d = d;
    this.#o = o;
    this.#profiles = profiles;
    this.#slots = profiles.length / SEASON_BUCKETS;
    this.long = new WorkingLong(d, o + LONG);
  }

  /**
   * Becomes the state in slot `i` of the same blocks, for a window in profile bucket `bucket`
   * (seasonBucket of its time; −1 for a window with no time): other buckets are not loaded, so
   * the detector must be given that window's time.
   */
  load(i: number, bucket: number): this {
    const d = this.#d;
    const o = i * HOT_WIDTH;
    d.copyWithin(this.#o + TAIL, o + TAIL, o + HOT_WIDTH);
    this.#bucket = bucket;
    if (bucket >= 0) this.long.season[bucket] = this.#profiles[bucket * this.#slots + i]!;
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
    loadChain(l.level, d, b + H_LEVEL + SHORT);
    loadChain(l.seasonal, d, b + H_SEASONAL + SHORT);
    loadChain(l.forecast, d, b + H_FORECAST + SHORT);
    l.forecastError.count = d[b + H_ERROR]!;
    l.forecastError.mean = d[b + H_ERROR + 1]!;
    l.forecastError.variance = d[b + H_ERROR + 2]!;
    return this;
  }

  /** Writes the state back into slot `i` of the same blocks (after `load(i, …)`). */
  store(i: number): void {
    const d = this.#d;
    const o = i * HOT_WIDTH;
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
    storeChain(l.level, d, wb + H_LEVEL + SHORT);
    storeChain(l.seasonal, d, wb + H_SEASONAL + SHORT);
    storeChain(l.forecast, d, wb + H_FORECAST + SHORT);
    d[wb + H_ERROR] = l.forecastError.count;
    d[wb + H_ERROR + 1] = l.forecastError.mean;
    d[wb + H_ERROR + 2] = l.forecastError.variance;
    // A seen-bit that went from set to clear: the long layer was reset (resetLongState), which
    // zeroes the whole profile, not only the bucket this window holds.
    let cleared = 0;
    for (let k = 0; k < SEEN_WORDS; k++) cleared |= d[b + H_SEEN + k]! & ~d[wb + H_SEEN + k]!;
    const profiles = this.#profiles;
    const slots = this.#slots;
    if (cleared !== 0) for (let k = 0; k < SEASON_BUCKETS; k++) profiles[k * slots + i] = 0;
    d.copyWithin(o + TAIL, w + TAIL, w + HOT_WIDTH);
    if (this.#bucket >= 0) profiles[this.#bucket * slots + i] = this.long.season[this.#bucket]!;
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
