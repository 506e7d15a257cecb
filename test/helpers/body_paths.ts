/**
 * For the tests of ingest's fast body readers (schemas/json_events.ts, msgpack_events.ts): what
 * the general path (parseRawBody + parseEventColumns) and the path ingest takes
 * (parseBodyColumns) make of a body, as plain data to compare, and random events, valid or not.
 */
import { parseEventColumns, type EventColumns } from "../../schemas/event.ts";
import { parseBodyColumns, parseRawBody } from "../../schemas/raw_body.ts";
import type { RawFormat } from "../../schemas/types.ts";

export interface BodyPathOptions {
  maxEvents: number;
  receivedAt: number;
  decodeMsgpack: (bytes: Uint8Array) => unknown;
}

/** Each path's columns + invalid events, or the error it threw. */
export function bodyPaths(format: RawFormat, options: BodyPathOptions): { general(bytes: Uint8Array): unknown; viaBody(bytes: Uint8Array): unknown } {
  return {
    general: (bytes) =>
      outcome(() => {
        const { columns, invalid } = parseEventColumns(parseRawBody(format, bytes, options), { receivedAt: options.receivedAt });
        return { columns: plainColumns(columns), invalid };
      }),
    viaBody: (bytes) =>
      outcome(() => {
        const { columns, invalid } = parseBodyColumns(format, bytes, options);
        return { columns: plainColumns(columns), invalid };
      }),
  };
}

function outcome(run: () => unknown): unknown {
  try {
    return run();
  } catch (error) {
    return { error: (error as Error).name, message: (error as Error).message };
  }
}

/** Columns as plain data; -0 kept apart from 0, in tags too (assert.equal would not tell them apart). */
export function plainColumns(c: EventColumns): unknown {
  const zero = (x: unknown) => (Object.is(x, -0) ? "-0" : x);
  const numbers = (xs: Float64Array) => Array.from(xs, zero);
  const tags = c.tags?.map((t) => t && Object.fromEntries(Object.entries(t).map(([name, v]) => [name, zero(v)])));
  return { length: c.length, keys: c.keys, ts: numbers(c.ts), values: numbers(c.values), tags, ids: c.ids };
}

export function pick<T>(random: () => number, xs: readonly T[]): T {
  return xs[Math.floor(random() * xs.length)]!;
}

/** Field values an event may carry, valid and not. */
export interface EventSamples {
  validKeys: readonly unknown[];
  badKeys: readonly unknown[];
  validTs: readonly unknown[];
  badTs: readonly unknown[];
  validValues: readonly unknown[];
  badValues: readonly unknown[];
  validTags: readonly unknown[];
  badTags: readonly unknown[];
  validIds: readonly unknown[];
  badIds: readonly unknown[];
}

/** Samples both encodings carry alike, around `receivedAt`. */
export function eventSamples(receivedAt: number): EventSamples {
  return {
    validKeys: ["a", "hot-a", "hot/b é", "ключ", "🔥", "k".repeat(200), "user:42"],
    badKeys: ["", "k".repeat(300), 5, true, "x\u007fy"],
    validTs: [receivedAt - 5000, receivedAt - 1, 1_700_000_000_000, receivedAt - 0.5, "2026-11-22T11:00:00Z", 946_684_800_000],
    badTs: [1_700_000_000, receivedAt + 3_600_000, -1, "yesterday", 5e15],
    validValues: [0, 1, -3, 2.5, 1e300, 123456789012, 0.1],
    badValues: ["3", true],
    validTags: [{}, { region: "eu", n: 2, ok: true }, { "a.b:c-d_e": "x" }, { v: "é".repeat(100) }],
    badTags: [{ "a b": "x" }, { x: {} }, { x: null }, Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`t${i}`, i])), "tags", { v: "x".repeat(300) }],
    validIds: ["e-1", "x".repeat(128)],
    badIds: ["", "x".repeat(129), 7],
  };
}

/** An event; with probability `validity`, one field (or an extra one, or a null value) is bad. */
export function randomEvent(random: () => number, validity: number, s: EventSamples): Record<string, unknown> {
  const bad = random() < validity;
  const e: Record<string, unknown> = {};
  const field = Math.floor(random() * 5);
  e.key = bad && field === 0 ? pick(random, s.badKeys) : pick(random, s.validKeys);
  if (random() < 0.7) e.ts = bad && field === 1 ? pick(random, s.badTs) : pick(random, s.validTs);
  if (random() < 0.7) e.value = bad && field === 2 ? pick(random, s.badValues) : pick(random, s.validValues);
  if (random() < 0.4 || (bad && field === 3)) e.tags = bad && field === 3 ? pick(random, s.badTags) : pick(random, s.validTags);
  if (random() < 0.2 || (bad && field === 4)) e.id = bad && field === 4 ? pick(random, s.badIds) : pick(random, s.validIds);
  if (bad && random() < 0.2) e.extra = 1;
  if (bad && random() < 0.1) e.value = null;
  return e;
}
