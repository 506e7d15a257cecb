/**
 * The long-memory layer of the detector: "how unusual is this key's recent behaviour, judged by
 * its own history of being unusual?" It is what makes a key's alarms rare on series whose raw
 * deviations are routinely large (real-valued, structured series), and it is what NAB rewards.
 *
 * Two predictions per key, each turned into a deviate z of the new value:
 *  - "moving-z": an exponentially weighted mean and variance of the values (memory Z_MEMORY
 *    windows): a plain moving z-score;
 *  - "seasonal": the key's hour-of-week profile (SEASON_BUCKETS buckets, each an EWMA of the
 *    values seen in it) and the EW spread of the values around it, for daily and weekly cycles.
 * Each deviate becomes a raw score min(1, |z|/RAW_CAP), and each raw score goes through an
 * anomaly-likelihood chain (Ahmad et al. 2017, with running estimates instead of a stored
 * history): its mean over the last SHORT windows is compared with a normal fitted to the
 * history of those means (EW, memory LONG windows, floors on mean and variance); the tail
 * probability of that is the chain's p, and its surprise −log10 p the chain's vote.
 * "out-of-range": a value beyond the key's running min/max by more than OUT_OF_RANGE of the range
 * seen so far, which the statistical point test also finds unlikely, is an alarm by itself.
 * "forecast" (when the stream has a model, forecaster.ts): the key's last FORECAST_LAGS values,
 * standardised by the moving-z mean and spread, go through the stream's TensorFlow.js MLP; the
 * prediction error's z against the key's own recent errors (forecast_error.ts) is a third chain.
 *
 * Everything here is O(1) per window: 38 numbers plus the 168-number profile per key.
 * The constants were chosen by hand on all 24 of NAB's DEV files (`npm run bench -- nab`), so the
 * bench's half-split figure measures how well a threshold transfers, not these choices.
 */
import { logNormalUpper } from "./detector_stats.ts";
import {
  forecastErrorSpread, newForecastErrorState, observeForecastError, type ForecastErrorState,
} from "./forecast_error.ts";

/** Windows averaged before the likelihood is taken. */
export const SHORT = 5;
/** Memory of the normal fitted to the short averages, in windows. */
const LONG = 2000;
/** Windows a key must have seen before the likelihood speaks (its history must mean something). */
export const LEARN = 100;
const MEAN_FLOOR = 0.03;
const VARIANCE_FLOOR = 0.0003;
/** |z| at which a chain's raw score saturates at 1. */
const RAW_CAP = 6;
/** Memory of the moving z-score's mean and variance, in windows. */
const Z_MEMORY = 100;
/** Hour-of-week buckets of the seasonal profile, and the profile's learning rate per visit. */
export const SEASON_BUCKETS = 168;
const SEASON_MS = 7 * 24 * 3_600_000;
const SEASON_RATE = 0.2;
/** Memory of the spread around the seasonal profile, in windows. */
const SEASON_SPREAD_MEMORY = 200;
/** Out of range: beyond min/max by more than this share of the range seen, after OUT_OF_RANGE_SEEN windows. */
const OUT_OF_RANGE = 0.03;
const OUT_OF_RANGE_SEEN = 20;
/**
 * ...and only when the window's own statistical test finds it unlikely too (surprise ≥ 4, p ≤ 1e-4):
 * in stationary noise a new record is common early on (probability 1/n), and it must not alarm.
 * (At p ≤ 1e-3 out-of-range gave 0.35 of Gaussian noise's 0.49 false alarms per 1000 rows; at
 * 1e-4, 0.06 of 0.20, and NAB's scores rose by 0.1–0.25.)
 */
const OUT_OF_RANGE_POINT = 4;
/** The surprise out-of-range counts as (p = 1e-10). */
export const OUT_OF_RANGE_SURPRISE = 10;
/** Values a forecast is made from: the model's input width (a stream's model must match). */
export const FORECAST_LAGS = 8;
/** Standardised values are clipped here before the model sees them (a flat key's spread is ~0). */
const FORECAST_CLIP = 8;

