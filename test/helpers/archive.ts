/**
 * Reading the embedded archive (`<dataDir>/objects/<kind>/<stream>/YYYY/MM/DD/HH/
 * <partition>-<firstSeq>-<lastSeq>.msgpack`) back for assertions, and folding it into the
 * numbers tests reconcile: raw batches by id, final window totals per (stream, key, window).
 */
import type { TrendSignal, WindowAggregate } from "../../schemas/mod.ts";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { decode } from "@msgpack/msgpack";
import { windowId, type WindowTotals } from "./events.ts";

export interface ArchivedObject<R = Record<string, unknown>> {
  /** Path below `<dataDir>/objects`, `/`-separated. */
  path: string;
  kind: string;
  partition: number;
  firstSeq: number;
  lastSeq: number;
  count: number;
  records: ({ seq: number } & R)[];
}

/** One accepted request inside an archived raw batch. */
export interface RawPartRecord {
  batchId: string;
  receivedAt: number;
  format: string;
  count: number;
  source: string;
  body: Uint8Array;
}

/** An archived raw batch: one or more accepted requests (parts) written as one message. */
export interface RawBatchRecord {
  stream: string;
  batchId: string;
  receivedAt: number;
  count: number;
  parts: RawPartRecord[];
}

export type WindowRecord = WindowAggregate;

export type SignalRecord = TrendSignal;

async function walk(dir: string, rel: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return;
    throw err;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    const relPath = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) await walk(path, relPath, out);
    else if (e.name.endsWith(".msgpack")) out.push(relPath);
  }
}

/** Every archived object of `kind` ("raw", "agg", "trends", "dlq"), decoded, in path order. */
export async function readArchive<R = Record<string, unknown>>(dataDir: string, kind: string): Promise<ArchivedObject<R>[]> {
  const root = join(dataDir, "objects");
  const paths: string[] = [];
  await walk(join(root, kind), kind, paths);
  paths.sort();
  const out: ArchivedObject<R>[] = [];
  for (const path of paths) {
    const object = decode(await readFile(join(root, path))) as Omit<ArchivedObject<R>, "path">;
    out.push({ path, ...object });
  }
  return out;
}

export interface RawSummary {
  /** batchId → count, for every archived request (each part of each raw batch). */
  batches: Map<string, number>;
  /** batchIds archived more than once (must stay empty). */
  repeated: string[];
  /** Sum of the requests' counts. */
  events: number;
  /**
   * Archived records whose object-level seq range does not cover them, or repeated seqs, or raw
   * batches whose count is not the sum of their parts'.
   */
  badSeqs: string[];
}

export async function rawSummary(dataDir: string, stream?: string): Promise<RawSummary> {
  const objects = await readArchive<{ batch: RawBatchRecord }>(dataDir, "raw");
  const batches = new Map<string, number>();
  const repeated: string[] = [];
  const badSeqs: string[] = [];
  const seqs = new Set<number>();
  let events = 0;
  for (const o of objects) {
    if (o.count !== o.records.length) badSeqs.push(`${o.path}: count ${o.count} but ${o.records.length} records`);
    for (const r of o.records) {
      if (r.seq < o.firstSeq || r.seq > o.lastSeq) badSeqs.push(`${o.path}: seq ${r.seq} outside ${o.firstSeq}..${o.lastSeq}`);
      if (seqs.has(r.seq)) badSeqs.push(`${o.path}: seq ${r.seq} archived twice`);
      seqs.add(r.seq);
      if (r.batch.parts.reduce((n, p) => n + p.count, 0) !== r.batch.count) badSeqs.push(`${o.path}: seq ${r.seq}: count ${r.batch.count} is not the sum of its parts' counts`);
      if (stream !== undefined && r.batch.stream !== stream) continue;
      for (const part of r.batch.parts) {
        if (batches.has(part.batchId)) repeated.push(part.batchId);
        batches.set(part.batchId, part.count);
        events += part.count;
      }
    }
  }
  return { batches, repeated, events, badSeqs };
}

/**
 * The archived windows with the highest revision per (stream, key, windowStart), and the
 * totals they give per window id (see events.ts windowId).
 */
export async function finalWindows(dataDir: string, streams?: readonly string[]): Promise<{ windows: Map<string, WindowRecord>; totals: Map<string, WindowTotals> }> {
  const objects = await readArchive<{ window: WindowRecord }>(dataDir, "agg");
  const windows = new Map<string, WindowRecord>();
  for (const o of objects) {
    for (const { window: w } of o.records) {
      if (streams && !streams.includes(w.stream)) continue;
      const id = windowId(w.stream, w.key, w.windowStart);
      const prev = windows.get(id);
      if (!prev || w.revision > prev.revision) windows.set(id, w);
    }
  }
  const totals = new Map<string, WindowTotals>();
  for (const [id, w] of windows) totals.set(id, { count: w.count, sum: w.sum });
  return { windows, totals };
}

export async function archivedSignals(dataDir: string, stream?: string): Promise<SignalRecord[]> {
  const objects = await readArchive<{ signal: SignalRecord }>(dataDir, "trends");
  return objects.flatMap((o) => o.records.map((r) => r.signal)).filter((s) => stream === undefined || s.stream === stream);
}

/** Differences between two recounts, for a readable failure message (empty when equal). */
export function diffTotals(expected: Map<string, WindowTotals>, actual: Map<string, WindowTotals>, max = 10): string[] {
  const out: string[] = [];
  for (const [id, e] of expected) {
    const a = actual.get(id);
    if (!a) out.push(`${id}: expected count ${e.count}, missing from the archive`);
    else if (a.count !== e.count || Math.abs(a.sum - e.sum) > 1e-9) out.push(`${id}: expected ${e.count}/${e.sum}, archived ${a.count}/${a.sum}`);
  }
  for (const [id, a] of actual) if (!expected.has(id)) out.push(`${id}: archived ${a.count}/${a.sum}, never sent`);
  return out.length > max ? [...out.slice(0, max), `… ${out.length - max} more`] : out;
}

export function sumCounts(totals: Map<string, WindowTotals>): number {
  let n = 0;
  for (const t of totals.values()) n += t.count;
  return n;
}
