/**
 * Where each number of a key's detector state sits in its slab slot (state_slab.ts): the
 * statistical numbers in STATE_FIELDS order, then the long layer exactly as packLong writes it.
 */
import { FORECAST_LAGS, LONG_STATE_LENGTH, SEASON_BUCKETS, SHORT } from "./likelihood.ts";

/** The statistical KeyState numbers, in slot (and newKeyState) order. */
export const STATE_FIELDS = [
  "n", "level", "variance", "absError", "upperVariance", "upperAbs", "fast", "cusumUp", "cusumDown", "run", "noise", "counts",
] as const;
export type StatisticalField = (typeof STATE_FIELDS)[number];
/** Offset of the long layer in a slot. */
export const LONG = STATE_FIELDS.length;
/** float64s per slot. */
export const SLOT_WIDTH = LONG + LONG_STATE_LENGTH;
/** Slots per block: the slab grows a block (≈ 1.9 MB) at a time. */
export const BLOCK_SLOTS = 1024;

/** Long-layer offsets within its block (as packLong writes it). */
export const L_SCALARS = ["n", "zMean", "zVariance", "seasonVariance", "seasonSeen", "min", "max", "extreme"] as const;
export const L_BUCKETS = 8;
export const L_SEASON = 9;
export const SEEN_WORDS = Math.ceil(SEASON_BUCKETS / 30);
export const L_SEEN = L_SEASON + SEASON_BUCKETS;
export const CHAIN_LENGTH = SHORT + 3;
export const L_LEVEL = L_SEEN + SEEN_WORDS;
export const L_SEASONAL = L_LEVEL + CHAIN_LENGTH;
export const L_RECENT = L_SEASONAL + CHAIN_LENGTH;
export const L_ERROR = L_RECENT + FORECAST_LAGS;
export const L_FORECAST = L_ERROR + 3;
if (L_FORECAST + CHAIN_LENGTH !== LONG_STATE_LENGTH) throw new Error("slot_layout: the long layout does not match packLong");
