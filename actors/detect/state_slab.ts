/**
 * Detector state for many keys in preallocated float64 blocks instead of one object graph per
 * key: a key's state as plain objects (newKeyState) costs about 2.5 KB of V8 heap (boxed
 * numbers, a 168-number array, a dozen small objects), and 100 000 of them keep the heap large
 * and its collections slow. Here a key has a slot of SLOT_WIDTH float64s (the numbers, bit for
 * bit what the plain state would hold), kept in two parts (slot_layout.ts): its hot numbers in
 * a state block and its hour-of-week profile in a profile block, bucket by bucket (bucket b of
 * the block's slot i at b × slots + i), so a window's work touches 8 cache lines beside the
 * previous key's and one profile number beside the previous key's bucket of the same hour,
 * rather than three regions of a 1.8 KB slot (about 3× faster in key order, as the aggregate
 * emits windows); and a small handle (SlotState: accessors).
 * The detector works on a block's working state (working_state.ts), into which `load` copies a
 * key's slot and from which `store` copies it back: the maths (baseline.ts, likelihood.ts,
 * detector.ts) reads and writes it exactly as a plain state, same fields, same float64 values,
 * so scores are identical whichever form a key's state takes.
 *
 * Slot layout: the statistical numbers in STATE_FIELDS order, then the long layer as packLong
 * writes it (LONG_STATE_LENGTH numbers), the profile cut out into the profile block. Both
 * blocks are written to a checkpoint as they are (detect_checkpoint.ts, format 4).
 *
 * Handles compare (uvu's deep equality walks enumerable keys) and serialise (toJSON) as the plain
 * state they stand for: their numbers are enumerable accessors, their bookkeeping symbol-keyed.
 */
import { resetKeyState, type KeyState } from "./baseline.ts";
import type { ForecastErrorState } from "./forecast_error.ts";
import { FORECAST_LAGS, packLong, SEASON_BUCKETS, seasonBucket, SHORT, unpackLong, type Chain, type LongState } from "./likelihood.ts";
import {
  BLOCK_SLOTS, H_ERROR, H_FORECAST, H_LEVEL, H_RECENT, H_SEASONAL, H_SEEN, HOT_WIDTH, joinSlot, L_BUCKETS, L_SCALARS, LONG, SEEN_WORDS,
  SLOT_WIDTH, splitSlot, STATE_FIELDS,
} from "./slot_layout.ts";
import { WorkingState } from "./working_state.ts";

export { BLOCK_SLOTS, HOT_WIDTH, joinSlot, SLOT_WIDTH, STATE_FIELDS, type StatisticalField } from "./slot_layout.ts";


/** Slot i's profile in a bucket-major block, gathered into a SEASON_BUCKETS array. */
export function readProfile(block: Float64Array, i: number): Float64Array {
  const stride = block.length / SEASON_BUCKETS;
  const out = new Float64Array(SEASON_BUCKETS);
  for (let b = 0; b < SEASON_BUCKETS; b++) out[b] = block[b * stride + i]!;
  return out;
}

/** Scatters a profile (SEASON_BUCKETS numbers at `from[o]`) into slot i of a bucket-major block. */
function writeProfile(block: Float64Array, i: number, from: Float64Array, o: number): void {
  const stride = block.length / SEASON_BUCKETS;
  for (let b = 0; b < SEASON_BUCKETS; b++) block[b * stride + i] = from[o + b]!;
}

/** A slot state's index in its slab. */
const SLOT = Symbol("slot");
/** A view's block and its base offset: symbol keys, so deep equality, Object.keys and JSON do not see them. */
const D = Symbol("slab block");
const O = Symbol("offset");
/** A slot's profile block and its index in its block. */
const P = Symbol("profile block");
const PO = Symbol("slot in block");
interface View {
  [D]: Float64Array;
  [O]: number;
}

/** Number fields as accessors at fixed offsets from the view's base, enumerable so deep equality compares them. */
function numberFields(proto: object, names: readonly string[]): void {
  names.forEach((name, i) => {
    Object.defineProperty(proto, name, {
      enumerable: true,
      get(this: View) {
        return this[D][this[O] + i];
      },
      set(this: View, v: number) {
        this[D][this[O] + i] = v;
      },
    });
  });
}

class ChainView implements View {
  readonly ring: Float64Array;
  readonly [D]: Float64Array;
  readonly [O]: number;
  constructor(d: Float64Array, o: number) {
    this.ring = d.subarray(o, o + SHORT);
    this[D] = d;
    this[O] = o + SHORT;
  }
}
numberFields(ChainView.prototype, ["sum", "mean", "variance"]);

class ErrorView implements View {
  readonly [D]: Float64Array;
  readonly [O]: number;
  constructor(d: Float64Array, o: number) {
    this[D] = d;
    this[O] = o;
  }
}
numberFields(ErrorView.prototype, ["count", "mean", "variance"]);

