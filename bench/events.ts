/**
 * Request bodies for the benches: realistic producer events (`{key, value, tags}` over 10 000
 * keys), pre-encoded once as JSON or MessagePack so encoding costs the load generator nothing,
 * and many distinct bodies so no server can answer from a cache.
 *
 * Events carry no `ts`: bodies are re-sent for the whole run, and a timestamp taken when they
 * were built would fall behind the watermark and be dead-lettered as late; without one the
 * pipeline stamps the receive time, as it does for producers that do not send one.
 */
import { MessageCodec } from "../runtime/codec/codec.ts";
import { mulberry32 } from "../test/helpers/random.ts";

export interface BenchEvent {
  key: string;
  value: number;
  tags: Record<string, string | number | boolean>;
}

export type BodyFormat = "json" | "msgpack";

export const contentTypes: Record<BodyFormat, string> = {
  json: "application/json",
  msgpack: "application/msgpack",
};

const regions = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"];
const devices = ["mobile", "desktop", "tablet"];

/** A small seeded PRNG, so every run sends the same bodies. */
export const seededRandom = mulberry32;

export function benchEvent(random: () => number, keys: number): BenchEvent {
  return {
    key: `k${Math.floor(random() * keys)}`,
    value: 1,
    tags: {
      region: regions[Math.floor(random() * regions.length)]!,
      device: devices[Math.floor(random() * devices.length)]!,
      beta: random() < 0.1,
    },
  };
}

export interface BodySet {
  bodies: Uint8Array[];
  eventsPerBody: number;
  /** Mean body size (bytes). */
  meanBytes: number;
}

/**
 * `distinct` bodies of `eventsPerBody` events each. With `eventsPerBody` 1 and `single`, a
 * body is one event object rather than an array of one.
 */
export function makeBodies(options: { format: BodyFormat; eventsPerBody: number; distinct: number; keys: number; single?: boolean; seed?: number }): BodySet {
  const random = seededRandom(options.seed ?? 1);
  const codec = new MessageCodec();
  const text = new TextEncoder();
  const bodies: Uint8Array[] = [];
  for (let i = 0; i < options.distinct; i++) {
    const events = Array.from({ length: options.eventsPerBody }, () => benchEvent(random, options.keys));
    const value = options.single ? events[0] : events;
    bodies.push(options.format === "json" ? text.encode(JSON.stringify(value)) : codec.encodeValue(value));
  }
  const meanBytes = bodies.reduce((n, b) => n + b.byteLength, 0) / bodies.length;
  return { bodies, eventsPerBody: options.eventsPerBody, meanBytes };
}
