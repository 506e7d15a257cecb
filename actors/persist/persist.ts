/**
 * persist: archives raw batches, window aggregates, trend signals and dead letters as objects,
 * batched, in one bucket (or the local data directory in embedded mode):
 *
 *   <kind>/<stream or stage>/YYYY/MM/DD/HH/<partition>-<firstSeq>-<lastSeq>.msgpack
 *
 * (UTC hour of receipt for raw and dead letters, of the window start for aggregates and trends).
 * An object holds `{kind, partition, firstSeq, lastSeq, count, records: [{seq, ...}]}` for one
 * prefix; names come from input sequence ranges. A raw record is `{seq, batch}` with the RawBatch
 * as published: every accepted request is one of its `parts`, body as received and batchId as
 * answered, so the raw archive holds each accepted request exactly once. Input is acknowledged only after its object
 * is written (ack mode "checkpoint": each checkpoint flushes the buffers).
 *
 * No duplicates after a crash: input redelivered after a crash may already be archived under a
 * different range. Before writing a buffer that may hold such input (its first flush since
 * start, or any redelivered record), persist lists the objects of that prefix and drops records
 * whose sequence an existing object already covers.
 */
import type { ActorBehaviour, ActorContext, MessageInput } from "../../runtime/core/actor.ts";
import type { ObjectStore } from "../../runtime/store/object_store.ts";
import { EncodedValue, publishedBytesOf } from "../../runtime/codec/codec.ts";
import {
  MessageType,
  validateAggBatch,
  validateDeadLetter,
  validateRawBatch,
  validateTrendSignal,
  type AggBatch,
  type DeadLetterEntry,
  type RawBatch,
  type TrendSignal,
} from "../../schemas/mod.ts";

export interface PersistConfig {
  store: ObjectStore;
  /**
   * Encodes an object's content (MessagePack): the map of `head`'s fields and then `records`, the
   * list; its bytes or their parts in order. A record may hold an EncodedValue (a raw batch as
   * published), to be written as its bytes (MessageCodec.encodeWithList does).
   */
  encode(head: Record<string, unknown>, records: readonly unknown[]): Uint8Array | Uint8Array[];
  /**
   * Prefixes remembered as flushed since start, at most (the least recently flushed are
   * forgotten: their next buffer is checked against existing objects, as after a start).
   * Defaults to 10 000.
   */
  maxSeenPrefixes?: number;
}

export const DEFAULT_MAX_SEEN_PREFIXES = 10_000;

export type ArchiveKind = "raw" | "agg" | "trends" | "dlq";

interface Buffer {
  dir: string;
  partition: number;
  kind: ArchiveKind;
  records: { seq: number; [field: string]: unknown }[];
  firstSeq: number;
  lastSeq: number;
  /** May hold input archived before a crash: check existing objects before writing. */
  check: boolean;
}

export interface PersistState {
  buffers: Map<string, Buffer>;
  /**
   * Prefixes flushed at least once since start (no check needed unless redelivered), least
   * recently flushed first. Bounded (maxSeenPrefixes): there is one per stream and hour.
   */
  seen: Set<string>;
}

