/**
 * Test traffic with event time under the test's control: deterministic generators (seeded PRNG),
 * the offline recount that archived windows must match, and encoders for every body format.
 */
import { encode } from "@msgpack/msgpack";
import { mulberry32 } from "./random.ts";

/** An event as sent (`value` omitted means 1). */
export interface TestEvent {
  key: string;
  ts: number;
  value?: number;
}

/** A base event time aligned to a whole minute (so to any window size dividing 60 s), in 2026. */
export const T0 = Date.UTC(2026, 0, 21, 14, 0, 0);

/** mulberry32: a small deterministic PRNG, so a failing run can be repeated exactly. */
export const prng = mulberry32;

export { poisson } from "./random.ts";

/**
 * Events of one window: `counts[key]` events per key, their timestamps spread evenly over the
 * window (interleaved across keys, ascending), values 1 unless `valueOf` gives one.
 */
export function windowEvents(
  windowStart: number,
  windowMs: number,
  counts: Record<string, number>,
  valueOf?: (key: string, i: number) => number | undefined,
): TestEvent[] {
  const flat: { key: string; i: number }[] = [];
  for (const [key, n] of Object.entries(counts)) for (let i = 0; i < n; i++) flat.push({ key, i });
  // Interleave keys deterministically so one request mixes partitions.
  flat.sort((a, b) => a.i - b.i || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const step = windowMs / Math.max(1, flat.length);
  return flat.map(({ key, i }, n) => {
    const e: TestEvent = { key, ts: windowStart + Math.floor(n * step) };
    const v = valueOf?.(key, i);
    if (v !== undefined) e.value = v;
    return e;
  });
}

export interface WindowTotals {
  count: number;
  sum: number;
}

export function windowId(stream: string, key: string, windowStart: number): string {
  return `${stream}|${key}|${windowStart}`;
}

/** Adds events of `stream` to an offline recount: count and sum per (stream, key, window). */
export function tally(into: Map<string, WindowTotals>, stream: string, events: readonly TestEvent[], windowMs: number): Map<string, WindowTotals> {
  for (const e of events) {
    const id = windowId(stream, e.key, Math.floor(e.ts / windowMs) * windowMs);
    const t = into.get(id) ?? { count: 0, sum: 0 };
    t.count++;
    t.sum += e.value ?? 1;
    into.set(id, t);
  }
  return into;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export type BodyFormat = "json" | "json-single" | "ndjson" | "msgpack";

/** A request body and its Content-Type; "json-single" takes exactly one event. */
export function encodeBody(format: BodyFormat, events: readonly TestEvent[]): { body: Uint8Array<ArrayBuffer> | string; contentType: string } {
  switch (format) {
    case "json":
      return { body: JSON.stringify(events), contentType: "application/json" };
    case "json-single":
      if (events.length !== 1) throw new RangeError("json-single takes one event");
      return { body: JSON.stringify(events[0]), contentType: "application/json; charset=utf-8" };
    case "ndjson":
      return { body: events.map((e) => JSON.stringify(e)).join("\n") + "\n", contentType: "application/x-ndjson" };
    case "msgpack":
      return { body: new Uint8Array(encode(events)), contentType: "application/msgpack" };
  }
}
