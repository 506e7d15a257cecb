/**
 * One JetStream message as a Transport Delivery. One object per message, with its methods on
 * the prototype and its headers converted only when read: the hot path (seq, count, data,
 * ack) allocates nothing beyond this object. Settling goes through the member, which decides
 * whether a nak means "again later" or "dead" (max deliveries) — see consumer.ts.
 */
import type { JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/nats-core";
import type { Delivery } from "../transport.ts";

const MSG_ID = "Nats-Msg-Id";
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** What a delivery needs from its member to settle. */
export interface Settler {
  nakMessage(msg: JsMsg, seq: number, count: number, delayMs: number | undefined): void;
  terminate(msg: JsMsg, seq: number, count: number, reason: string): void;
}

/** The publisher's headers as a record (first value of each; the msg id is `msgId`, not a header). */
export function headersOf(h: MsgHdrs | undefined): Record<string, string> {
  if (!h) return NO_HEADERS;
  const out: Record<string, string> = {};
  for (const key of h.keys()) if (key !== MSG_ID) out[key] = h.get(key);
  return out;
}

/** Acks and naks on a closed connection are dropped: the server redelivers after the ack wait. */
function quietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // closed connection
  }
}

export class NatsDelivery implements Delivery {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly seq: number;
  readonly deliveryCount: number;
  readonly value: undefined = undefined;
  /** Settled by ack/nak/term (working() does not settle). */
  settled = false;
  readonly #msg: JsMsg;
  readonly #settler: Settler;
  #headers: Record<string, string> | undefined;

  constructor(msg: JsMsg, seq: number, deliveryCount: number, settler: Settler) {
    this.#msg = msg;
    this.#settler = settler;
    this.subject = msg.subject;
    this.data = msg.data;
    this.seq = seq;
    this.deliveryCount = deliveryCount;
  }

  get headers(): Record<string, string> {
    return (this.#headers ??= headersOf(this.#msg.headers));
  }

  get msgId(): string | undefined {
    return this.#msg.headers?.get(MSG_ID) || undefined;
  }

  ack(): void {
    if (this.settled) return;
    this.settled = true;
    quietly(() => this.#msg.ack());
  }

  nak(delayMs?: number): void {
    if (this.settled) return;
    this.settled = true;
    this.#settler.nakMessage(this.#msg, this.seq, this.deliveryCount, delayMs);
  }

  term(reason?: string): void {
    if (this.settled) return;
    this.settled = true;
    this.#settler.terminate(this.#msg, this.seq, this.deliveryCount, reason ?? "terminated");
  }

  working(): void {
    if (!this.settled) quietly(() => this.#msg.working());
  }
}

export { quietly };
