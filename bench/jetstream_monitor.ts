/**
 * Whether the JetStream pipeline has drained, read from nats-server's monitoring endpoint
 * (`GET /jsz?consumers=true`): one HTTP request answered by the server, so watching costs the
 * pipeline processes nothing (unlike `trendwire streams`, a whole Node process per look).
 *
 * Drained: every consumer of TW_RAW, TW_EVENTS and TW_AGG (the holding consumer aside) has
 * nothing pending and nothing delivered but unacknowledged. Each stage acknowledges its input
 * only once its output is stored, so at that moment every accepted event has been folded into
 * a window. One look is not enough: the server reads the streams one after another, and a
 * stage may publish downstream and then ack upstream between two reads. Two looks in a row
 * that are both drained with the same last sequence in every stream rule that out.
 */
import { HOLD_CONSUMER } from "../runtime/transport/nats/names.ts";

export interface JszConsumer {
  name: string;
  pending: number;
  ackPending: number;
  redelivered: number;
}

export interface JszStream {
  name: string;
  messages: number;
  lastSeq: number;
  consumers: JszConsumer[];
}

/** The streams whose consumers must be idle for the pipeline to count as drained. */
export const pipelineStreams = ["TW_RAW", "TW_EVENTS", "TW_AGG"];

interface RawJsz {
  account_details?: {
    stream_detail?: {
      name: string;
      state?: { messages?: number; last_seq?: number };
      consumer_detail?: { name: string; num_pending?: number; num_ack_pending?: number; num_redelivered?: number }[];
    }[];
  }[];
}

/** The streams of every account in a `/jsz?consumers=true` answer. */
export function parseJsz(json: unknown): JszStream[] {
  const out: JszStream[] = [];
  for (const account of (json as RawJsz).account_details ?? []) {
    for (const s of account.stream_detail ?? []) {
      out.push({
        name: s.name,
        messages: s.state?.messages ?? 0,
        lastSeq: s.state?.last_seq ?? 0,
        consumers: (s.consumer_detail ?? []).map((c) => ({
          name: c.name,
          pending: c.num_pending ?? 0,
          ackPending: c.num_ack_pending ?? 0,
          redelivered: c.num_redelivered ?? 0,
        })),
      });
    }
  }
  return out;
}

/** Per stream, the most any one of its (real) consumers still has to process, in messages. */
export function backlogMessages(streams: JszStream[], names: string[] = pipelineStreams): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of names) {
    const s = streams.find((x) => x.name === name);
    out[name] = s ? Math.max(0, ...s.consumers.filter((c) => c.name !== HOLD_CONSUMER).map((c) => c.pending + c.ackPending)) : 0;
  }
  return out;
}

/** True when every real consumer of `names` has nothing pending or unacknowledged (a stream that does not exist yet is not drained). */
export function consumersIdle(streams: JszStream[], names: string[] = pipelineStreams): boolean {
  return names.every((name) => {
    const s = streams.find((x) => x.name === name);
    return s !== undefined && s.consumers.every((c) => c.name === HOLD_CONSUMER || (c.pending === 0 && c.ackPending === 0));
  });
}

/** The last sequence of each of `names`, as one comparable string. */
export function sequenceFingerprint(streams: JszStream[], names: string[] = pipelineStreams): string {
  return names.map((name) => `${name}:${streams.find((x) => x.name === name)?.lastSeq ?? -1}`).join(",");
}

/** Last sequence of one stream (0 when missing): e.g. TW_DLQ's, to count dead letters in a phase. */
export function lastSeq(streams: JszStream[], name: string): number {
  return streams.find((x) => x.name === name)?.lastSeq ?? 0;
}

/**
 * The two-look rule: feed it one snapshot after another; it answers drained once two
 * consecutive snapshots are idle with equal sequences, and `since` is the time of the first.
 */
export class DrainWatch {
  #previous: { fingerprint: string; at: number } | undefined;

  observe(streams: JszStream[], at: number): { drained: boolean; since: number } {
    if (!consumersIdle(streams)) {
      this.#previous = undefined;
      return { drained: false, since: at };
    }
    const fingerprint = sequenceFingerprint(streams);
    const previous = this.#previous;
    if (previous && previous.fingerprint === fingerprint) return { drained: true, since: previous.at };
    this.#previous = { fingerprint, at };
    return { drained: false, since: at };
  }

  reset(): void {
    this.#previous = undefined;
  }
}

export async function fetchJsz(monitorPort: number, host = "127.0.0.1"): Promise<JszStream[]> {
  const res = await fetch(`http://${host}:${monitorPort}/jsz?consumers=true`);
  if (!res.ok) throw new Error(`GET /jsz answered ${res.status}`);
  return parseJsz(await res.json());
}