/**
 * A stream's forecaster as the long layer uses it (forecaster.ts OnlineForecaster): predicts a
 * row's standardised target, then learns it. Shared by the keys of a stream.
 */
export interface ForecastModel {
  readonly lags: number;
  step(row: ArrayLike<number>, target: number): number;
}

/** One anomaly-likelihood chain: the last SHORT raw scores and the running normal of their mean. */
export interface Chain {
  /** Raw scores, a ring of SHORT. */
  ring: number[] | Float64Array;
  sum: number;
  mean: number;
  variance: number;
}

export interface LongState {
  /** Windows seen by this layer. */
  n: number;
  /** Moving z-score: EW mean and variance of values. */
  zMean: number;
  zVariance: number;
  /** Hour-of-week profile, and which buckets have been seen (bit b%30 of seasonSeenBits[b/30]). */
  season: number[] | Float64Array;
  seasonSeenBits: number[] | Float64Array;
  seasonVariance: number;
  seasonSeen: number;
  /** Running extremes of the values. */
  min: number;
  max: number;
  level: Chain;
  seasonal: Chain;
  /** 1 while the previous window's chains were in the extreme zone (its later windows are damped). */
  extreme: number;
  /** The last FORECAST_LAGS values, a ring (value i at slot i % FORECAST_LAGS): the forecast's inputs. */
  recent: number[] | Float64Array;
  /** The forecast's errors so far (forecast_error.ts), in standardised units. */
  forecastError: ForecastErrorState;
  forecast: Chain;
}

function newChain(): Chain {
  return { ring: new Array<number>(SHORT).fill(0), sum: 0, mean: 0, variance: 0 };
}

export function newLongState(): LongState {
  return {
    n: 0, zMean: 0, zVariance: 0, season: new Array<number>(SEASON_BUCKETS).fill(0),
    seasonSeenBits: new Array<number>(Math.ceil(SEASON_BUCKETS / 30)).fill(0), seasonVariance: 0, seasonSeen: 0,
    min: Infinity, max: -Infinity, level: newChain(), seasonal: newChain(), extreme: 0,
    recent: new Array<number>(FORECAST_LAGS).fill(0), forecastError: newForecastErrorState(), forecast: newChain(),
  };
}

/** `s` made new again in place, keeping its arrays. */
export function resetLongState(s: LongState): LongState {
  s.season.fill(0);
  s.seasonSeenBits.fill(0);
  for (const chain of [s.level, s.seasonal, s.forecast]) {
    chain.ring.fill(0);
    chain.sum = chain.mean = chain.variance = 0;
  }
  s.recent.fill(0);
  // In place: a slab state's parts are views over its slot (state_slab.ts).
  const fresh = newForecastErrorState();
  s.forecastError.count = fresh.count;
  s.forecastError.mean = fresh.mean;
  s.forecastError.variance = fresh.variance;
  s.n = s.zMean = s.zVariance = s.seasonVariance = s.seasonSeen = s.extreme = 0;
  s.min = Infinity;
  s.max = -Infinity;
  return s;
}

export type LongDetector = "moving-z" | "seasonal" | "forecast" | "out-of-range";

/** What the long layer found for one window (before the extreme-run rule). */
export interface LongVote {
  /** −log10 p of the strongest chain (0 while learning). */
  surprise: number;
  detector: LongDetector;
  /** That chain's prediction and spread of the value, and the value's deviate. */
  expected: number;
  spread: number;
  z: number;
  /** That chain's short mean of raw scores, and the mean ± sd it was judged against. */
  recent: number;
  usual: number;
  usualSpread: number;
}

/** A chain's usual short mean of raw scores, and its spread. */
const chainUsual = (chain: Chain) => Math.max(chain.mean, MEAN_FLOOR);
const chainSpread = (chain: Chain) => Math.sqrt(Math.max(chain.variance, VARIANCE_FLOOR));

/** −log10 of the two-sided-by-reflection normal tail of m (Numenta's tailProbability). */
function chainSurprise(chain: Chain, m: number): number {
  const usual = chainUsual(chain);
  const reflected = m < usual ? 2 * usual - m : m;
  return -logNormalUpper((reflected - usual) / chainSpread(chain)) / Math.LN10;
}

