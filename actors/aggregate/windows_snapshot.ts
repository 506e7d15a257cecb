/**
 * Checkpoint form of the windower: plain objects, arrays, finite numbers and strings only, so it
 * round-trips through MessagePack (and JSON) unchanged. Windows are stored column-wise in index
 * order (ascending end, then insertion order) — compact, and restoring in that order reproduces
 * overflow-eviction order exactly, so a restored windower continues byte-for-byte like the
 * original would have.
 */
import { WindowRestoreError, type WindowConfig } from "./windows_config.ts";
import { newSlot, StreamState } from "./windows_state.ts";

export interface StreamSnapshot {
  stream: string;
  /** Window size the windows were cut with; restoring under another size is refused. */
  sizeMs: number;
  watermark: number;
  maxTs: number;
  lastEventAt: number;
  baseWatermark: number;
  /** null when nothing was ever force-closed or flushed. */
  closedThrough: number | null;
  keys: string[];
  starts: number[];
  counts: number[];
  sums: number[];
  mins: number[];
  maxs: number[];
  revisions: number[];
  /**
   * Positions (in the columns above) of windows changed since emitOpen() emitted them, which the
   * next emitOpen() must emit again. Absent in snapshots from before emitOpen() existed: none.
   */
  changed?: number[];
}

export interface WindowerSnapshot {
  version: 1;
  lateEvents: number;
  forcedCloses: number;
  streams: StreamSnapshot[];
}

export function snapshotStream(s: StreamState): StreamSnapshot {
  const changed: number[] = [];
  const out: StreamSnapshot = {
    stream: s.name,
    sizeMs: s.config.sizeMs,
    watermark: s.watermark,
    maxTs: s.maxTs,
    lastEventAt: s.lastEventAt,
    baseWatermark: s.baseWatermark,
    closedThrough: s.closedThrough === -Infinity ? null : s.closedThrough,
    keys: [],
    starts: [],
    counts: [],
    sums: [],
    mins: [],
    maxs: [],
    revisions: [],
    changed,
  };
  for (const end of s.ends) {
    for (const slot of s.buckets.get(end)!) {
      if (slot.dirty) changed.push(out.keys.length);
      out.keys.push(slot.key);
      out.starts.push(slot.start);
      out.counts.push(slot.count);
      out.sums.push(slot.sum);
      out.mins.push(slot.min);
      out.maxs.push(slot.max);
      out.revisions.push(slot.revision);
    }
  }
  return out;
}

const COLUMNS = ["starts", "counts", "sums", "mins", "maxs", "revisions"] as const;
const SCALARS = ["watermark", "maxTs", "lastEventAt", "baseWatermark"] as const;

/** Rebuilds one stream; throws WindowRestoreError on malformed or incompatible input. */
export function restoreStream(snap: StreamSnapshot, config: Readonly<WindowConfig>): StreamState {
  const where = `stream ${JSON.stringify(snap?.stream)}`;
  if (typeof snap?.stream !== "string" || !Array.isArray(snap.keys)) {
    throw new WindowRestoreError(`${where}: not a stream snapshot`);
  }
  for (const name of SCALARS) {
    if (!Number.isFinite(snap[name])) throw new WindowRestoreError(`${where}: ${name} is not a finite number`);
  }
  if (snap.closedThrough !== null && !Number.isFinite(snap.closedThrough)) {
    throw new WindowRestoreError(`${where}: closedThrough is neither null nor a finite number`);
  }
  const n = snap.keys.length;
  const changed = snap.changed ?? [];
  if (!Array.isArray(changed)) throw new WindowRestoreError(`${where}: changed is not an array`);
  for (const name of COLUMNS) {
    if (!Array.isArray(snap[name]) || snap[name].length !== n) {
      throw new WindowRestoreError(`${where}: column ${name} does not have ${n} entries`);
    }
  }
  if (n > 0 && snap.sizeMs !== config.sizeMs) {
    // Windows cut at one size cannot take events cut at another without overlapping.
    throw new WindowRestoreError(
      `${where}: holds ${n} windows of ${snap.sizeMs} ms but is configured for ${config.sizeMs} ms; ` +
        "flush under the old size before changing it",
    );
  }
  const s = new StreamState(snap.stream, config);
  s.watermark = snap.watermark;
  s.maxTs = snap.maxTs;
  s.lastEventAt = snap.lastEventAt;
  s.baseWatermark = snap.baseWatermark;
  s.closedThrough = snap.closedThrough ?? -Infinity;
  const size = config.sizeMs;
  for (let i = 0; i < n; i++) {
    const key = snap.keys[i];
    const start = snap.starts[i]!;
    if (typeof key !== "string" || !Number.isFinite(start) || s.find(key, start) !== undefined) {
      throw new WindowRestoreError(`${where}: window ${i} is malformed or duplicated`);
    }
    const slot = newSlot(key, start, start + size, 0);
    slot.count = snap.counts[i]!;
    slot.sum = snap.sums[i]!;
    slot.min = snap.mins[i]!;
    slot.max = snap.maxs[i]!;
    slot.revision = snap.revisions[i]!;
    s.insert(slot);
  }
  for (const i of changed) {
    const slot = Number.isInteger(i) && i >= 0 && i < n ? s.find(snap.keys[i]!, snap.starts[i]!) : undefined;
    // Between calls only open windows can be dirty; a closed dirty one would never be re-emitted.
    if (slot === undefined || slot.end <= s.watermark) {
      throw new WindowRestoreError(`${where}: changed window ${String(i)} is not an open window`);
    }
    slot.dirty = true;
  }
  return s;
}
