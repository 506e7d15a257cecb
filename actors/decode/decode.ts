/**
 * decode: reads raw batches (`tw.raw.<stream>`, one or more accepted requests each), parses each
 * part's body by its own format, validates and normalises each event (a missing ts is the
 * part's receivedAt), and publishes the events grouped by partition (`tw.events.<partition>`,
 * column-wise: see schemas/event_batch.ts). Invalid events are dead-lettered with the reason
 * (one entry per part listing each bad event); the valid ones go on. Stateless; a batch is
 * acknowledged once its output is durable.
 *
 * Raw batches published in this process carry the events ingest already validated, as columns,
 * so decode only partitions them; those that crossed from ingest's thread carry them packed
 * (app/stages_thread.ts), which with one partition is the event batch's wire form already
 * (packedEventBatch). Message ids derive from the raw batch id
 * (`ev:<batchId>:<partition>`), so a redelivered raw batch republishes the same ids and the
 * transport drops the copies.
 */
import type { ActorBehaviour, ActorContext, MessageInput } from "../../runtime/core/actor.ts";
import {
  eventBatch,
  MessageType,
  packedEventBatch,
  parseBodyColumns,
  partitionerOf,
  unpackColumns,
  validateRawBatch,
  withColumns,
  type DeadLetterEntry,
  type EventBatch,
  type EventColumns,
  type PackedColumns,
  type ParsedBody,
  type RawBatch,
  type RawPart,
  type TagValue,
} from "../../schemas/mod.ts";

export interface DecodeConfig {
  /** Partitions of `tw.events`. Defaults to 16. */
  partitions: number;
  /** Most events read from one raw part (bodies from NATS producers skip the HTTP limit). Defaults to 100 000. */
  maxEventsPerBatch: number;
  decodeMsgpack(bytes: Uint8Array): unknown;
}

/**
 * A raw batch published in this process carries each part's validated events: as a list, or,
 * when it crossed from ingest's thread, packed (all parts' events merged).
 */
type MaybeLocalRawBatch = RawBatch & { columns?: EventColumns[]; packed?: PackedColumns };

export function decodeActor(config: DecodeConfig): ActorBehaviour<null> {
  return {
    kind: "decode",
    inputs: [{ filter: "tw.raw.>", group: "decode", type: MessageType.RawBatch, validate: validateRawBatch }],
    init: () => null,
    receive(state, input, ctx) {
      if (input.kind !== "message") return state;
      const message = input as MessageInput<MaybeLocalRawBatch>;
      const batch = message.body;
      let events = 0;
      if (batch.packed !== undefined && config.partitions === 1) {
        const { batch: out, columns } = packedEventBatch(batch.stream, 0, batch.batchId, batch.packed);
        if (columns.length > 0) publishEvents(ctx, batch.batchId, out, columns);
        events = columns.length;
      } else {
        const columns = batch.columns ?? (batch.packed !== undefined ? unpackColumns(batch.packed) : batch.parts.map((part) => readPart(part, batch.stream, message, config, ctx)));
        for (const [partition, cols] of partitionColumns(batch.stream, columns, config.partitions)) {
          events += cols.length;
          publishEvents(ctx, batch.batchId, eventBatch(batch.stream, partition, batch.batchId, cols), cols);
        }
      }
      ctx.metrics.counter("tw_events_decoded_total", "Events decoded into canonical form, by stream").inc({ stream: batch.stream }, events);
      return state;
    },
  };
}

function publishEvents(ctx: ActorContext, rawBatchId: string, out: EventBatch, columns: EventColumns): void {
  // Not awaited: the runtime acknowledges the raw batch once these are durable.
  ctx.publish(`tw.events.${out.partition}`, MessageType.EventBatch, out, { id: `ev:${rawBatchId}:${out.partition}`, localBody: withColumns(out, columns) });
}

const NONE: EventColumns = { length: 0, keys: [], ts: new Float64Array(0), values: new Float64Array(0), tags: undefined, ids: undefined };