/** Puts raw into the ring; returns the new short mean. */
function pushRaw(chain: Chain, raw: number, n: number): number {
  const slot = n % SHORT;
  chain.sum += raw - chain.ring[slot]!;
  chain.ring[slot] = raw;
  return chain.sum / Math.min(n + 1, SHORT);
}

function learnChain(chain: Chain, m: number, rate: number): void {
  const d = m - chain.mean;
  chain.mean += rate * d;
  chain.variance = (1 - rate) * (chain.variance + rate * d * d);
}

const rawScore = (z: number) => Math.min(1, Math.abs(z) / RAW_CAP);
/** Errors are clipped here before they are squared, so even ±1e200 values keep every statistic finite. */
const MAX_ERROR = 1e150;
const clip = (d: number) => Math.max(-MAX_ERROR, Math.min(MAX_ERROR, d));

/** The last time seasonBucket was asked about, and its bucket: a batch's windows mostly share their time, and a float modulo is a call. */
let lastBucketTs = NaN;
let lastBucket = 0;

/** The hour-of-week profile bucket of time `ts` (epoch ms). */
export function seasonBucket(ts: number): number {
  if (ts !== lastBucketTs) {
    const phase = ((ts % SEASON_MS) + SEASON_MS) % SEASON_MS;
    lastBucket = Math.floor((phase / SEASON_MS) * SEASON_BUCKETS);
    lastBucketTs = ts;
  }
  return lastBucket;
}

/** The forecast's input row (one key at a time, so one buffer). */
const forecastRow = new Float64Array(FORECAST_LAGS);
const standardise = (x: number, mean: number, spread: number) => Math.max(-FORECAST_CLIP, Math.min(FORECAST_CLIP, (x - mean) / spread));

/**
 * voteLong's result, filled in afresh each call (most windows make no signal, and an object a
 * window was a third of the detector's garbage): valid until the next call. `damped` is for
 * the detector to fill in (detector.ts judgeLong).
 */
const vote: LongVote & { damped: boolean } = {
  surprise: 0, detector: "moving-z", expected: 0, spread: 0, z: 0, recent: 0, usual: 0, usualSpread: 0, damped: false,
};

function setVote(
  surprise: number, detector: LongDetector, expected: number, spread: number, z: number, recent: number, usual: number, usualSpread: number,
): void {
  vote.surprise = surprise;
  vote.detector = detector;
  vote.expected = expected;
  vote.spread = spread;
  vote.z = z;
  vote.recent = recent;
  vote.usual = usual;
  vote.usualSpread = usualSpread;
  vote.damped = false;
}

/**
 * Scores value x at time ts (epoch ms; undefined for a window with no time, e.g. a gap, which
 * skips the seasonal profile), then learns it. `pointSurprise` is the statistical point test's
 * surprise for the same window (gates out-of-range); `model` is the stream's forecaster, if it
 * has one (it learns the window too). Mutates `s`. The vote returned is reused by the next call.
 */
