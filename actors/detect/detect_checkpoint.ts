/**
 * The detect actor's checkpoint: its keys' states (the state slab's blocks as they are), which
 * keys hold them, and the activity sketch; and the restore of every format written so far.
 */
import { float64Bytes, readFloat64s, readUint32s, uint32Bytes } from "../../schemas/mod.ts";
import { LONG_STATE_LENGTH, unpackLong } from "./likelihood.ts";
import { newKeyState, type KeyState } from "./detector.ts";
import { BLOCK_SLOTS, HOT_WIDTH, SLOT_WIDTH, slotOf, STATE_FIELDS, type StateSlab, type StatisticalField } from "./state_slab.ts";
import type { HeavyKeys, SketchSnapshot } from "./heavy_keys.ts";
import type { PackedModel } from "./stream_models.ts";

/**
 * Checkpoint (format 4): the state slab's blocks as they are (little-endian float64; state
 * blocks of hot slots, `fields` numbers then the long layer as packLong writes it without its
 * profile, `blockSlots` slots a block, the last one cut after the highest slot ever used; and
 * whole profile blocks, bucket by bucket: bucket b of slot i at b × (length / SEASON_BUCKETS) + i,
 * state_slab.ts), the keys' ids joined by
 * U+0000 (each is stream U+0000 key; neither contains control characters), per key its slot
 * (uint32) and its last, weight and windows (float64; format 3 wrote its rate, weight /
 * windows, instead), and the sketch. Writing it copies nothing
 * of the slab: the blocks go to the encoder as views and are saved as they are
 * (MessageCodec.encodeLargeParts), all before the next receive (ActorBehaviour.checkpoint).
 */
export interface SlabSnapshot {
  packed: 4;
  fields: readonly string[];
  long: number;
  blockSlots: number;
  blocks: Uint8Array[];
  profiles: Uint8Array[];
  ids: string;
  slots: Uint8Array;
  meta: Uint8Array;
  sketch: SketchSnapshot;
  /** The streams' forecasters (absent with the model off). */
  models?: PackedModel[];
}
/** Format 3: as format 4, but each slot whole (its profile inside it, packLong's layout) in one kind of block. */
interface WholeSlotSnapshot extends Omit<SlabSnapshot, "packed" | "profiles"> {
  packed: 3;
}
/**
 * Format 2: the ids as above, the numbers as one block of float64s per key (the KeyState
 * `fields` in that order, then `long` numbers of the long layer (likelihood.ts packLong; 0 in
 * checkpoints written before it, whose keys restart their long memory), then last, weight and
 * rate), and the sketch.
 */
interface PackedSnapshot {
  packed: 2;
  fields: string[];
  long?: number;
  ids: string;
  numbers: Uint8Array;
  sketch: SketchSnapshot;
  /** The streams' forecasters (absent with the model off, and in checkpoints from before it). */
  models?: PackedModel[];
}
/** Checkpoints written before the sketch: [id, state, last] per key. */
type PlainSnapshot = [string, KeyState, number][];
/** Any checkpoint the detect actor has written. */
export type DetectSnapshot = SlabSnapshot | WholeSlotSnapshot | PackedSnapshot | PlainSnapshot;

export function pack(keys: HeavyKeys<KeyState>, slab: StateSlab): SlabSnapshot {
  const slots = new Uint32Array(keys.size);
  const meta = new Float64Array(3 * keys.size);
  const ids: string[] = [];
  let k = 0;
  for (const e of keys.values()) {
    ids.push(e.stream, e.key);
    slots[k] = slotOf(e.value);
    meta[3 * k] = e.last;
    meta[3 * k + 1] = e.weight;
    meta[3 * k + 2] = e.windows;
    k++;
  }
  return {
    packed: 4, fields: STATE_FIELDS, long: LONG_STATE_LENGTH, blockSlots: BLOCK_SLOTS,
    blocks: slab.blocks().map(float64Bytes), profiles: slab.profiles().map(float64Bytes),
    ids: ids.join("\u0000"), slots: uint32Bytes(slots), meta: float64Bytes(meta), sketch: keys.sketch.snapshot(),
  };
}

