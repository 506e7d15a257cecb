/**
 * How many partitions `tw.events` and `tw.agg` have in a run (setting `partitions`, 0 = auto).
 *
 * Partitions are how aggregate and detect spread over instances, which only NATS has. Over
 * NATS auto is 16, the design's default. An embedded process runs one aggregate and one
 * detect on one thread for all partitions, so each one only multiplied the messages: decode
 * wrote up to 16 per request group, each with its own envelope, log record, delivery and
 * acknowledgement, and each listing the group's tag sets again. Embedded, auto is 1 (what it
 * gave: README, Known limits).
 *
 * A data directory keeps the count it started with: its durable consumers `aggregate-p<n>`
 * and `detect-p<n>` are forever (in_process.ts), and input left for a partition that no longer
 * exists would never be consumed. It records the count in PARTITIONS_FILE on its first start
 * (one started before that is read from its consumers: the count it was started with, 16
 * unless --partitions said otherwise). Auto follows it; a different explicit count is refused
 * at start, by name.
 */
import type { Platform } from "../runtime/platform/platform.ts";
import { ConfigError } from "../runtime/core/errors.ts";
import { durableGroups } from "../runtime/transport/in_process.ts";
import { usesNats } from "./transport.ts";
import { dataDirOf, type TrendwireConfig } from "./config.ts";

/** Auto over NATS. */
export const NATS_PARTITIONS = 16;

/** Where an embedded data directory records its partition count: `{"partitions": n}`. */
export const PARTITIONS_FILE = "partitions.json";

/** `config` with `partitions` resolved (never 0); embedded, the data directory records it on its first start. */
export async function withPartitions(config: TrendwireConfig, platform: Platform): Promise<TrendwireConfig> {
  if (usesNats(config)) return config.partitions === 0 ? Object.freeze({ ...config, partitions: NATS_PARTITIONS }) : config;
  const dataDir = dataDirOf(config);
  const recorded = await recordedPartitions(platform, dataDir);
  let found = recorded;
  let readable = true;
  if (found === undefined) {
    try {
      found = await partitionsOfConsumers(platform, dataDir);
    } catch {
      // An unreadable log (a damaged consumer state, a file where the directory should be):
      // opening it fails next with the reason. Nothing is recorded, so once it is repaired its
      // consumers are read again instead of a guess standing in for them.
      readable = false;
    }
  }
  const partitions = config.partitions === 0 ? (found ?? 1) : config.partitions;
  if (found !== undefined && found !== partitions) {
    throw new ConfigError(
      "partitions",
      `the data directory ${dataDir} was started with ${found} partitions, not ${partitions}: its input is queued by partition. ` +
        `Leave partitions unset (0 follows the data directory) or start a new data directory`,
    );
  }
  if (recorded === undefined && readable) {
    await platform.fs.writeFileAtomic(`${dataDir}/${PARTITIONS_FILE}`, new TextEncoder().encode(JSON.stringify({ partitions }) + "\n"), { sync: true });
  }
  return partitions === config.partitions ? config : Object.freeze({ ...config, partitions });
}

/** The partition count an embedded data directory records (PARTITIONS_FILE), or undefined for one that has none. */
export async function recordedPartitions(platform: Platform, dataDir: string): Promise<number | undefined> {
  const path = `${dataDir}/${PARTITIONS_FILE}`;
  const bytes = await platform.fs.readFile(path);
  if (bytes === undefined) return undefined;
  let n: unknown;
  try {
    n = (JSON.parse(new TextDecoder().decode(bytes)) as { partitions?: unknown })?.partitions;
  } catch {
    n = undefined;
  }
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) {
    throw new ConfigError("partitions", `${path} does not hold the data directory's partition count ({"partitions": <n>}); restore it or start a new data directory`);
  }
  return n;
}

/**
 * For a data directory started before it recorded its count: one past its highest
 * aggregate-p<n> or detect-p<n> consumer (a process consumes every partition it owns from its
 * start); undefined for a new directory. Throws when the log cannot be read.
 */
export async function partitionsOfConsumers(platform: Platform, dataDir: string): Promise<number | undefined> {
  const log = `${dataDir}/log`;
  const groups = [...(await durableGroups(platform.fs, log, "TW_EVENTS")), ...(await durableGroups(platform.fs, log, "TW_AGG"))];
  let highest = -1;
  for (const group of groups) {
    const m = /^(?:aggregate|detect)-p(\d+)$/.exec(group);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest < 0 ? undefined : highest + 1;
}