class LongView implements View {
  readonly season: Float64Array;
  readonly seasonSeenBits: Float64Array;
  readonly level: Chain;
  readonly seasonal: Chain;
  readonly recent: Float64Array;
  readonly forecastError: ForecastErrorState;
  readonly forecast: Chain;
  readonly [D]: Float64Array;
  readonly [O]: number;
  /** Over the long layer at `d[o]` of a hot slot, with the profile `season`. */
  constructor(d: Float64Array, o: number, season: Float64Array) {
    this[D] = d;
    this[O] = o;
    this.season = season;
    this.seasonSeenBits = d.subarray(o + H_SEEN, o + H_SEEN + SEEN_WORDS);
    this.level = new ChainView(d, o + H_LEVEL) as unknown as Chain;
    this.seasonal = new ChainView(d, o + H_SEASONAL) as unknown as Chain;
    this.recent = d.subarray(o + H_RECENT, o + H_RECENT + FORECAST_LAGS);
    this.forecastError = new ErrorView(d, o + H_ERROR) as unknown as ForecastErrorState;
    this.forecast = new ChainView(d, o + H_FORECAST) as unknown as Chain;
  }
}
numberFields(LongView.prototype, L_SCALARS);

/**
 * A key's state in its slot of a slab block: the handle a key keeps (a few dozen bytes of heap).
 * Its long layer is viewed on demand (tests, restore); the detector itself works on a block's
 * working state (StateSlab.load, working_state.ts), whose parts are made once.
 */
export class SlotState implements View, KeyState {
  // The numbers are accessors on the prototype (numberFields below).
  declare n: number;
  declare level: number;
  declare variance: number;
  declare absError: number;
  declare upperVariance: number;
  declare upperAbs: number;
  declare fast: number;
  declare cusumUp: number;
  declare cusumDown: number;
  declare run: number;
  declare noise: number;
  declare counts: number;
  readonly [D]: Float64Array;
  readonly [O]: number;
  readonly [P]: Float64Array;
  readonly [PO]: number;
  /** The slot's index in its slab (-1 outside one). */
  readonly [SLOT]: number;
  /** Over the hot slot at `d[o]` and slot `po`'s profile in the bucket-major block `p`. */
  constructor(d: Float64Array, o: number, p: Float64Array, po: number, slot: number) {
    this[D] = d;
    this[O] = o;
    this[P] = p;
    this[PO] = po;
    this[SLOT] = slot;
    d[o + LONG + L_BUCKETS] = SEASON_BUCKETS;
  }

  /**
   * Made on each read (tests, restore): kept, it would cost ~900 bytes of heap a key. Its
   * `season` is a copy (the block holds a profile bucket by bucket): write a profile through adopt.
   */
  get long(): LongState {
    return new LongView(this[D], this[O] + LONG, readProfile(this[P], this[PO])) as unknown as LongState;
  }

  /** The slot as one SLOT_WIDTH block (the statistical numbers, then packLong's layout). */
  full(): Float64Array {
    return joinSlot(this[D], this[O], readProfile(this[P], this[PO]), 0);
  }

  /** The plain KeyState this view stands for. */
  toJSON(): KeyState {
    const full = this.full();
    const plain = { long: unpackLong(full, LONG) } as KeyState;
    for (let i = 0; i < LONG; i++) plain[STATE_FIELDS[i]!] = full[i]!;
    return plain;
  }
}
numberFields(SlotState.prototype, STATE_FIELDS);
Object.defineProperty(SlotState.prototype, "long", { ...Object.getOwnPropertyDescriptor(SlotState.prototype, "long"), enumerable: true });

/** A fresh state's slot (newKeyState's numbers), copied into a slot to reset it. */
const FRESH = new Float64Array(HOT_WIDTH);
const FRESH_PROFILE = new Float64Array(SEASON_BUCKETS);
resetKeyState(new SlotState(FRESH, 0, FRESH_PROFILE, 0, -1));

/**
 * Slots for up to `capacity` keys' states, allocated a block at a time; freed slots are reused.
 * Each block has one more slot, its working slot: `load` copies what a window touches of a
 * key's slot there and returns the working state over it, `store` copies it back (instead of
 * a view with its own typed subarrays per key).
 */
export class StateSlab {
  readonly capacity: number;
  readonly #blocks: Float64Array[] = [];
  readonly #profiles: Float64Array[] = [];
  readonly #working: WorkingState[] = [];
  readonly #handles: SlotState[] = [];
  readonly #free: number[] = [];