export function voteLong(s: LongState, x: number, ts: number | undefined, pointSurprise = Infinity, model?: ForecastModel): LongVote & { damped: boolean } {
  const n = s.n;
  // Moving z-score (before learning x).
  const zSpread = Math.sqrt(Math.max(s.zVariance, 1e-24));
  const z = n > 1 ? (x - s.zMean) / zSpread : 0;
  const zExpected = s.zMean;
  // Forecast, from the last FORECAST_LAGS values standardised like x (oldest first).
  let fz = 0;
  let fExpected = NaN;
  let fSpread = 0;
  if (model !== undefined && n >= FORECAST_LAGS) {
    for (let i = 0; i < FORECAST_LAGS; i++) forecastRow[i] = standardise(s.recent[(n + i) % FORECAST_LAGS]!, zExpected, zSpread);
    const target = standardise(x, zExpected, zSpread);
    const predicted = model.step(forecastRow, target);
    const errors = s.forecastError;
    fExpected = zExpected + (predicted + errors.mean) * zSpread;
    fSpread = forecastErrorSpread(errors) * zSpread;
    fz = observeForecastError(errors, target - predicted);
  }
  s.recent[n % FORECAST_LAGS] = x;
  {
    const rate = Math.max(1 / Z_MEMORY, 1 / (n + 1));
    const d = clip(x - s.zMean);
    s.zMean += rate * d;
    s.zVariance = (1 - rate) * (s.zVariance + rate * d * d);
  }
  // Seasonal profile.
  let zs = 0;
  let sExpected = NaN;
  const sSpread = Math.sqrt(Math.max(s.seasonVariance, 1e-24));
  if (ts !== undefined) {
    const b = seasonBucket(ts);
    const prior = s.season[b]!;
    const bit = 1 << (b % 30);
    if ((s.seasonSeenBits[(b / 30) | 0]! & bit) === 0) {
      s.seasonSeenBits[(b / 30) | 0]! |= bit;
      s.season[b] = x;
    } else {
      sExpected = prior;
      if (s.seasonSeen > 1) zs = (x - prior) / sSpread;
      s.seasonSeen++;
      const rate = Math.max(1 / SEASON_SPREAD_MEMORY, 1 / s.seasonSeen);
      const d = clip(x - prior);
      s.seasonVariance = (1 - rate) * (s.seasonVariance + rate * d * d);
      s.season[b] = prior + SEASON_RATE * d;
    }
  }
  const mLevel = pushRaw(s.level, rawScore(z), n);
  const mSeason = pushRaw(s.seasonal, rawScore(zs), n);
  const forecasts = s.forecastError.count; // this window's included
  const mForecast = Number.isNaN(fExpected) ? 0 : pushRaw(s.forecast, rawScore(fz), forecasts - 1);

  setVote(0, "moving-z", zExpected, zSpread, z, mLevel, 0, 0);
  if (n >= LEARN) {
    vote.surprise = chainSurprise(s.level, mLevel);
    vote.usual = chainUsual(s.level);
    vote.usualSpread = chainSpread(s.level);
    // A chain without a prediction this window cannot win: its surprise is not worked out.
    const season = Number.isNaN(sExpected) ? 0 : chainSurprise(s.seasonal, mSeason);
    if (season > vote.surprise) setVote(season, "seasonal", sExpected, sSpread, zs, mSeason, chainUsual(s.seasonal), chainSpread(s.seasonal));
    const forecast = Number.isNaN(fExpected) || forecasts <= LEARN ? 0 : chainSurprise(s.forecast, mForecast);
    if (forecast > vote.surprise) setVote(forecast, "forecast", fExpected, fSpread, fz, mForecast, chainUsual(s.forecast), chainSpread(s.forecast));
  }
  const rate = Math.max(1 / LONG, 1 / (n + 1));
  learnChain(s.level, mLevel, rate);
  learnChain(s.seasonal, mSeason, rate);
  // The forecast chain counts its own windows: a key's model may start later than its history
  // (a checkpoint from before the model, or the model switched on), and must learn from scratch.
  if (!Number.isNaN(fExpected)) learnChain(s.forecast, mForecast, Math.max(1 / LONG, 1 / forecasts));

  const range = s.max - s.min;
  if (n >= OUT_OF_RANGE_SEEN && pointSurprise >= OUT_OF_RANGE_POINT && (x > s.max + OUT_OF_RANGE * range || x < s.min - OUT_OF_RANGE * range)) {
    if (OUT_OF_RANGE_SURPRISE > vote.surprise) setVote(OUT_OF_RANGE_SURPRISE, "out-of-range", x > s.max ? s.max : s.min, OUT_OF_RANGE * range, z, 0, s.min, s.max);
  }
  if (x > s.max) s.max = x;
  if (x < s.min) s.min = x;
  s.n = n + 1;
  return vote;
}

const CHAIN_LENGTH = SHORT + 3;
const SEEN_WORDS = Math.ceil(SEASON_BUCKETS / 30);
/** Numbers in a packed LongState before the forecast chain (checkpoints still restore, the forecast starts afresh). */
const LONG_STATE_LENGTH_V1 = 9 + SEASON_BUCKETS + SEEN_WORDS + 2 * CHAIN_LENGTH;
/** Numbers in a packed LongState (packLong / unpackLong), for checkpoints as one float64 block. */
export const LONG_STATE_LENGTH = LONG_STATE_LENGTH_V1 + FORECAST_LAGS + 3 + CHAIN_LENGTH;

