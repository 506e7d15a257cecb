/**
 * Where each number of a key's detector state sits in its slab slot (state_slab.ts): the
 * statistical numbers in STATE_FIELDS order, then the long layer exactly as packLong writes it
 * (SLOT_WIDTH numbers, the L_ offsets). The slab keeps a slot in two parts: its hour-of-week
 * profile (SEASON_BUCKETS numbers, of which a window reads one) in a profile block, and every
 * other number (HOT_WIDTH, each read or written by every window) in a state block, the H_
 * offsets, so consecutive keys' hot numbers are consecutive in memory.
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
/**
 * Slots per block: the slab grows a block (≈ 7.5 MB, both parts) at a time. A full state block
 * is 2 MB: at 1 MiB or more the checkpoint encoder writes a binary as it is, without copying it
 * through its buffer (runtime/codec large_binaries.ts).
 */
export const BLOCK_SLOTS = 4096;

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

/** Numbers of a slot in its state block: all but the profile. */
export const HOT_WIDTH = SLOT_WIDTH - SEASON_BUCKETS;
/** Long-layer offsets within a hot slot: those before the profile as in the full slot, those after it moved up. */
export const H_SEEN = L_SEASON;
export const H_LEVEL = L_LEVEL - SEASON_BUCKETS;
export const H_SEASONAL = L_SEASONAL - SEASON_BUCKETS;
export const H_RECENT = L_RECENT - SEASON_BUCKETS;
export const H_ERROR = L_ERROR - SEASON_BUCKETS;
export const H_FORECAST = L_FORECAST - SEASON_BUCKETS;
if (LONG + H_FORECAST + CHAIN_LENGTH !== HOT_WIDTH) throw new Error("slot_layout: the hot layout does not add up");

/** Copies a full slot at `full[fo]` into its hot part at `hot[ho]` and its profile at `profile[po]`. */
export function splitSlot(full: Float64Array, fo: number, hot: Float64Array, ho: number, profile: Float64Array, po: number): void {
  hot.set(full.subarray(fo, fo + LONG + L_SEASON), ho);
  hot.set(full.subarray(fo + LONG + L_SEEN, fo + SLOT_WIDTH), ho + LONG + H_SEEN);
  profile.set(full.subarray(fo + LONG + L_SEASON, fo + LONG + L_SEEN), po);
}

/** The full slot (SLOT_WIDTH numbers, packLong's layout after the statistical ones) of a hot part and its profile. */
export function joinSlot(hot: Float64Array, ho: number, profile: Float64Array, po: number): Float64Array {
  const full = new Float64Array(SLOT_WIDTH);
  full.set(hot.subarray(ho, ho + LONG + L_SEASON), 0);
  full.set(profile.subarray(po, po + SEASON_BUCKETS), LONG + L_SEASON);
  full.set(hot.subarray(ho + LONG + H_SEEN, ho + HOT_WIDTH), LONG + L_SEEN);
  return full;
}