function hourPath(ts: number): string {
  const iso = new Date(ts).toISOString(); // YYYY-MM-DDTHH:…
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}`;
}

const pad = (n: number) => String(n).padStart(16, "0");

export function objectName(dir: string, partition: number, firstSeq: number, lastSeq: number): string {
  return `${dir}${partition}-${pad(firstSeq)}-${pad(lastSeq)}.msgpack`;
}

/** Parses `<partition>-<first>-<last>.msgpack`. */
export function parseObjectName(name: string): { partition: number; firstSeq: number; lastSeq: number } | undefined {
  const m = /(\d+)-(\d+)-(\d+)\.msgpack$/.exec(name);
  return m ? { partition: Number(m[1]), firstSeq: Number(m[2]), lastSeq: Number(m[3]) } : undefined;
}

function add(state: PersistState, kind: ArchiveKind, dir: string, partition: number, input: MessageInput, record: Record<string, unknown>): void {
  const id = `${dir}${partition}`;
  let buf = state.buffers.get(id);
  if (!buf) {
    buf = { dir, partition, kind, records: [], firstSeq: input.seq, lastSeq: input.seq, check: !state.seen.has(id) };
    state.buffers.set(id, buf);
  }
  buf.records.push({ seq: input.seq, ...record });
  buf.lastSeq = Math.max(buf.lastSeq, input.seq);
  buf.firstSeq = Math.min(buf.firstSeq, input.seq);
  if (input.deliveryCount > 1) buf.check = true;
}

/** Adds `id` as the most recent of `seen`, forgetting the least recent beyond `max`. */
function remember(seen: Set<string>, id: string, max: number): void {
  seen.delete(id);
  seen.add(id);
  while (seen.size > max) seen.delete(seen.values().next().value as string);
}

async function flush(state: PersistState, config: PersistConfig, ctx: ActorContext): Promise<void> {
  const written = ctx.metrics.counter("tw_objects_written_total", "Archive objects written, by kind");
  const records = ctx.metrics.counter("tw_records_archived_total", "Records archived, by kind");
  const writes = [...state.buffers].map(async ([id, buf]) => {
    let list = buf.records;
    if (buf.check) {
      const existing = (await config.store.list(buf.dir, `${buf.partition}-`)).map(parseObjectName).filter((x) => x !== undefined);
      list = list.filter((r) => !existing.some((o) => r.seq >= o.firstSeq && r.seq <= o.lastSeq));
    }
    remember(state.seen, id, config.maxSeenPrefixes ?? DEFAULT_MAX_SEEN_PREFIXES);
    if (list.length === 0) return;
    const firstSeq = list.reduce((m, r) => Math.min(m, r.seq), Infinity);
    const lastSeq = list.reduce((m, r) => Math.max(m, r.seq), 0);
    const head = { kind: buf.kind, partition: buf.partition, firstSeq, lastSeq, count: list.length };
    await config.store.put(objectName(buf.dir, buf.partition, firstSeq, lastSeq), config.encode(head, list));
    written.inc({ kind: buf.kind });
    records.inc({ kind: buf.kind }, list.length);
  });
  await Promise.all(writes);
  state.buffers.clear();
}

export function persistActor(config: PersistConfig): ActorBehaviour<PersistState> {
  return {
    kind: "persist",
    inputs: [
      { filter: "tw.raw.>", group: "persist-raw", type: MessageType.RawBatch, validate: validateRawBatch, ack: "checkpoint" },
      { filter: "tw.agg.>", group: "persist-agg", type: MessageType.AggBatch, validate: validateAggBatch, ack: "checkpoint" },
      { filter: "tw.trends.>", group: "persist-trends", type: MessageType.TrendSignal, validate: validateTrendSignal, ack: "checkpoint" },
      { filter: "tw.dlq.>", group: "persist-dlq", type: MessageType.DeadLetter, validate: validateDeadLetter, ack: "checkpoint" },
    ],
    checkpointIntervalMs: 1000,
    init: () => ({ buffers: new Map(), seen: new Set() }),
    receive(state, input) {
      if (input.kind !== "message") return state;
      switch (input.type) {
        case MessageType.RawBatch: {
          const body = input.body as RawBatch & { columns?: unknown; packed?: unknown };
          // A body decoded from the bytes published is archived as those bytes (its parts, the
          // requests, need not be decoded and encoded again). Same-process batches carry
          // ingest's parsed events (`columns`, or `packed` from ingest's thread): not archive
          // material, and not in the published bytes. Those bytes are not walked again here:
          // only batches that crossed from ingest's thread come so (stages_thread.ts), bytes
          // this process's own publisher encoded, the same bytes its log holds.
          const published = publishedBytesOf(body);
          let batch: unknown = published && new EncodedValue(published);
          if (batch === undefined) {
            const { columns: _, packed: _packed, ...rest } = body;
            batch = rest;
          }
          add(state, "raw", `raw/${body.stream}/${hourPath(body.receivedAt)}/`, 0, input, { batch });
          break;
        }
        case MessageType.AggBatch: {
          const batch = input.body as AggBatch;
          for (const w of batch.windows) {
            add(state, "agg", `agg/${w.stream}/${hourPath(w.windowStart)}/`, batch.partition, input, { window: w });
          }
          break;
        }
        case MessageType.TrendSignal: {
          const signal = input.body as TrendSignal;
          add(state, "trends", `trends/${signal.stream}/${hourPath(signal.windowStart)}/`, 0, input, { signal });
          break;
        }
        case MessageType.DeadLetter: {
          const entry = input.body as DeadLetterEntry;
          add(state, "dlq", `dlq/${entry.stage}/${hourPath(entry.at)}/`, 0, input, { entry });
          break;
        }
      }
      return state;
    },
    async checkpoint(state, ctx) {
      await flush(state, config, ctx);
      return { state };
    },
    async stop(state, ctx) {
      await flush(state, config, ctx);
    },
  };
}
