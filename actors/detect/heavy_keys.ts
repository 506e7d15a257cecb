/**
 * Which keys get full detector state when a stream has more keys than memory for them: a
 * Count-Min sketch of every key's decayed activity, and a top-k min-heap over it that admits a
 * key to full state while its activity is among the k highest (pushing the lightest out only
 * when clearly ahead of it, or on a burst: see `HeavyKeys.record`).
 *
 * Activity = decayed event count: Σ events·2^(−age/halfLife) over the key's windows (plus, in a
 * second plane, the same sum of 1 per window it appeared in). Events, not window values: they
 * are unit-free, so a stream whose values are large cannot crowd out the keys of others, never
 * negative (Count-Min needs that), and they are the traffic that makes a key worth watching; a
 * key that surges gains activity at once, and a burst admits it (see `HeavyKeys.record`). For a stream of plain
 * events (each value 1) they are also the very value the detector scores, so a newly admitted
 * key's sketch history gives it a prior baseline: its typical window, events/windows.
 *
 * Decay is lazy: the sketch stores values scaled by 2^((time − origin)/halfLife), so an update
 * adds to `depth` cells (O(depth)) and never touches the others; all stored values are rebased
 * now and then, before the scale could overflow. Heap weights are in the same scaled units, so
 * decay never reorders the heap.
 *
 * Conservative update (each cell rises only to the new estimate, never by the full increment):
 * an estimate never falls below the truth and exceeds it by at most e·N/width, N the total
 * decayed mass, except with probability e^−depth (Cormode & Muthukrishnan; conservative update
 * only lowers errors). `Activity` carries that bound, so a caller can tell a credible history
 * from one that collisions made up.
 *
 * A key with full state is counted in its entry, exactly, not in the sketch (as in the
 * Augmented Sketch, Roy et al., SIGMOD 2016): its window touches no sketch cells (4 cache
 * misses at 100 000 keys), only the totals. When it loses its state its activity is
 * raised into its cells (conservatively, never lowering one), so its estimate stays at or
 * above the truth as before; the error bound keeps counting all the mass.
 *
 * Keys are hashed with FNV-1a 32 (schemas/partition.ts) under two bases, giving the rows'
 * columns by double hashing (h1 + i·h2). Pure TypeScript, typed arrays, no dependencies.
 */
import { float64Bytes, readFloat64s } from "../../schemas/mod.ts";
import { fnv1a } from "../../schemas/partition.ts";
import { logPoissonUpper } from "./detector_stats.ts";

/** A key's decayed activity at a given time, from the sketch. */
export interface Activity {
  /** Decayed events Σ events·2^(−age/halfLife); never below the truth. */
  events: number;
  /** Decayed windows the key appeared in, Σ 2^(−age/halfLife); never below the truth. */
  windows: number;
  /** How far `events` may exceed the truth (e·N/width; exceeded with probability ≤ e^−depth). */
  eventsError: number;
  /** The same bound for `windows`. */
  windowsError: number;
}

export interface SketchSnapshot {
  width: number;
  depth: number;
  halfLifeMs: number;
  /** Time (ms) at which stored values are unscaled; null before the first update. */
  origin: number | null;
  totalEvents: number;
  totalWindows: number;
  /** depth × width pairs (events, windows) of float64, little-endian, row after row. */
  counters: Uint8Array;
}

/** A second FNV offset basis (any odd constant unrelated to the standard one). */
const SECOND_BASIS = 0x9e3779b9;
/** Stored values are rebased once the scale passes 2^REBASE_HALF_LIVES (far from float64 overflow). */
const REBASE_HALF_LIVES = 256;

/** Count-Min sketch (conservative update) of decayed events and windows per key. */
export class DecayedCountMin {
  readonly width: number;
  readonly depth: number;
  readonly halfLifeMs: number;
  readonly #mask: number;
  /** Per counter its events then its windows, side by side (one cache line per counter). */
  readonly #counters: Float64Array;
  /** Cell indexes of the key being updated (reused). */
  readonly #cells: Int32Array;
  #origin: number | undefined = undefined;
  #totalEvents = 0;
  #totalWindows = 0;
  #scaleTime = NaN;
  #scale = 1;

