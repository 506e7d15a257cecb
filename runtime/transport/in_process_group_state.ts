/**
 * The persisted state of a consumer group: what it has settled and how often it has been
 * handed the messages it has not. One small JSON file per group, replaced atomically:
 *
 * ```json
 * {"v":1,"group":"decode","filter":"tw.raw.>","floor":120,
 *  "acked":[[125,130],[140,140]],"delivered":[[121,2],[122,1]]}
 * ```
 *
 * `floor`: every sequence at or below it is settled; `acked`: settled ranges above the floor
 * (inclusive); `delivered`: delivery counts of handed-out, unsettled messages, so a message
 * that keeps crashing the process still reaches maxDeliver across restarts.
 */
import type { FileSystem } from "../platform/platform.ts";
import { ConsumerStateError } from "./in_process_errors.ts";
import { fileSafe } from "./in_process_subjects.ts";

export interface GroupSnapshot {
  group: string;
  filter: string;
  floor: number;
  acked: [number, number][];
  delivered: [number, number][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SUFFIX = ".consumer.json";

export function groupStatePath(dir: string, group: string): string {
  return `${dir}/${fileSafe(group)}${SUFFIX}`;
}

export async function writeGroupState(fs: FileSystem, dir: string, snapshot: GroupSnapshot): Promise<void> {
  const bytes = encoder.encode(JSON.stringify({ v: 1, ...snapshot }));
  await fs.writeFileAtomic(groupStatePath(dir, snapshot.group), bytes, { sync: true });
}

/** Every group state in `dir`. Throws ConsumerStateError for a damaged file. */
export async function readGroupStates(fs: FileSystem, dir: string): Promise<GroupSnapshot[]> {
  const out: GroupSnapshot[] = [];
  for (const name of await fs.readDir(dir)) {
    if (!name.endsWith(SUFFIX)) continue;
    const path = `${dir}/${name}`;
    const bytes = await fs.readFile(path);
    if (!bytes) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(decoder.decode(bytes));
    } catch (cause) {
      throw new ConsumerStateError(path, { cause });
    }
    if (!isSnapshot(parsed)) throw new ConsumerStateError(path);
    out.push({ group: parsed.group, filter: parsed.filter, floor: parsed.floor, acked: parsed.acked, delivered: parsed.delivered });
  }
  return out;
}

/** Sorted, inclusive ranges covering `seqs`. */
export function toRanges(seqs: Iterable<number>): [number, number][] {
  const sorted = [...seqs].sort((a, b) => a - b);
  const ranges: [number, number][] = [];
  for (const seq of sorted) {
    const last = ranges.at(-1);
    if (last && seq === last[1] + 1) last[1] = seq;
    else ranges.push([seq, seq]);
  }
  return ranges;
}

function isSnapshot(x: unknown): x is GroupSnapshot & { v: number } {
  if (typeof x !== "object" || x === null) return false;
  const s = x as Record<string, unknown>;
  const pairs = (v: unknown) =>
    Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && p.every(Number.isSafeInteger));
  return s.v === 1 && typeof s.group === "string" && typeof s.filter === "string" &&
    Number.isSafeInteger(s.floor) && pairs(s.acked) && pairs(s.delivered);
}