function packChain(c: Chain, out: Float64Array, o: number): number {
  for (let i = 0; i < SHORT; i++) out[o++] = c.ring[i]!;
  out[o++] = c.sum;
  out[o++] = c.mean;
  out[o++] = c.variance;
  return o;
}

function unpackChain(numbers: Float64Array, o: number): Chain {
  return { ring: Array.from(numbers.subarray(o, o + SHORT)), sum: numbers[o + SHORT]!, mean: numbers[o + SHORT + 1]!, variance: numbers[o + SHORT + 2]! };
}

/** Writes `s` as LONG_STATE_LENGTH numbers at `out[o]`; returns the next offset. */
export function packLong(s: LongState, out: Float64Array, o: number): number {
  out[o++] = s.n;
  out[o++] = s.zMean;
  out[o++] = s.zVariance;
  out[o++] = s.seasonVariance;
  out[o++] = s.seasonSeen;
  out[o++] = s.min;
  out[o++] = s.max;
  out[o++] = s.extreme;
  out[o++] = SEASON_BUCKETS;
  for (let i = 0; i < SEASON_BUCKETS; i++) out[o++] = s.season[i]!;
  for (let i = 0; i < SEEN_WORDS; i++) out[o++] = s.seasonSeenBits[i]!;
  o = packChain(s.level, out, o);
  o = packChain(s.seasonal, out, o);
  for (let i = 0; i < FORECAST_LAGS; i++) out[o++] = s.recent[i]!;
  out[o++] = s.forecastError.count;
  out[o++] = s.forecastError.mean;
  out[o++] = s.forecastError.variance;
  return packChain(s.forecast, out, o);
}

/**
 * Reads a LongState written by packLong at `numbers[o]`, `length` numbers long: LONG_STATE_LENGTH,
 * or the shorter block of checkpoints written before the forecast chain (whose forecast starts afresh).
 */
export function unpackLong(numbers: Float64Array, o: number, length = LONG_STATE_LENGTH): LongState {
  if (length !== LONG_STATE_LENGTH && length !== LONG_STATE_LENGTH_V1) throw new RangeError(`packed long state has ${length} numbers, expected ${LONG_STATE_LENGTH} or ${LONG_STATE_LENGTH_V1}`);
  if (numbers[o + 8] !== SEASON_BUCKETS) throw new RangeError(`packed long state has ${numbers[o + 8]} season buckets, expected ${SEASON_BUCKETS}`);
  const season = o + 9;
  const seen = season + SEASON_BUCKETS;
  const chains = seen + SEEN_WORDS;
  const forecast = chains + 2 * CHAIN_LENGTH;
  const withForecast = length === LONG_STATE_LENGTH;
  return {
    n: numbers[o]!, zMean: numbers[o + 1]!, zVariance: numbers[o + 2]!, seasonVariance: numbers[o + 3]!, seasonSeen: numbers[o + 4]!,
    min: numbers[o + 5]!, max: numbers[o + 6]!, extreme: numbers[o + 7]!,
    season: Array.from(numbers.subarray(season, seen)), seasonSeenBits: Array.from(numbers.subarray(seen, chains)),
    level: unpackChain(numbers, chains), seasonal: unpackChain(numbers, chains + CHAIN_LENGTH),
    recent: withForecast ? Array.from(numbers.subarray(forecast, forecast + FORECAST_LAGS)) : new Array<number>(FORECAST_LAGS).fill(0),
    forecastError: withForecast
      ? { count: numbers[forecast + FORECAST_LAGS]!, mean: numbers[forecast + FORECAST_LAGS + 1]!, variance: numbers[forecast + FORECAST_LAGS + 2]! }
      : newForecastErrorState(),
    forecast: withForecast ? unpackChain(numbers, forecast + FORECAST_LAGS + 3) : newChain(),
  };
}
