/**
 * Turning Trendwire names into names NATS accepts. A consumer group may be any string, but a
 * durable consumer name may not contain `.`, `*`, `>`, whitespace or slashes; a KV key allows
 * only `[-/_=.A-Za-z0-9]`. Both encodings keep letters, digits, `_` and `-` and escape every
 * other UTF-8 byte as a marker plus two hex digits, so distinct inputs stay distinct and the
 * result never contains a `.` (which the checkpoint store uses for its chunk keys).
 */

/** The reserved name of the holding consumer (see NatsTransportOptions.holdUntilConsumed). */
export const HOLD_CONSUMER = "TW_HOLD";

const enc = new TextEncoder();
const SAFE = /^[A-Za-z0-9_-]+$/;

function escape(name: string, marker: string): string {
  if (SAFE.test(name)) return name;
  let out = "";
  for (const byte of enc.encode(name)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `${marker}${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The durable consumer name of a group: "decode" stays "decode", "a.b" becomes "a~2Eb". */
export function consumerName(group: string): string {
  return escape(group, "~");
}

/** A KV key for a checkpoint name: "aggregate/3" becomes "aggregate=2F3". */
export function kvKey(name: string): string {
  return escape(name, "=");
}