  constructor(capacity: number) {
    if (!(Number.isSafeInteger(capacity) && capacity >= 1)) throw new RangeError(`slab capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
  }

  /** Slots in use or freed so far (the high-water mark): the checkpoint writes slots below it. */
  get slots(): number {
    return this.#handles.length;
  }

  /** Slots holding a key's state. */
  get used(): number {
    return this.#handles.length - this.#free.length;
  }

  /** A state equal to newKeyState(), in a free slot. Throws beyond capacity. */
  acquire(): SlotState {
    const free = this.#free.pop();
    if (free !== undefined) return this.reset(this.#handles[free]!);
    const slot = this.#handles.length;
    if (slot >= this.capacity) throw new RangeError(`state slab full (${this.capacity} slots)`);
    const b = Math.floor(slot / BLOCK_SLOTS);
    if (b === this.#blocks.length) {
      const slots = Math.min(BLOCK_SLOTS, this.capacity - b * BLOCK_SLOTS);
      const block = new Float64Array((slots + 1) * HOT_WIDTH);
      const profiles = new Float64Array(slots * SEASON_BUCKETS);
      this.#blocks.push(block);
      this.#profiles.push(profiles);
      this.#working.push(new WorkingState(block, slots * HOT_WIDTH, profiles));
    }
    const i = slot % BLOCK_SLOTS;
    const handle = new SlotState(this.#blocks[b]!, i * HOT_WIDTH, this.#profiles[b]!, i, slot);
    this.#handles.push(handle);
    return this.reset(handle);
  }

  /** `state` (of this slab) made equal to newKeyState() again. */
  reset(state: KeyState): SlotState {
    const handle = state as unknown as SlotState;
    handle[D].set(FRESH, handle[O]);
    writeProfile(handle[P], handle[PO], FRESH_PROFILE, 0);
    return handle;
  }

  /** Gives a slot back (its key lost its state). */
  release(state: KeyState): void {
    const handle = state as unknown as SlotState;
    if (this.#handles[handle[SLOT]] !== handle) throw new RangeError("not a state of this slab");
    this.#free.push(handle[SLOT]);
  }

  /**
   * The working view of `state`'s block, holding a copy of it for a window at time `ts` (epoch
   * ms; undefined for a window with no time): the detector works on it, given the same `ts`,
   * then `store`. Only that time's profile bucket is copied in (working_state.ts).
   */
  load(state: KeyState, ts: number | undefined): KeyState {
    const handle = state as unknown as SlotState;
    const slot = handle[SLOT];
    return this.#working[Math.floor(slot / BLOCK_SLOTS)]!.load(slot % BLOCK_SLOTS, ts === undefined ? -1 : seasonBucket(ts));
  }

  /** Copies the working view back into `state`'s slot (after `load(state)`). */
  store(state: KeyState): void {
    const handle = state as unknown as SlotState;
    const slot = handle[SLOT];
    this.#working[Math.floor(slot / BLOCK_SLOTS)]!.store(slot % BLOCK_SLOTS);
  }

  /** A slot holding a copy of `state` (a plain KeyState or another view). */
  adopt(state: KeyState): SlotState {
    const full = new Float64Array(SLOT_WIDTH);
    for (let i = 0; i < LONG; i++) full[i] = state[STATE_FIELDS[i]!];
    packLong(state.long, full, LONG);
    return this.adoptSlot(full, 0);
  }

  /** A slot holding the SLOT_WIDTH numbers at `numbers[o]` (a whole slot, as checkpoint format 3 wrote it). */
  adoptSlot(numbers: Float64Array, o: number): SlotState {
    if (numbers[o + LONG + L_BUCKETS] !== SEASON_BUCKETS) throw new RangeError(`a checkpointed slot has ${numbers[o + LONG + L_BUCKETS]} season buckets, expected ${SEASON_BUCKETS}`);
    const handle = this.acquire();
    const profile = new Float64Array(SEASON_BUCKETS);
    splitSlot(numbers, o, handle[D], handle[O], profile, 0);
    writeProfile(handle[P], handle[PO], profile, 0);
    return handle;
  }

  /**
   * A slot holding the HOT_WIDTH numbers at `hot[o]` and slot i's profile in the bucket-major
   * block `profiles` (as checkpoint format 4 wrote them).
   */
  adoptParts(hot: Float64Array, o: number, profiles: Float64Array, i: number): SlotState {
    if (hot[o + LONG + L_BUCKETS] !== SEASON_BUCKETS) throw new RangeError(`a checkpointed slot has ${hot[o + LONG + L_BUCKETS]} season buckets, expected ${SEASON_BUCKETS}`);
    const handle = this.acquire();
    handle[D].set(hot.subarray(o, o + HOT_WIDTH), handle[O]);
    writeProfile(handle[P], handle[PO], readProfile(profiles, i), 0);
    return handle;
  }

  /** The state blocks' numbers below the high-water slot (working slots left out), as views: valid until the next change. */
  blocks(): Float64Array[] {
    const out: Float64Array[] = [];
    for (let b = 0; b * BLOCK_SLOTS < this.#handles.length; b++) {
      const slots = Math.min(BLOCK_SLOTS, this.#handles.length - b * BLOCK_SLOTS);
      out.push(this.#blocks[b]!.subarray(0, slots * HOT_WIDTH));
    }
    return out;
  }

  /** The profile blocks, whole (bucket by bucket, so not cut at the high-water slot), as views: valid until the next change. */
  profiles(): Float64Array[] {
    return this.#profiles.slice();
  }
}

/** The slot a slab state lives in (for the checkpoint's key → slot list). */
export function slotOf(state: KeyState): number {
  return (state as unknown as SlotState)[SLOT];
}
