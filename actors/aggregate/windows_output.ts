/**
 * What the windower hands back: closed windows (each emission a full-totals revision), events it
 * did not fold in, and counters — plus the one place a window turns into output, the rule for
 * when a force-closed window must, and the deterministic order of a call's output.
 */
import type { Slot, StreamState } from "./windows_state.ts";
import type { WindowAggregate } from "../../schemas/mod.ts";

/** One event, already validated: `ts` is epoch ms. */
export interface WindowEvent {
  key: string;
  ts: number;
  value: number;
}

/** A window's totals as of one emission; a later revision replaces an earlier one. */
export type ClosedWindow = Omit<WindowAggregate, "partial">;

/** An event not folded in: "late" = behind watermark + lateness; "force-closed" = its window was. */
export interface LateEvent {
  event: WindowEvent;
  windowStart: number;
  watermark: number;
  reason: "late" | "force-closed";
}

export interface AddResult {
  closed: ClosedWindow[];
  late: LateEvent[];
}

/** Events held column-wise: event `i` is `{key: keys[i], ts: ts[i], value: values[i]}`. */
export interface WindowColumns {
  length: number;
  keys: readonly string[];
  ts: ArrayLike<number>;
  values: ArrayLike<number>;
}

/** A LateEvent of Windower.addColumns, by its index in the columns. */
export interface LateIndex {
  index: number;
  windowStart: number;
  watermark: number;
  reason: "late" | "force-closed";
}

export interface AddColumnsResult {
  closed: ClosedWindow[];
  late: LateIndex[];
}

export interface WindowerStats {
  openWindows: number;
  streams: number;
  lateEvents: number;
  forcedCloses: number;
  /** Streams forgotten since this windower was made (see "Bounded streams"; not kept in snapshots). */
  forgottenStreams: number;
}

/** Appends the slot's current totals as its next revision. */
export function emit(stream: string, slot: Slot, out: ClosedWindow[]): void {
  out.push({
    stream,
    key: slot.key,
    windowStart: slot.start,
    windowEnd: slot.end,
    count: slot.count,
    sum: slot.sum,
    min: slot.min,
    max: slot.max,
    revision: slot.revision++,
  });
  slot.dirty = false;
}

/**
 * Whether a window being force-closed (evicted, flushed) must be emitted: the watermark has not
 * closed it (its last emission, if any, came from emitOpen()), or it changed since. Mid-step,
 * `s.watermark` is the one before the step, and new windows behind it are already dirty.
 */
export function unsettled(s: StreamState, slot: Slot): boolean {
  return slot.end > s.watermark || slot.dirty;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function byEndStreamKey(a: ClosedWindow, b: ClosedWindow): number {
  return (
    a.windowEnd - b.windowEnd ||
    compareText(a.stream, b.stream) ||
    compareText(a.key, b.key) ||
    a.revision - b.revision
  );
}
