/**
 * The packed form of a windower snapshot, as aggregate checkpoints it: per stream the keys
 * joined into one string and the six number columns as one block of little-endian float64s.
 * A checkpoint holds every open window and is taken every second or so under load; encoding
 * tens of thousands of numbers one by one cost more than taking the snapshot. Packed, it is a
 * few copies. `unpackSnapshot` also takes the plain form (older checkpoints), unchanged.
 */
import { float64Bytes, readFloat64s } from "../../schemas/mod.ts";
import { WindowRestoreError } from "./windows_config.ts";
import type { StreamSnapshot, WindowerSnapshot } from "./windows_snapshot.ts";

/** A StreamSnapshot with `keys` joined and the number columns in `columns`. */
export interface PackedStreamSnapshot extends Omit<StreamSnapshot, "keys" | "starts" | "counts" | "sums" | "mins" | "maxs" | "revisions"> {
  /** The keys joined by U+0000 (keys never contain control characters). */
  keys: string;
  /** Windows held. */
  windows: number;
  /** starts, counts, sums, mins, maxs, revisions: `windows` float64 each, little-endian, in that order. */
  columns: Uint8Array;
}

export interface PackedWindowerSnapshot extends Omit<WindowerSnapshot, "streams"> {
  packed: true;
  streams: PackedStreamSnapshot[];
}

const COLUMNS = ["starts", "counts", "sums", "mins", "maxs", "revisions"] as const;

export function packSnapshot(snapshot: WindowerSnapshot): PackedWindowerSnapshot {
  return { ...snapshot, packed: true, streams: snapshot.streams.map(packStream) };
}

function packStream(s: StreamSnapshot): PackedStreamSnapshot {
  const { keys, starts, counts, sums, mins, maxs, revisions, ...rest } = s;
  const n = keys.length;
  const numbers = new Float64Array(n * COLUMNS.length);
  [starts, counts, sums, mins, maxs, revisions].forEach((column, c) => numbers.set(column, c * n));
  return { ...rest, keys: keys.join("\u0000"), windows: n, columns: float64Bytes(numbers) };
}

/** The plain snapshot of a packed one (or the plain one itself); throws WindowRestoreError if malformed. */
export function unpackSnapshot(snapshot: PackedWindowerSnapshot | WindowerSnapshot): WindowerSnapshot {
  if ((snapshot as PackedWindowerSnapshot)?.packed !== true) return snapshot as WindowerSnapshot;
  const { packed: _, streams, ...rest } = snapshot as PackedWindowerSnapshot;
  if (!Array.isArray(streams)) throw new WindowRestoreError("packed snapshot without streams");
  return { ...rest, streams: streams.map(unpackStream) };
}

function unpackStream(p: PackedStreamSnapshot): StreamSnapshot {
  const { keys, windows: n, columns, ...rest } = p;
  if (typeof keys !== "string" || !Number.isSafeInteger(n) || n < 0 || !(columns instanceof Uint8Array) || columns.byteLength !== n * COLUMNS.length * 8) {
    throw new WindowRestoreError(`stream ${JSON.stringify(p?.stream)}: malformed packed windows`);
  }
  const numbers = readFloat64s(columns);
  const column = (c: number) => Array.from(numbers.subarray(c * n, (c + 1) * n));
  const keyList = n === 0 ? [] : keys.split("\u0000");
  if (keyList.length !== n) throw new WindowRestoreError(`stream ${JSON.stringify(p.stream)}: ${keyList.length} keys for ${n} windows`);
  return { ...rest, keys: keyList, starts: column(0), counts: column(1), sums: column(2), mins: column(3), maxs: column(4), revisions: column(5) };
}