/** Parses and validates one part from the wire; dead-letters what is unreadable or invalid. */
function readPart(part: RawPart, stream: string, input: MessageInput, config: DecodeConfig, ctx: ActorContext): EventColumns {
  const invalidCount = ctx.metrics.counter("tw_events_invalid_total", "Events dead-lettered as invalid by decode, by stream");
  let parsed: ParsedBody;
  try {
    parsed = parseBodyColumns(part.format, part.body, { maxEvents: config.maxEventsPerBatch, decodeMsgpack: config.decodeMsgpack, receivedAt: part.receivedAt });
  } catch (err) {
    invalidCount.inc({ stream }, part.count);
    const entry: DeadLetterEntry = { stage: "decode", reason: `unreadable ${part.format} body: ${(err as Error).message}`, at: ctx.clock.now(), stream, subject: input.subject, seq: input.seq, payload: part.body };
    ctx.publish("tw.dlq.decode", MessageType.DeadLetter, entry, { id: `dlq:decode:${part.batchId}` });
    return NONE;
  }
  if (parsed.invalid.length > 0) {
    const values = parsed.values;
    invalidCount.inc({ stream }, parsed.invalid.length);
    const first = parsed.invalid[0]!.issues[0]!;
    const entry: DeadLetterEntry = {
      stage: "decode",
      reason: `${parsed.invalid.length} invalid events in batch ${part.batchId}; first: ${first.path}: ${first.message}`,
      at: ctx.clock.now(),
      stream,
      subject: input.subject,
      seq: input.seq,
      payload: parsed.invalid.map((i) => ({ index: i.index, issues: i.issues, event: values[i.index] })),
    };
    ctx.publish("tw.dlq.decode", MessageType.DeadLetter, entry, { id: `dlq:decode:${part.batchId}` });
  }
  return parsed.columns;
}

/**
 * Splits the events of every part by partition, keeping their order: one pass to find each
 * event's partition and count them, then each partition's columns filled at their exact size.
 */
export function partitionColumns(stream: string, parts: readonly EventColumns[], partitions: number): Map<number, EventColumns> {
  const partitionOf = partitionerOf(stream, partitions);
  let total = 0;
  for (const c of parts) total += c.length;
  const of = new Uint32Array(total);
  const counts = new Uint32Array(partitions);
  let tagged = false;
  let withIds = false;
  let j = 0;
  for (const c of parts) {
    const keys = c.keys;
    for (let i = 0; i < c.length; i++) counts[(of[j++] = partitionOf(keys[i]!))]!++;
    tagged ||= c.tags !== undefined;
    withIds ||= c.ids !== undefined;
  }
  const out = new Map<number, EventColumns>();
  const slots: (EventColumns | undefined)[] = new Array(partitions);
  for (let p = 0; p < partitions; p++) {
    const n = counts[p]!;
    if (n === 0) continue;
    const cols: EventColumns = {
      length: 0,
      keys: new Array<string>(n),
      ts: new Float64Array(n),
      values: new Float64Array(n),
      tags: tagged ? new Array<Record<string, TagValue> | null>(n).fill(null) : undefined,
      ids: withIds ? new Array<string | null>(n).fill(null) : undefined,
    };
    slots[p] = cols;
    out.set(p, cols);
  }
  j = 0;
  for (const c of parts) {
    for (let i = 0; i < c.length; i++) {
      const cols = slots[of[j++]!]!;
      const k = cols.length++;
      cols.keys[k] = c.keys[i]!;
      cols.ts[k] = c.ts[i]!;
      cols.values[k] = c.values[i]!;
      if (c.tags !== undefined) cols.tags![k] = c.tags[i]!;
      if (c.ids !== undefined) cols.ids![k] = c.ids[i]!;
    }
  }
  // Partitions whose events carry no tags (or ids) at all need no such column.
  if (tagged || withIds) {
    for (const cols of out.values()) {
      if (cols.tags !== undefined && cols.tags.every((t) => t === null)) cols.tags = undefined;
      if (cols.ids !== undefined && cols.ids.every((t) => t === null)) cols.ids = undefined;
    }
  }
  return out;
}
