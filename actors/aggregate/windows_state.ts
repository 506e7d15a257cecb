/**
 * The in-memory shape of one stream's open windows, kept for the per-event hot path: a Map from
 * key to a short chain of that key's windows (no strings built per event), and an index from
 * window end to its windows plus the sorted list of distinct ends (few: about
 * (maxOutOfOrder + allowedLateness) / size + 1), so closing never scans every open window.
 * Internal to the windower; nothing here is exported from the aggregate stage.
 */
import type { WindowConfig } from "./windows_config.ts";

/** One open window of one key: its running totals and its place in the indexes. */
export interface Slot {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  count: number;
  sum: number;
  min: number;
  max: number;
  /** Emissions so far; the next emission carries this number as its revision. */
  revision: number;
  /**
   * Changed since its last emission: a window behind the watermark awaiting this step's revision
   * (it is then in the step's pending list), or an open window that emitOpen() emitted. Between
   * calls only the latter can be dirty.
   */
  dirty: boolean;
  /** The key's next window. A key has one or two live windows, so a chain beats a Map. */
  next: Slot | undefined;
}

export function newSlot(key: string, start: number, end: number, value: number): Slot {
  return { key, start, end, count: 1, sum: value, min: value, max: value, revision: 0, dirty: false, next: undefined };
}

export class StreamState {
  /** Head of each key's chain of windows, newest first. */
  readonly keys = new Map<string, Slot>();
  /** Window end → that end's windows, in insertion order. */
  readonly buckets = new Map<number, Slot[]>();
  /** Distinct window ends held, ascending. */
  readonly ends: number[] = [];
  /** Windows ending at or before this have been emitted; -Infinity before the first step. */
  watermark = -Infinity;
  /** Greatest event time seen. */
  maxTs = -Infinity;
  /** Processing time of the last step that carried events; idleness is measured from here. */
  lastEventAt = 0;
  /** The watermark right after that step; an idle watermark runs on from it at wall-clock pace. */
  baseWatermark = -Infinity;
  /** A window ending at or before this that has no slot was force-closed or flushed: refuse it. */
  closedThrough = -Infinity;
  #lastEnd = NaN;
  #lastBucket: Slot[] | undefined;

  constructor(readonly name: string, readonly config: Readonly<WindowConfig>) {}

  /** The key's window starting at `start`, if open. */
  find(key: string, start: number): Slot | undefined {
    let slot = this.keys.get(key);
    while (slot !== undefined && slot.start !== start) slot = slot.next;
    return slot;
  }

  /** Adds a new slot to the key chain (at its head) and to its end's bucket. */
  insert(slot: Slot): void {
    const head = this.keys.get(slot.key);
    slot.next = head;
    this.keys.set(slot.key, slot);
    if (slot.end === this.#lastEnd && this.#lastBucket !== undefined) {
      this.#lastBucket.push(slot);
      return;
    }
    let bucket = this.buckets.get(slot.end);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(slot.end, bucket);
      insertSorted(this.ends, slot.end);
    }
    bucket.push(slot);
    this.#lastEnd = slot.end;
    this.#lastBucket = bucket;
  }

  /** Removes a slot from its key's chain (its bucket is the caller's business). */
  unlinkKey(slot: Slot): void {
    const head = this.keys.get(slot.key);
    if (head === slot) {
      if (slot.next === undefined) this.keys.delete(slot.key);
      else this.keys.set(slot.key, slot.next);
    } else {
      let prev = head;
      while (prev !== undefined && prev.next !== slot) prev = prev.next;
      if (prev !== undefined) prev.next = slot.next;
    }
    slot.next = undefined;
  }

  /** Drops the first `n` ends with their buckets, unlinking their slots; returns how many slots. */
  dropFirstEnds(n: number): number {
    let dropped = 0;
    for (let i = 0; i < n; i++) dropped += this.#dropBucket(this.ends[i]!);
    this.ends.splice(0, n);
    return dropped;
  }

  /** Removes and returns the last-inserted window of the earliest end (overflow eviction). */
  popOldest(): Slot | undefined {
    const end = this.ends[0];
    if (end === undefined) return undefined;
    const bucket = this.buckets.get(end)!;
    const slot = bucket.pop()!;
    this.unlinkKey(slot);
    if (bucket.length === 0) {
      this.#dropBucket(end);
      this.ends.shift();
    }
    return slot;
  }

  /** Forgets every window (after a flush emitted them). */
  clear(): void {
    this.keys.clear();
    this.buckets.clear();
    this.ends.length = 0;
    this.#lastEnd = NaN;
    this.#lastBucket = undefined;
  }

  /** Earliest window end held, or Infinity. */
  firstEnd(): number {
    return this.ends.length === 0 ? Infinity : this.ends[0]!;
  }

  #dropBucket(end: number): number {
    const bucket = this.buckets.get(end)!;
    for (const slot of bucket) this.unlinkKey(slot);
    this.buckets.delete(end);
    if (end === this.#lastEnd) {
      this.#lastEnd = NaN;
      this.#lastBucket = undefined;
    }
    return bucket.length;
  }
}

function insertSorted(ends: number[], end: number): void {
  let lo = 0;
  let hi = ends.length;
  if (hi === 0 || ends[hi - 1]! < end) {
    ends.push(end);
    return;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid]! < end) lo = mid + 1;
    else hi = mid;
  }
  ends.splice(lo, 0, end);
}
