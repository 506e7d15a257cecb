/**
 * aggregate: folds canonical events (`tw.events.<partition>`, the partitions this instance owns)
 * into tumbling event-time windows per (stream, key) and publishes closed windows as
 * `tw.agg.<partition>` batches. Watermarks are kept per (partition, stream). Late events are dead-lettered with the reason and counted,
 * never dropped silently. Idle streams still close their windows (a processing-time tick).
 *
 * Exactly-once state: input is acknowledged only when a checkpoint holding the windows and the
 * last input sequence is saved; after a crash the checkpoint is restored and redelivered input
 * at or below that sequence is skipped. Output ids derive from the windows' content, so windows
 * republished after a crash are dropped as duplicates.
 */
import type { ActorBehaviour, ActorContext, InputSpec, MessageInput } from "../../runtime/core/actor.ts";
import { partitionInputs } from "../../runtime/core/partitions.ts";
import {
  eventAt, eventColumnsOf, MessageType, validateEventBatch, type AggBatch, type DeadLetterEntry, type EventBatch, type WindowAggregate,
} from "../../schemas/mod.ts";
import { DEFAULT_MAX_IDLE_STREAMS, DEFAULT_MAX_OPEN_WINDOWS, Windower, type WindowerOptions, type WindowerSnapshot } from "./windows.ts";
import { packSnapshot, unpackSnapshot, type PackedWindowerSnapshot } from "./windows_packed.ts";

export interface AggregateConfig {
  partitions: number;
  /** Partitions this instance owns (see runtime/core/partitions.ts). */
  owned: number[];
  windows: WindowerOptions;
  /** Processing-time tick that closes idle streams' windows (ms). Defaults to 1000. */
  tickMs: number;
  /** Late events listed in one dead-letter entry at most (the count is always exact). Defaults to 1000. */
  maxLateListed: number;
}

export interface AggregateState {
  /** By partition. */
  windowers: Map<number, Windower>;
}

/** Per partition its windower's state, packed (windows_packed.ts; older checkpoints: plain). */
type Snapshot = [number, PackedWindowerSnapshot | WindowerSnapshot][];

/** 53-bit FNV-1a-style hash of the windows' identity and totals, for deterministic message ids. */
function windowsDigest(windows: readonly WindowAggregate[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    }
  };
  for (const w of windows) mix(`${w.stream}\u0000${w.key}\u0000${w.windowStart}\u0000${w.revision}\u0000${w.count}\u0000${w.sum};`);
  return (h1 >>> 0).toString(36) + (h2 >>> 0).toString(36);
}

/**
 * Publishes one partition's windows as one `tw.agg.<partition>` batch with a content-derived id.
 * Not awaited by callers: the runtime holds the input's acknowledgement until it is durable.
 */
function publishWindows(partition: number, windows: WindowAggregate[], windower: Windower, ctx: ActorContext): void {
  if (windows.length === 0) return;
  const watermarks: Record<string, number> = {};
  for (const w of windows) {
    const wm = windower.watermark(w.stream);
    if (wm !== undefined) watermarks[w.stream] = wm;
  }
  const batch: AggBatch = { partition, windows, watermarks };
  ctx.metrics.counter("tw_windows_emitted_total", "Windows emitted by aggregate (revisions included)").inc(undefined, windows.length);
  ctx.publish(`tw.agg.${partition}`, MessageType.AggBatch, batch, { id: `agg:${partition}:${windows.length}:${windowsDigest(windows)}` });
}

/** Each windower's forgotten streams already counted in tw_aggregate_streams_forgotten_total. */
const forgottenCounted = new WeakMap<Windower, number>();

/** Stream states, and those forgotten since the last report (Windower's "Bounded streams"), over this instance's partitions. */
function reportStreams(state: AggregateState, ctx: ActorContext): void {
  let streams = 0;
  let forgotten = 0;
  for (const windower of state.windowers.values()) {
    const stats = windower.stats();
    streams += stats.streams;
    forgotten += stats.forgottenStreams - (forgottenCounted.get(windower) ?? 0);
    forgottenCounted.set(windower, stats.forgottenStreams);
  }
  ctx.metrics.gauge("tw_aggregate_streams", "Stream states (watermark, windows) aggregate holds, over its partitions (a stream once per partition its keys fall in)").set(streams, { actor: ctx.name });
  if (forgotten > 0) ctx.metrics.counter("tw_aggregate_streams_forgotten_total", "Streams holding no window that aggregate forgot, beyond maxIdleStreams").inc(undefined, forgotten);
}

