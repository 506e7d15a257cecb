/**
 * decode: reads raw batches (`tw.raw.<stream>`), parses their bodies, validates and normalises
 * each event, and publishes canonical events grouped by partition (`tw.events.<partition>`).
 * Invalid events are dead-lettered with the reason (one entry per raw batch listing each bad
 * event); the valid ones go on. Stateless; a batch is acknowledged once its output is durable.
 *
 * Message ids derive from the raw batch id (`ev:<batchId>:<partition>`), so a redelivered raw
 * batch republishes the same ids and the transport drops the copies.
 */
import type { ActorBehaviour, MessageInput } from "../../runtime/core/actor.ts";
import {
  MessageType,
  parseEvents,
  parseRawBody,
  partitionOf,
  validateRawBatch,
  type CanonicalEvent,
  type DeadLetterEntry,
  type EventBatch,
  type RawBatch,
} from "../../schemas/mod.ts";

export interface DecodeConfig {
  /** Partitions of `tw.events`. Defaults to 16. */
  partitions: number;
  /** Most events read from one raw batch (bodies from NATS producers skip the HTTP limit). Defaults to 100 000. */
  maxEventsPerBatch: number;
  decodeMsgpack(bytes: Uint8Array): unknown;
}

/** A raw batch published in this process carries its already validated events. */
type MaybeLocalRawBatch = RawBatch & { canonical?: CanonicalEvent[] };

export function decodeActor(config: DecodeConfig): ActorBehaviour<null> {
  return {
    kind: "decode",
    inputs: [{ filter: "tw.raw.>", group: "decode", type: MessageType.RawBatch, validate: validateRawBatch }],
    init: () => null,
    receive(state, input, ctx) {
      if (input.kind !== "message") return state;
      const batch = (input as MessageInput<MaybeLocalRawBatch>).body;
      const decoded = ctx.metrics.counter("tw_events_decoded_total", "Events decoded into canonical form, by stream");
      const invalidCount = ctx.metrics.counter("tw_events_invalid_total", "Events dead-lettered as invalid by decode, by stream");
      let events = batch.canonical;
      if (!events) {
        let values: unknown[];
        try {
          values = parseRawBody(batch.format, batch.body, { maxEvents: config.maxEventsPerBatch, decodeMsgpack: config.decodeMsgpack });
        } catch (err) {
          invalidCount.inc({ stream: batch.stream }, batch.count);
          const entry: DeadLetterEntry = { stage: "decode", reason: `unreadable ${batch.format} body: ${(err as Error).message}`, at: ctx.clock.now(), stream: batch.stream, subject: input.subject, seq: input.seq, payload: batch.body };
          ctx.publish("tw.dlq.decode", MessageType.DeadLetter, entry, { id: `dlq:decode:${batch.batchId}` });
          return state;
        }
        const parsed = parseEvents(values, { receivedAt: batch.receivedAt });
        events = parsed.events;
        if (parsed.invalid.length > 0) {
          invalidCount.inc({ stream: batch.stream }, parsed.invalid.length);
          const first = parsed.invalid[0]!.issues[0]!;
          const entry: DeadLetterEntry = {
            stage: "decode",
            reason: `${parsed.invalid.length} invalid events in batch ${batch.batchId}; first: ${first.path}: ${first.message}`,
            at: ctx.clock.now(),
            stream: batch.stream,
            subject: input.subject,
            seq: input.seq,
            payload: parsed.invalid.map((i) => ({ index: i.index, issues: i.issues, event: values[i.index] })),
          };
          ctx.publish("tw.dlq.decode", MessageType.DeadLetter, entry, { id: `dlq:decode:${batch.batchId}` });
        }
      }
      const byPartition = new Map<number, CanonicalEvent[]>();
      for (const event of events) {
        const p = partitionOf(batch.stream, event.key, config.partitions);
        let list = byPartition.get(p);
        if (!list) byPartition.set(p, (list = []));
        list.push(event);
      }
      for (const [partition, list] of byPartition) {
        const out: EventBatch = { stream: batch.stream, partition, rawBatchId: batch.batchId, events: list };
        ctx.publish(`tw.events.${partition}`, MessageType.EventBatch, out, { id: `ev:${batch.batchId}:${partition}` });
      }
      // Not awaited: the runtime acknowledges the raw batch once these are durable.
      decoded.inc({ stream: batch.stream }, events.length);
      return state;
    },
  };
}
