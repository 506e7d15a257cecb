/**
 * What `trendwire streams` prints: per stream its size and sequence range, per consumer how
 * far behind it is. Plain data (no nats.js types), so the CLI formats it without knowing NATS.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { HOLD_CONSUMER } from "./names.ts";

export interface ConsumerReport {
  name: string;
  filter: string;
  /** Messages matching the filter not yet delivered. */
  numPending: number;
  /** Delivered, not yet acked. */
  numAckPending: number;
  /** Delivered more than once and not yet acked. */
  redelivered: number;
  /** Stream sequence of the last message delivered. */
  lastDeliveredSeq: number;
  /** Every message at or below this stream sequence is acked. */
  ackFloorSeq: number;
  /** Pull requests waiting at the server. */
  waiting: number;
  /** The holding consumer (see streams.ts), not a real reader. */
  holding: boolean;
}

export interface StreamEntry {
  name: string;
  subjects: string[];
  messages: number;
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  /** -1 = unbounded. */
  maxBytes: number;
  consumers: ConsumerReport[];
}

export interface StreamReport {
  streams: StreamEntry[];
}

/** Every stream of the account except KV/object-store buckets, with its consumers, by name. */
export async function buildStreamReport(jsm: JetStreamManager): Promise<StreamReport> {
  const streams: StreamEntry[] = [];
  for await (const si of jsm.streams.list()) {
    if (si.config.name.startsWith("KV_") || si.config.name.startsWith("OBJ_")) continue;
    const consumers: ConsumerReport[] = [];
    for await (const ci of jsm.consumers.list(si.config.name)) {
      consumers.push({
        name: ci.name,
        filter: ci.config.filter_subject ?? (ci.config.filter_subjects ?? []).join(","),
        numPending: ci.num_pending,
        numAckPending: ci.num_ack_pending,
        redelivered: ci.num_redelivered,
        lastDeliveredSeq: ci.delivered.stream_seq,
        ackFloorSeq: ci.ack_floor.stream_seq,
        waiting: ci.num_waiting,
        holding: ci.name === HOLD_CONSUMER,
      });
    }
    consumers.sort((a, b) => a.name.localeCompare(b.name));
    streams.push({
      name: si.config.name,
      subjects: si.config.subjects ?? [],
      messages: si.state.messages,
      bytes: si.state.bytes,
      firstSeq: si.state.first_seq,
      lastSeq: si.state.last_seq,
      maxBytes: si.config.max_bytes,
      consumers,
    });
  }
  streams.sort((a, b) => a.name.localeCompare(b.name));
  return { streams };
}

/** The report of a transport (NatsTransport.streamReport), for callers holding only the transport. */
export function streamReport(transport: { streamReport(): Promise<StreamReport> }): Promise<StreamReport> {
  return transport.streamReport();
}