export function restore(keys: HeavyKeys<KeyState>, slab: StateSlab, snapshot: DetectSnapshot | undefined): void {
  if (snapshot === undefined) return;
  // Each key is put in a slot before HeavyKeys decides on it: the slab's spare slot holds it
  // while, beyond capacity, it displaces the lightest key (whose slot is then released).
  // `weight` and `windows` are in the snapshot's sketch's scaled units: `rescale` makes them this sketch's.
  let rescale = (value: number, _last: number) => value;
  const admit = (stream: string, key: string, state: KeyState, last: number, weight: number, windows: number) => {
    if (!keys.restore(stream, key, state, last, rescale(weight, last), rescale(windows, last))) slab.release(state);
  };
  /** Windows from a rate (formats 2 and 3). */
  const fromRate = (weight: number, rate: number) => (rate > 0 ? weight / rate : 0);
  if (Array.isArray(snapshot)) {
    for (const [id, state, last] of snapshot) {
      const cut = id.indexOf("\u0000"); // `${stream}\u0000${key}`: a stream name has no control characters
      const stream = id.slice(0, cut);
      const key = id.slice(cut + 1);
      if (!keys.get(stream, key)) admit(stream, key, slab.adopt(state) as unknown as KeyState, last, 0, 0);
    }
    return;
  }
  // Another sketch shape (width, depth or half-life changed): the sketch starts afresh, the keys
  // are kept, their activity carried over at their last window into a sketch that starts at
  // the latest of those (so no scaled value grows).
  if (keys.sketch.fits(snapshot.sketch)) keys.sketch.restore(snapshot.sketch);
  else rescale = carryOver(keys, snapshot);
  const parts = snapshot.ids === "" ? [] : snapshot.ids.split("\u0000");
  if (snapshot.packed === 4 || snapshot.packed === 3) {
    const same = snapshot.long === LONG_STATE_LENGTH && snapshot.fields.length === STATE_FIELDS.length && snapshot.fields.every((f, i) => f === STATE_FIELDS[i]);
    if (!same) throw new RangeError(`detect checkpoint: slot layout ${snapshot.fields.length} + ${snapshot.long} numbers, this version's is ${STATE_FIELDS.length} + ${LONG_STATE_LENGTH}`);
    const blocks = snapshot.blocks.map(readFloat64s);
    const profiles = snapshot.packed === 4 ? snapshot.profiles.map(readFloat64s) : undefined;
    const slots = readUint32s(snapshot.slots);
    const meta = readFloat64s(snapshot.meta);
    for (let k = 0; k < slots.length; k++) {
      const slot = slots[k]!;
      const b = Math.floor(slot / snapshot.blockSlots);
      const i = slot % snapshot.blockSlots;
      const state = profiles === undefined
        ? slab.adoptSlot(blocks[b]!, i * SLOT_WIDTH)
        : slab.adoptParts(blocks[b]!, i * HOT_WIDTH, profiles[b]!, i);
      const weight = meta[3 * k + 1]!;
      const windows = snapshot.packed === 4 ? meta[3 * k + 2]! : fromRate(weight, meta[3 * k + 2]!);
      admit(parts[2 * k]!, parts[2 * k + 1]!, state as unknown as KeyState, meta[3 * k]!, weight, windows);
    }
    return;
  }
  const numbers = readFloat64s(snapshot.numbers);
  const long = snapshot.long ?? 0;
  const width = snapshot.fields.length + long + 3;
  for (let k = 0, o = 0; k < numbers.length / width; k++, o += width) {
    const state = newKeyState();
    snapshot.fields.forEach((f, i) => {
      if (f in state && f !== "long") state[f as StatisticalField] = numbers[o + i]!;
    });
    // (Its own length: blocks from before the forecast chain are shorter.)
    if (long > 0) state.long = unpackLong(numbers, o + snapshot.fields.length, long);
    const weight = numbers[o + width - 2]!;
    admit(parts[2 * k]!, parts[2 * k + 1]!, slab.adopt(state) as unknown as KeyState, numbers[o + width - 3]!, weight, fromRate(weight, numbers[o + width - 1]!));
  }
}

/** The latest last window of any key in a snapshot (formats 2 to 4). */
function latestLast(snapshot: SlabSnapshot | WholeSlotSnapshot | PackedSnapshot): number {
  let latest = -Infinity;
  if (snapshot.packed === 2) {
    const numbers = readFloat64s(snapshot.numbers);
    const width = snapshot.fields.length + (snapshot.long ?? 0) + 3;
    for (let o = width - 3; o < numbers.length; o += width) latest = Math.max(latest, numbers[o]!);
  } else {
    const meta = readFloat64s(snapshot.meta);
    for (let o = 0; o < meta.length; o += 3) latest = Math.max(latest, meta[o]!);
  }
  return latest;
}

/**
 * For a snapshot whose sketch this one cannot take: starts this sketch at the snapshot's latest
 * last window and returns how to carry a key's scaled value over: its decayed value at its last
 * window (under the snapshot's half-life), scaled to this sketch from there.
 */
function carryOver(keys: HeavyKeys<KeyState>, snapshot: SlabSnapshot | WholeSlotSnapshot | PackedSnapshot): (value: number, last: number) => number {
  const old = snapshot.sketch;
  const origin = old?.origin;
  const latest = latestLast(snapshot);
  if (typeof origin !== "number" || !Number.isFinite(origin) || !(old.halfLifeMs > 0) || !Number.isFinite(latest)) return () => 0;
  keys.sketch.startAt(latest);
  const halfLife = keys.sketch.halfLifeMs;
  return (value, last) => value * 2 ** (-(last - origin) / old.halfLifeMs - (latest - last) / halfLife);
}
