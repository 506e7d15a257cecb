/**
 * Options of the in-process transport and of its consumer groups: documented defaults, and
 * one parse step that rejects a bad value by field name (ConfigError).
 */
import { nonNegative, positive } from "../core/config.ts";
export { nonNegative, positive };
import { systemClock, type Clock } from "../core/clock.ts";
import type { FileSystem } from "../platform/platform.ts";
import type { ConsumeOptions, StreamSpec } from "./transport.ts";
import type { BlockingIo } from "./log_segments.ts";

export interface InProcessOptions {
  /** Where the log lives. */
  fs: FileSystem;
  /** Log directory, e.g. "./data/.log". */
  dir: string;
  /** Timers (ack wait, nak delay, dedupe window, group commit) read it. Defaults to systemClock. */
  clock?: Clock;
  /**
   * Group commit: appends are fsync'd together at most this often (ms), on `clock`. Defaults
   * to 0: each sync takes what was appended while the previous one ran (on this machine an
   * fdatasync takes 0.1–0.4 ms, and spacing them 2 ms apart cost single-event requests a
   * fifth of their rate). With a SimulatedClock and an interval, advance the clock, or
   * publishes wait for simulated time.
   */
  syncIntervalMs?: number;
  /** Segment files roll over at this size. Defaults to 64 MiB. */
  segmentBytes?: number;
  /**
   * The log writes and syncs on the calling thread instead of the I/O pool (FileSystem.openAppend's
   * `blocking`), for a transport on a thread of its own (the embedded stages thread). A blocking
   * flush holds the thread, so publishes arriving as port messages meanwhile could not join it,
   * each getting a flush of its own: `deferFlush` starts a flush after the messages already
   * waiting (Platform.afterPendingMessages), so they share it. Defaults to undefined: the pool.
   */
  blockingIo?: BlockingIo;
  /** Defaults to true; false = memory only (no files at all). */
  durable?: boolean;
  /** Consumer state is persisted at most this often (ms) while it changes. Defaults to 1000. */
  checkpointIntervalMs?: number;
  /** Background failures (persisting consumer state, deleting segments); they are retried. Defaults to console.warn. */
  onError?(error: unknown): void;
  /**
   * A stream's log failed to write or sync. It then refuses every publish to that stream (it
   * cannot know what reached the disk) until a restart recovers it; called once per stream.
   */
  onLogFailure?(stream: string, error: unknown): void;
}

export type ParsedOptions = Required<Omit<InProcessOptions, "onError" | "blockingIo" | "onLogFailure">> & {
  onError(error: unknown): void;
  blockingIo: BlockingIo | undefined;
  onLogFailure: ((stream: string, error: unknown) => void) | undefined;
};

export function parseOptions(options: InProcessOptions): ParsedOptions {
  return {
    fs: options.fs,
    dir: options.dir.replace(/\/+$/, "") || ".",
    clock: options.clock ?? systemClock,
    durable: options.durable ?? true,
    syncIntervalMs: nonNegative("syncIntervalMs", options.syncIntervalMs ?? 0),
    segmentBytes: positive("segmentBytes", options.segmentBytes ?? 64 * 1024 * 1024),
    blockingIo: options.blockingIo,
    checkpointIntervalMs: nonNegative("checkpointIntervalMs", options.checkpointIntervalMs ?? 1000),
    onError: options.onError ?? ((error) => console.warn("in-process transport:", error)),
    onLogFailure: options.onLogFailure,
  };
}

export interface GroupConfig {
  maxAckPending: number;
  ackWaitMs: number;
  maxDeliver: number;
  backoffMs: number[];
}

export const DEFAULT_GROUP_CONFIG: Readonly<GroupConfig> = Object.freeze({
  maxAckPending: 1000,
  ackWaitMs: 30_000,
  maxDeliver: 5,
  backoffMs: [100, 500, 2000, 5000],
});

/** A consume() call's options over the defaults. */
export function groupConfig(o: ConsumeOptions): GroupConfig {
  return {
    maxAckPending: positive("maxAckPending", o.maxAckPending ?? DEFAULT_GROUP_CONFIG.maxAckPending),
    ackWaitMs: positive("ackWaitMs", o.ackWaitMs ?? DEFAULT_GROUP_CONFIG.ackWaitMs),
    maxDeliver: positive("maxDeliver", o.maxDeliver ?? DEFAULT_GROUP_CONFIG.maxDeliver),
    backoffMs: (o.backoffMs ?? DEFAULT_GROUP_CONFIG.backoffMs).map((ms, i) => nonNegative(`backoffMs[${i}]`, ms)),
  };
}


export function definedOnly(spec: StreamSpec): Partial<StreamSpec> {
  return Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) as Partial<StreamSpec>;
}