  /** `width` is rounded up to a power of two. */
  constructor(width: number, depth: number, halfLifeMs: number) {
    if (!(Number.isSafeInteger(width) && width >= 1 && width <= 2 ** 26)) throw new RangeError(`sketch width must be an integer in [1, 2^26], got ${width}`);
    if (!(Number.isSafeInteger(depth) && depth >= 1 && depth <= 16)) throw new RangeError(`sketch depth must be an integer in [1, 16], got ${depth}`);
    if (!(halfLifeMs > 0 && Number.isFinite(halfLifeMs))) throw new RangeError(`sketch half-life must be a finite number > 0, got ${halfLifeMs}`);
    this.width = 2 ** Math.ceil(Math.log2(width));
    this.depth = depth;
    this.halfLifeMs = halfLifeMs;
    this.#mask = this.width - 1;
    this.#counters = new Float64Array(2 * this.width * depth);
    this.#cells = new Int32Array(depth);
  }

  /** Bytes the counters take. */
  get bytes(): number {
    return this.#counters.byteLength;
  }

  /**
   * Adds one window of `id` with `events` (≥ 0) at `time` (ms). Then `weight` and `windows` are
   * the key's decayed events and windows after the window, in the sketch's scaled units
   * (comparable between keys, see `rebase`), and `before()` its activity just before the window. (Fields, not a result
   * object: this runs for every window.)
   */
  add(id: string, time: number, events: number): void {
    this.addHashed(fnv1a(id), fnv1a(id, SECOND_BASIS) | 1, time, events);
  }

