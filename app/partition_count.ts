/**
 * How many partitions `tw.events` and `tw.agg` have in a run (setting `partitions`, 0 = auto).
 *
 * Partitions are how aggregate and detect spread over instances, which only NATS has. Over
 * NATS auto is 16 (DESIGN). An embedded process runs one aggregate and one detect on one
 * thread for all partitions, so each one only multiplied the messages: decode wrote up to 16
 * per request group, each with its own envelope, log record, delivery and acknowledgement,
 * and each listing the group's tag sets again. Embedded, auto is 1: `npm run bench -- ab`
 * (3 pairs) gave JSON batches +8.6 %, MessagePack batches +8.9 % and one-event requests
 * +15.5 %, with 11–19 % less CPU per event.
 *
 * A data directory keeps the count it started with: its durable consumers `aggregate-p<n>`
 * and `detect-p<n>` are forever (in_process.ts), and input left for a partition that no longer
 * exists would never be consumed. Auto follows the count found there (a directory started
 * before auto existed has 16); a different explicit count is refused at start, by name.
 */
import type { Platform } from "../runtime/platform/platform.ts";
import { ConfigError } from "../runtime/core/errors.ts";
import { durableGroups } from "../runtime/transport/in_process.ts";
import { usesNats } from "./transport.ts";
import type { TrendwireConfig } from "./config.ts";

/** Auto over NATS. */
export const NATS_PARTITIONS = 16;

/** `config` with `partitions` resolved (never 0). */
export async function withPartitions(config: TrendwireConfig, platform: Platform): Promise<TrendwireConfig> {
  if (usesNats(config)) return config.partitions === 0 ? Object.freeze({ ...config, partitions: NATS_PARTITIONS }) : config;
  const dataDir = config.dataDir.replace(/\/+$/, "");
  const found = await partitionsOfDataDir(platform, dataDir);
  if (config.partitions === 0) return Object.freeze({ ...config, partitions: found ?? 1 });
  if (found !== undefined && found !== config.partitions) {
    throw new ConfigError(
      "partitions",
      `the data directory ${dataDir} was started with ${found} partitions, not ${config.partitions}: its input is queued by partition. ` +
        `Leave partitions unset (0 follows the data directory) or start a new data directory`,
    );
  }
  return config;
}

/**
 * The partition count an embedded data directory started with: one past its highest
 * aggregate-p<n> or detect-p<n> consumer; undefined for a new directory, or one whose log
 * cannot be read (opening the log then fails with the reason).
 */
export async function partitionsOfDataDir(platform: Platform, dataDir: string): Promise<number | undefined> {
  const log = `${dataDir}/log`;
  let groups: string[];
  try {
    groups = [...(await durableGroups(platform.fs, log, "TW_EVENTS")), ...(await durableGroups(platform.fs, log, "TW_AGG"))];
  } catch {
    return undefined;
  }
  let highest = -1;
  for (const group of groups) {
    const m = /^(?:aggregate|detect)-p(\d+)$/.exec(group);
    if (m) highest = Math.max(highest, Number(m[1]));
  }
  return highest < 0 ? undefined : highest + 1;
}