export function aggregateActor(config: AggregateConfig): ActorBehaviour<AggregateState> {
  const inputs: InputSpec[] = partitionInputs("tw.events", config.owned, "aggregate").map(({ filter, group }) => ({
    filter,
    group,
    type: MessageType.EventBatch,
    validate: validateEventBatch,
    ack: "checkpoint",
  }));
  // One Windower per partition: a partition's events arrive in the order producers' batches
  // were accepted, so its watermark (per stream) never runs ahead of events still queued in
  // another partition's input. Idle partitions close their windows by the wall-clock rule.
  // The instance's bound on windows is shared out among the partitions it owns (a window is in
  // one partition). The bound on idle streams is not: a stream has state in every partition its
  // keys fall in, so a share would forget streams P times sooner than the setting says.
  const windowerOptions: WindowerOptions = {
    ...config.windows,
    maxOpenWindows: Math.max(1, Math.floor((config.windows.maxOpenWindows ?? DEFAULT_MAX_OPEN_WINDOWS) / Math.max(1, config.owned.length))),
    maxIdleStreams: config.windows.maxIdleStreams ?? DEFAULT_MAX_IDLE_STREAMS,
  };
  const windowerFor = (state: AggregateState, partition: number): Windower => {
    let w = state.windowers.get(partition);
    if (!w) state.windowers.set(partition, (w = new Windower(windowerOptions)));
    return w;
  };
  return {
    kind: "aggregate",
    inputs,
    checkpointIntervalMs: 1000,
    init(ctx) {
      const windowers = new Map<number, Windower>();
      const restored = ctx.restored()?.snapshot as Snapshot | undefined;
      for (const [partition, snapshot] of restored ?? []) windowers.set(partition, Windower.restore(unpackSnapshot(snapshot), windowerOptions));
      ctx.setTimer("tick", config.tickMs);
      return { windowers };
    },
    receive(state, input, ctx) {
      if (input.kind === "timer") {
        const now = ctx.clock.now();
        for (const [partition, windower] of state.windowers) publishWindows(partition, windower.tick(now), windower, ctx);
        reportStreams(state, ctx);
        ctx.setTimer("tick", config.tickMs);
        return state;
      }
      const batch = (input as MessageInput<EventBatch>).body;
      const events = eventColumnsOf(batch);
      const windower = windowerFor(state, batch.partition);
      const { closed, late } = windower.addColumns(batch.stream, events, ctx.clock.now());
      ctx.metrics.counter("tw_events_aggregated_total", "Events folded into windows, by stream").inc({ stream: batch.stream }, events.length - late.length);
      if (late.length > 0) {
        ctx.metrics.counter("tw_events_late_total", "Events too late for their window, dead-lettered, by stream").inc({ stream: batch.stream }, late.length);
        const first = late[0]!;
        const firstEvent = eventAt(events, first.index);
        const entry: DeadLetterEntry = {
          stage: "aggregate",
          reason: `${late.length} events ${first.reason === "late" ? "arrived after their window closed" : "fell in a force-closed window"} (first: key ${JSON.stringify(firstEvent.key)} ts ${firstEvent.ts} for window starting ${first.windowStart}, watermark ${first.watermark})`,
          at: ctx.clock.now(),
          stream: batch.stream,
          subject: input.subject,
          seq: input.seq,
          payload: { lateCount: late.length, events: late.slice(0, config.maxLateListed).map((l) => ({ ...eventAt(events, l.index), reason: l.reason })) },
        };
        ctx.publish("tw.dlq.aggregate", MessageType.DeadLetter, entry, { id: `dlq:aggregate:${input.subject}:${input.seq}` });
      }
      publishWindows(batch.partition, closed, windower, ctx);
      return state;
    },
    checkpoint(state) {
      const snapshot: Snapshot = [...state.windowers].map(([p, w]) => [p, packSnapshot(w.snapshot())]);
      return { state, snapshot };
    },
    // Shutdown: windows already due close normally; the rest go out as they stand (partial)
    // and stay open in the checkpoint, to be re-emitted with full totals after a restart.
    stop(state, ctx) {
      const now = ctx.clock.now();
      for (const [partition, windower] of state.windowers) {
        const due = windower.tick(now);
        const open: WindowAggregate[] = windower.emitOpen().map((w) => ({ ...w, partial: true }));
        publishWindows(partition, [...due, ...open], windower, ctx);
      }
    },
  };
}
