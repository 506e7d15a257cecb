/**
 * `npm run bench -- parse`: ingest's body parsing per event, in this process, on the pipeline
 * bench's bodies (bench/events.ts): for JSON, NDJSON and MessagePack batches, the general path
 * (JSON.parse or the codec's decoder, then parseEventColumns) beside the path ingest takes
 * (parseBodyColumns: json_events.ts / msgpack_events.ts for bodies of the usual shape), and
 * JSON.parse or the decoder alone (what the bare server of the pipeline bench does). The paths
 * take turns, `--rounds` times `--round-ms` each, so a machine whose speed drifts (a VM's
 * cores) affects them alike; reported: the median and fastest round, µs per event, and the
 * median over rounds of each path's time ÷ the general path's in the same round.
 *
 * Prints the machine, a table and, last, one JSON object.
 */
import { describeMachine, machineInfo } from "./machine.ts";
import { formatTable } from "./table.ts";
import { BenchUsageError, intFlag, listFlag } from "./flags.ts";
import { makeBodies } from "./events.ts";
import type { RawFormat } from "../schemas/types.ts";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { parseEventColumns } from "../schemas/event.ts";
import { parseBodyColumns, parseRawBody } from "../schemas/raw_body.ts";
import { median } from "./pipeline_repeats.ts";

export const parseHelp = `Usage: npm run bench -- parse [options]

Ingest's body parsing, µs per event, on this thread (pin it with taskset -c N to compare a
machine's cores): for each format, JSON.parse (per line for NDJSON) or the MessagePack decoder
alone (the bare server's work), the general path (that + parseEventColumns), and the path
ingest takes (parseBodyColumns, which reads bodies of the usual shape straight into columns).
The paths take turns, round after round; "÷ general" is the median over rounds of a path's
time ÷ the general path's in the same round.

Options:
  --formats <list>      json, ndjson, msgpack (default all three; NDJSON: the JSON bodies'
                        events one per line)
  --batch-size 1000     events per body
  --bodies 64           distinct bodies, parsed in rotation
  --keys 10000          distinct event keys
  --rounds 15           rounds per path
  --round-ms 200        milliseconds per round
  --unique-tags         every event's tags also carry a value no other event has (a request
                        id): the case the tag caches cannot help
`;

const known = ["formats", "batch-size", "bodies", "keys", "rounds", "round-ms", "unique-tags"];

type PathName = "decode only" | "general" | "ingest";

interface PathResult {
  format: RawFormat;
  path: PathName;
  medianUs: number;
  fastestUs: number;
  /** Median over rounds of this path's µs ÷ the general path's in the same round (drift cancels). */
  ofGeneral: number;
  /** Events parsed, over all rounds (a sanity check that the rounds did work). */
  events: number;
}

/**
 * The bench bodies in `format` (NDJSON: the JSON bodies' events one per line); with
 * `uniqueTags`, every event's tags also carry a value no other event has (a request id).
 */
function benchBodies(format: RawFormat, batchSize: number, distinct: number, keys: number, uniqueTags: boolean): Uint8Array[] {
  if (format !== "ndjson" && !uniqueTags) return makeBodies({ format, eventsPerBody: batchSize, distinct, keys }).bodies;
  const codec = new MessageCodec();
  const text = new TextEncoder();
  let request = 0;
  return makeBodies({ format: "json", eventsPerBody: batchSize, distinct, keys }).bodies.map((b) => {
    const events = JSON.parse(new TextDecoder().decode(b)) as { tags: Record<string, unknown> }[];
    if (uniqueTags) for (const e of events) e.tags = { ...e.tags, request: `r-${request++}` };
    if (format === "msgpack") return codec.encodeValue(events);
    return text.encode(format === "ndjson" ? events.map((e) => JSON.stringify(e)).join("\n") + "\n" : JSON.stringify(events));
  });
}

export async function parseBench(flags: Record<string, string | boolean>): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  const formats = listFlag(flags, "formats", ["json", "ndjson", "msgpack"] as const);
  const batchSize = intFlag(flags, "batch-size", 1000, 1);
  const distinct = intFlag(flags, "bodies", 64, 1);
  const keys = intFlag(flags, "keys", 10_000, 1);
  const rounds = intFlag(flags, "rounds", 15, 1);
  const roundMs = intFlag(flags, "round-ms", 200, 1);
  if (flags["unique-tags"] !== undefined && flags["unique-tags"] !== true) throw new BenchUsageError("--unique-tags takes no value");
  const uniqueTags = flags["unique-tags"] === true;
  const machine = machineInfo();
  console.log(describeMachine(machine));
  const codec = new MessageCodec();
  const decodeMsgpack = (b: Uint8Array) => codec.decodeValue(b);
  const results: PathResult[] = [];
  for (const format of formats) {
    const bodies = benchBodies(format, batchSize, distinct, keys, uniqueTags);
    const receivedAt = Date.now();
    const options = { maxEvents: batchSize, decodeMsgpack, receivedAt };
    const paths: Record<PathName, (bytes: Uint8Array) => number> = {
      "decode only": (bytes) => (parseRawBody(format, bytes, options)).length,
      general: (bytes) => parseEventColumns(parseRawBody(format, bytes, options), { receivedAt }).columns.length,
      ingest: (bytes) => parseBodyColumns(format, bytes, options).columns.length,
    };
    const names = Object.keys(paths) as PathName[];
    const perRound = new Map<PathName, number[]>(names.map((n) => [n, []]));
    const counted = new Map<PathName, number>(names.map((n) => [n, 0]));
    for (let round = 0; round < rounds; round++) {
      for (const name of round % 2 === 0 ? names : [...names].reverse()) {
        const parse = paths[name];
        let events = 0;
        let i = 0;
        const start = performance.now();
        let elapsed = 0;
        while (elapsed < roundMs) {
          events += parse(bodies[i++ % bodies.length]!);
          elapsed = performance.now() - start;
        }
        perRound.get(name)!.push((elapsed * 1000) / events);
        counted.set(name, counted.get(name)! + events);
      }
    }
    const general = perRound.get("general")!;
    for (const name of names) {
      const us = perRound.get(name)!;
      results.push({ format, path: name, medianUs: median(us), fastestUs: Math.min(...us), ofGeneral: median(us.map((u, round) => u / general[round]!)), events: counted.get(name)! });
    }
  }
  console.log(`\nBodies of ${batchSize} events (${keys} keys, ${distinct} distinct bodies${uniqueTags ? ", a unique tag value per event" : ""}), ${rounds} rounds of ${roundMs} ms per path, taking turns:`);
  console.log(formatTable(
    ["format", "path", "median µs/event", "fastest µs/event", "÷ general (median of rounds)"],
    results.map((r) => [r.format, r.path, r.medianUs.toFixed(3), r.fastestUs.toFixed(3), `${(r.ofGeneral * 100).toFixed(0)} %`]),
  ));
  console.log(JSON.stringify({ bench: "parse", at: new Date().toISOString(), machine, config: { formats, batchSize, bodies: distinct, keys, rounds, roundMs, uniqueTags }, results }));
}