  /** `add` for a key given its hashes as `add` computes them from its id: h1 = FNV-1a, h2 = FNV-1a under SECOND_BASIS, | 1. */
  addHashed(h1: number, h2: number, time: number, events: number): void {
    const scale = this.#scaleAt(time);
    this.#locate(h1, h2);
    const cells = this.#cells;
    const counters = this.#counters;
    let eventsMin = Infinity;
    let windowsMin = Infinity;
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (counters[c]! < eventsMin) eventsMin = counters[c]!;
      if (counters[c + 1]! < windowsMin) windowsMin = counters[c + 1]!;
    }
    const eventsAfter = eventsMin + events * scale;
    const windowsAfter = windowsMin + scale;
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (counters[c]! < eventsAfter) counters[c] = eventsAfter;
      if (counters[c + 1]! < windowsAfter) counters[c + 1] = windowsAfter;
    }
    this.#totalEvents += events * scale;
    this.#totalWindows += scale;
    this.weight = eventsAfter;
    this.windows = windowsAfter;
    this.#before[0] = eventsMin;
    this.#before[1] = windowsMin;
  }

  /**
   * Counts a window of a key kept outside the sketch (a tracked key) in the totals only, so the
   * error bound still covers its mass; returns the scale at `time`, to scale its own counts by.
   */
  count(time: number, events: number): number {
    const scale = this.#scaleAt(time);
    this.#totalEvents += events * scale;
    this.#totalWindows += scale;
    return scale;
  }

  /**
   * Raises the cells of the key with hashes h1, h2 (as `addHashed` takes them) to at least its
   * scaled `events` and `windows`, counted outside the sketch: its estimate is then no lower.
   */
  raise(h1: number, h2: number, events: number, windows: number): void {
    this.#locate(h1, h2);
    const counters = this.#counters;
    for (const c of this.#cells) {
      if (counters[c]! < events) counters[c] = events;
      if (counters[c + 1]! < windows) counters[c + 1] = windows;
    }
  }

  /** The activity of a key counted outside the sketch (scaled `events`, `windows`) at `time`. */
  activityAt(events: number, windows: number, time: number): Activity {
    return this.#activity(events, windows, this.#scaleFor(time));
  }

  /** Decayed events, and decayed windows, of the last `add`'s key after it, in scaled units. */
  weight = 0;
  windows = 0;
  /** The last `add`'s key's scaled events and windows before it. */
  readonly #before = new Float64Array(2);

  /** The last `add`'s key's activity just before its window, at that window's time. */
  before(): Activity {
    return this.#activity(this.#before[0]!, this.#before[1]!, this.#scale);
  }

  /** How far any key's events may exceed the truth (e·N/width; exceeded with probability ≤ e^−depth), in scaled units like `weight`. */
  eventsBound(): number {
    return (Math.E / this.width) * this.#totalEvents;
  }

  /** The last `add`'s key's typical window before it (0 if the sketch had none); after it: weight / windows. */
  typicalBefore(): number {
    return this.#before[1]! > 0 ? this.#before[0]! / this.#before[1]! : 0;
  }

  /** The activity of `id` at `time`, without changing anything. */
  estimate(id: string, time: number): Activity {
    const scale = this.#scaleFor(time);
    this.#locate(fnv1a(id), fnv1a(id, SECOND_BASIS) | 1);
    let eventsMin = Infinity;
    let windowsMin = Infinity;
    for (const c of this.#cells) {
      eventsMin = Math.min(eventsMin, this.#counters[c]!);
      windowsMin = Math.min(windowsMin, this.#counters[c + 1]!);
    }
    return this.#activity(eventsMin, windowsMin, scale);
  }

  /**
   * Moves the origin to `time` when the scale there would pass 2^REBASE_HALF_LIVES, dividing
   * every stored value by that scale. Returns the factor applied (1 if none): the caller
   * multiplies any weights it keeps by it.
   */
  rebase(time: number): number {
    if (this.#origin === undefined || (time - this.#origin) / this.halfLifeMs < REBASE_HALF_LIVES) return 1;
    const factor = 2 ** (-(time - this.#origin) / this.halfLifeMs);
    for (let i = 0; i < this.#counters.length; i++) this.#counters[i]! *= factor;
    this.#totalEvents *= factor;
    this.#totalWindows *= factor;
    this.#origin = time;
    this.#scaleTime = NaN;
    return factor;
  }

  snapshot(): SketchSnapshot {
    return {
      width: this.width, depth: this.depth, halfLifeMs: this.halfLifeMs, origin: this.#origin ?? null,
      totalEvents: this.#totalEvents, totalWindows: this.#totalWindows,
      counters: float64Bytes(this.#counters),
    };
  }

  /** Whether `s` is a snapshot of a sketch of this shape (width, depth, half-life). */
  fits(s: SketchSnapshot): boolean {
    return s?.width === this.width && s.depth === this.depth && s.halfLifeMs === this.halfLifeMs &&
      s.counters instanceof Uint8Array && s.counters.byteLength === this.#counters.byteLength &&
      Number.isFinite(s.totalEvents) && Number.isFinite(s.totalWindows) && (s.origin === null || Number.isFinite(s.origin));
  }

  /** Starts afresh with its origin at `time` (a checkpoint's sketch of another shape was not taken). */
  startAt(time: number): void {
    this.#counters.fill(0);
    this.#origin = time;
    this.#totalEvents = 0;
    this.#totalWindows = 0;
    this.#scaleTime = NaN;
  }

  /** Loads a snapshot that `fits`. */
  restore(s: SketchSnapshot): void {
    this.#counters.set(readFloat64s(s.counters));
    this.#origin = s.origin ?? undefined;
    this.#totalEvents = s.totalEvents;
    this.#totalWindows = s.totalWindows;
    this.#scaleTime = NaN;
  }

  /** The scale at `time`, leaving the cached one alone (estimates, not updates). */
  #scaleFor(time: number): number {
    return this.#origin === undefined ? 1 : 2 ** ((time - this.#origin) / this.halfLifeMs);
  }

  #scaleAt(time: number): number {
    if (time === this.#scaleTime) return this.#scale; // most windows of a batch share their start
    this.#origin ??= time;
    this.#scaleTime = time;
    return (this.#scale = 2 ** ((time - this.#origin) / this.halfLifeMs));
  }

  #locate(h1: number, h2: number): void {
    for (let i = 0; i < this.depth; i++) this.#cells[i] = 2 * (i * this.width + ((h1 + Math.imul(i, h2)) & this.#mask));
  }

  #activity(eventsScaled: number, windowsScaled: number, scale: number): Activity {
    const bound = Math.E / this.width / scale;
    return {
      events: eventsScaled / scale,
      windows: windowsScaled / scale,
      eventsError: bound * this.#totalEvents,
      windowsError: bound * this.#totalWindows,
    };
  }
}

/** How many times the lightest tracked key's typical window one window must be to admit its key at once. */
export const BURST_MARGIN = 2;
/**
 * And how unlikely it must be (Poisson tail) at the larger of that typical window and the key's
 * own: ln 1e-3. Twice a typical window of 1 or 2 events is ordinary noise (P(X ≥ 2 | 1) = 0.26):
 * without this, in a stream of a million quiet keys a third of all windows "burst" in and push
 * another quiet key out, state churning for nothing. A signal needs p ≤ 2e-6 under a Poisson
 * test at least as wide, so no window that could signal is kept out.
 */
export const LN_BURST_P = Math.log(1e-3);

/**
 * A key with full state, counted here, not in the sketch. `weight` is its decayed events and
 * `windows` its decayed windows (both scaled as the sketch's values); the heap is ordered by
 * `heapWeight`, the weight when it was last placed: weights only grow, so a stale heapWeight is
 * a lower bound and the heap is put right lazily, only at its root, when a key must be
 * challenged (an update is O(1), not a sift through a 100 000-key heap). `slot` is its place.
 */
export interface Tracked<V> {
  readonly stream: string;
  readonly key: string;
  value: V;
  /** Time (ms) of its last window; the caller keeps it current. Idle eviction reads it. */
  last: number;
  weight: number;
  windows: number;
  heapWeight: number;
  slot: number;
  /** Its table hash (int32, TrackedTable) and its index in the table's entry list. */
  hash: number;
  id: number;
}

/**
 * A new entry. An object literal, not a class with declared fields: a field declared without a
 * value starts undefined, and V8 then boxes every number later written to it (a fresh heap
 * number per window, promoted because the entry is old: scavenges took 20 % of receive()).
 */
function tracked<V>(stream: string, key: string, value: V, last: number, weight: number, windows: number): Tracked<V> {
  return { stream, key, value, last, weight, windows, heapWeight: weight, slot: -1, hash: 0, id: -1 };
}

/** A tracked key's typical window: decayed events / decayed windows it appeared in. */
export const typicalWindow = (e: Tracked<unknown>): number => (e.windows > 0 ? e.weight / e.windows : 0);

/**
 * The sketch's hash state after the bytes of `${stream}\u0000` under `basis`: FNV-1a runs byte by
 * byte, so continuing it over a key hashes `${stream}\u0000${key}` without building that string.
 */
const streamHash = (stream: string, basis?: number) => fnv1a("\u0000", fnv1a(stream, basis));

/** A stream's two hash states, held while it has tracked keys. */
class StreamHashes {
  tracked = 0;
  readonly h1: number;
  readonly h2: number;
  /** The table's hash state: under this process's secret basis (see TrackedTable). */
  readonly table: number;
  constructor(stream: string) {
    this.h1 = streamHash(stream);
    this.h2 = streamHash(stream, SECOND_BASIS);
    this.table = streamHash(stream, TABLE_BASIS);
  }
}

/**
 * The tracked-key table's FNV basis, random per process. Keys are the clients' choice and FNV
 * collisions are easy to make: under the sketch's fixed bases, keys made to share a hash would
 * turn every lookup into a walk along one long probe run (each a cache miss). A secret basis
 * leaves nothing to aim at; the sketch keeps its fixed bases, since checkpoints hold its cells.
 */
const TABLE_BASIS = crypto.getRandomValues(new Uint32Array(1))[0]! | 1;

/**
 * Tracked keys by their hash under TABLE_BASIS (which covers stream and key): open addressing with
 * linear probing in one Int32Array, at most half full, each cell the hash and the entry's id + 1
 * (0: empty); an entry is confirmed by its stream and key. A lookup costs about one cache miss
 * for the cell and one for the entry, where a Map of 100 000 strings compared stored key
 * strings along its bucket chain (≈ 0.08 µs more a window, measured).
 */
class TrackedTable<V> {
  readonly #cells: Int32Array;
  readonly #mask: number;
  /** Entries by id; ids are reused. */
  readonly #byId: (Tracked<V> | undefined)[] = [];
  readonly #freeIds: number[] = [];
  /** Entries' hashes by id (stale for a freed id). */
  readonly #hashById: Int32Array;
  /** The id of the entry `get` found last (−2: none). */
  #lastId = -2;

  constructor(capacity: number) {
    const size = 2 ** Math.ceil(Math.log2(2 * capacity + 2));
    this.#hashById = new Int32Array(capacity + 1);
    this.#cells = new Int32Array(2 * size);
    this.#mask = size - 1;
  }

  get(tableHash: number, stream: string, key: string): Tracked<V> | undefined {
    const hash = tableHash | 0;
    // The aggregate emits a window's keys sorted, and keys admitted in that order got
    // consecutive ids: the entry after the last one found is most often the one asked for, and
    // then no cell of the table (a cache miss each) is read. Its hash is checked first, in a
    // small dense array, so a wrong guess costs next to nothing.
    const guess = this.#lastId + 1;
    if (this.#hashById[guess] === hash) {
      const next = this.#byId[guess];
      if (next !== undefined && next.key === key && next.stream === stream) {
        this.#lastId = guess;
        return next;
      }
    }
    const cells = this.#cells;
    for (let i = hash & this.#mask; ; i = (i + 1) & this.#mask) {
      const id = cells[2 * i + 1]!;
      if (id === 0) return undefined;
      if (cells[2 * i] === hash) {
        const e = this.#byId[id - 1]!;
        if (e.key === key && e.stream === stream) {
          this.#lastId = e.id;
          return e;
        }
      }
    }
  }

  /** Adds `e` (not in the table) under its table hash. */
  add(e: Tracked<V>, tableHash: number): void {
    const hash = (e.hash = tableHash | 0);
    e.id = this.#freeIds.pop() ?? this.#byId.length;
    this.#byId[e.id] = e;
    this.#hashById[e.id] = hash;
    const cells = this.#cells;
    let i = hash & this.#mask;
    while (cells[2 * i + 1] !== 0) i = (i + 1) & this.#mask;
    cells[2 * i] = hash;
    cells[2 * i + 1] = e.id + 1;
  }

  /** Removes `e` (in the table), shifting back the cells after it that would no longer be found. */
  delete(e: Tracked<V>): void {
    const cells = this.#cells;
    const mask = this.#mask;
    let i = e.hash & mask;
    while (cells[2 * i + 1] !== e.id + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; cells[2 * j + 1] !== 0; j = (j + 1) & mask) {
      const home = cells[2 * j]! & mask;
      // Cell j may move to the hole at i unless its home lies cyclically in (i, j].
      if (i <= j ? i < home && home <= j : i < home || home <= j) continue;
      cells[2 * i] = cells[2 * j]!;
      cells[2 * i + 1] = cells[2 * j + 1]!;
      i = j;
    }
    cells[2 * i] = 0;
    cells[2 * i + 1] = 0;
    this.#byId[e.id] = undefined;
    this.#freeIds.push(e.id);
    e.id = -1;
  }
}

export interface HeavyKeysConfig {
  /** Keys with full state at most (k). */
  capacity: number;
  /** Sketch counters per row (rounded up to a power of two) and rows. */
  width: number;
  depth: number;
  /** Half-life of the activity (ms). */
  halfLifeMs: number;
  /** A key with full state and no window for longer than this (ms) is evicted. */
  idleMs: number;
}

/** The sketch and the top-k keys with full state (values V). */
export class HeavyKeys<V> {
  readonly sketch: DecayedCountMin;
  readonly capacity: number;
  readonly idleMs: number;
  /** Keys pushed out of the top k (their state dropped), and keys evicted for idling, so far. */
  evictedByRank = 0;
  evictedIdle = 0;
  /** Hash states of the streams with tracked keys (no `${stream}\u0000${key}` string is built per window). */
  readonly #streams = new Map<string, StreamHashes>();
  readonly #table: TrackedTable<V>;
  #size = 0;
  /** Min-heap on heapWeight. */
  readonly #heap: Tracked<V>[] = [];
  #now = -Infinity;
  #nextSweep = -Infinity;

  /** Called with the value of a key that loses its state without handing it to a newcomer (idle, or displaced on restore). */
  readonly #release: (value: V) => void;

  constructor(config: HeavyKeysConfig, release: (value: V) => void = () => {}) {
    this.#release = release;
    if (!(Number.isSafeInteger(config.capacity) && config.capacity >= 1)) throw new RangeError(`capacity must be a positive integer, got ${config.capacity}`);
    if (!(config.idleMs > 0)) throw new RangeError(`idleMs must be > 0, got ${config.idleMs}`);
    this.sketch = new DecayedCountMin(config.width, config.depth, config.halfLifeMs);
    this.capacity = config.capacity;
    this.idleMs = config.idleMs;
    this.#table = new TrackedTable(config.capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Streams with tracked keys (no more are held: a stream goes with its last tracked key). */
  get streams(): number {
    return this.#streams.size;
  }

  get(stream: string, key: string): Tracked<V> | undefined {
    const hashes = this.#streams.get(stream);
    return hashes === undefined ? undefined : this.#table.get(fnv1a(key, hashes.table), stream, key);
  }

  /** The tracked keys, in no particular order (not while keys are being recorded). */
  values(): IterableIterator<Tracked<V>> {
    return this.#heap.values();
  }

  /**
   * Records one window of `key` in `stream` with `events` at `time` (ms) and returns the key's entry if it
   * has full state: already, or admitted now because the heap has room, or its activity beats
   * the lightest tracked key's (which is evicted) by more than the sketch's error bound, or
   * this one window is a burst: at least
   * BURST_MARGIN times the lightest key's typical window, and with a Poisson tail below
   * e^LN_BURST_P at the larger of that and the key's own typical window. Without the burst rule a
   * quiet key's surge would have to outweigh a whole memory of the lightest key's windows to be
   * scored; admitted by a burst it is often the lightest key itself until its activity catches
   * up. `start` builds an admitted key's value from its activity before this window, and is
   * handed the value of the key evicted to make room (if any) to reuse. Undefined: the key stays
   * in the sketch only.
   */
  record(
    stream: string, key: string, time: number, events: number, start: (before: Activity, evicted?: V) => V,
    known: Tracked<V> | undefined = this.get(stream, key),
  ): Tracked<V> | undefined {
    this.#advance(time);
    const factor = this.sketch.rebase(time);
    if (factor !== 1) for (const e of this.#heap) (e.weight *= factor), (e.heapWeight *= factor), (e.windows *= factor);
    if (known && known.slot >= 0) {
      const scale = this.sketch.count(time, events);
      known.weight += events * scale;
      known.windows += scale;
      return known;
    }
    this.sketch.addHashed(this.#hash1(stream, key), this.#hash2(stream, key), time, events);
    const weight = this.sketch.weight;
    let evicted: V | undefined;
    if (this.#heap.length >= this.capacity) {
      const lightest = this.#lightest();
      // By activity only when the sketch is sure of it: among many keys of about equal (small)
      // activity, estimates within the error bound would otherwise keep trading places.
      if (!(weight - this.sketch.eventsBound() > lightest.weight || this.#burst(events, typicalWindow(lightest)))) return undefined;
      this.#remove(lightest);
      this.evictedByRank++;
      evicted = lightest.value;
    }
    const admitted = tracked(stream, key, start(this.sketch.before(), evicted), time, weight, this.sketch.windows);
    this.#insert(admitted);
    return admitted;
  }

  /** Whether a window of `events` is a burst for the key the sketch just added (see `record`). */
  #burst(events: number, lightestTypical: number): boolean {
    if (!(events >= BURST_MARGIN * lightestTypical)) return false;
    const lambda = Math.max(lightestTypical, this.sketch.typicalBefore());
    return lambda <= 0 || logPoissonUpper(events, lambda) <= LN_BURST_P;
  }

  /** The activity of `key` in `stream` at `time`: its own counts if it is tracked, else the sketch's estimate. */
  activity(stream: string, key: string, time: number): Activity {
    const e = this.get(stream, key);
    return e ? this.sketch.activityAt(e.weight, e.windows, time) : this.sketch.estimate(`${stream}\u0000${key}`, time);
  }

  // A stream with tracked keys keeps its hash states; one with none (sketch-only keys) has them worked out.
  #hash1(stream: string, key: string): number {
    return fnv1a(key, this.#streams.get(stream)?.h1 ?? streamHash(stream));
  }

  #hash2(stream: string, key: string): number {
    return fnv1a(key, this.#streams.get(stream)?.h2 ?? streamHash(stream, SECOND_BASIS)) | 1;
  }

  /** The heap's root once its weight is current: the tracked key with the least activity. */
  #lightest(): Tracked<V> {
    const heap = this.#heap;
    for (let root = heap[0]!; root.heapWeight < root.weight; root = heap[0]!) {
      root.heapWeight = root.weight;
      this.#down(0);
    }
    return heap[0]!;
  }

  /**
   * Re-admits a key from a checkpoint (ahead of any `record`) with its scaled weight and
   * windows; beyond capacity the lighter keys lose. Whether it was.
   */
  restore(stream: string, key: string, value: V, last: number, weight: number, windows: number): boolean {
    if (this.get(stream, key)) return false;
    if (this.#heap.length >= this.capacity) {
      const lightest = this.#lightest();
      if (!(weight > lightest.weight)) {
        // Counted outside the sketch when the checkpoint was taken: its activity goes there now.
        this.sketch.raise(this.#hash1(stream, key), this.#hash2(stream, key), weight, windows);
        return false;
      }
      this.#remove(lightest);
      this.#release(lightest.value);
    }
    this.#insert(tracked(stream, key, value, last, weight, windows));
    this.#now = Math.max(this.#now, last);
    return true;
  }

  /** Drops every key with no window for longer than `idleMs` before `now`. Returns how many. */
  evictIdle(now: number): number {
    const idle = this.#heap.filter((e) => now - e.last > this.idleMs);
    for (const e of idle) {
      this.#remove(e);
      this.#release(e.value);
    }
    this.evictedIdle += idle.length;
    return idle.length;
  }

  /** Latest time seen; sweeps idle keys each time it has moved on by an eighth of `idleMs`. */
  #advance(time: number): void {
    if (time <= this.#now) return;
    this.#now = time;
    if (time < this.#nextSweep) return;
    this.#nextSweep = time + this.idleMs / 8;
    this.evictIdle(time);
  }

  #insert(e: Tracked<V>): void {
    let hashes = this.#streams.get(e.stream);
    if (hashes === undefined) this.#streams.set(e.stream, (hashes = new StreamHashes(e.stream)));
    hashes.tracked++;
    this.#table.add(e, fnv1a(e.key, hashes.table));
    this.#size++;
    e.slot = this.#heap.length;
    this.#heap.push(e);
    this.#up(e.slot);
  }

  /** Drops `e`, its activity raised into the sketch (where it goes on being counted). */
  #remove(e: Tracked<V>): void {
    const hashes = this.#streams.get(e.stream)!;
    this.sketch.raise(fnv1a(e.key, hashes.h1), fnv1a(e.key, hashes.h2) | 1, e.weight, e.windows);
    this.#table.delete(e);
    if (--hashes.tracked === 0) this.#streams.delete(e.stream); // so streams held are bounded by the keys tracked
    this.#size--;
    const last = this.#heap.pop()!;
    if (last !== e) {
      this.#heap[e.slot] = last;
      last.slot = e.slot;
      this.#up(last.slot);
      this.#down(last.slot);
    }
    e.slot = -1;
  }

  #up(i: number): void {
    const heap = this.#heap;
    const e = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (heap[p]!.heapWeight <= e.heapWeight) break;
      heap[i] = heap[p]!;
      heap[i]!.slot = i;
      i = p;
    }
    heap[i] = e;
    e.slot = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1]!.heapWeight < heap[c]!.heapWeight) c++;
      if (heap[c]!.heapWeight >= e.heapWeight) break;
      heap[i] = heap[c]!;
      heap[i]!.slot = i;
      i = c;
    }
    heap[i] = e;
    e.slot = i;
  }
}
