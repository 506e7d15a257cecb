/**
 * The in-process transport: embedded mode's stand-in for NATS JetStream, with the same
 * contract (test/conformance/transport.ts) and the same meaning of "durable".
 *
 * - Each stream appends accepted messages to its own log directory, `<dir>/<stream>/`
 *   (segment files, see log_segments.ts and log_record.ts), and a publish resolves only once
 *   its record is written and fsync'd; concurrent publishes share one write + sync.
 * - Each consumer group's settled set is persisted atomically beside the log
 *   (`<dir>/<stream>/<group>.consumer.json`, see in_process_group_state.ts) when it is created,
 *   then at most every `checkpointIntervalMs`, on stop and on close. After a crash, whatever a
 *   group had not settled as of its last persisted state is delivered again (at-least-once).
 * - Recovery happens when ensureStreams first names a stream: the log is read back (torn tails
 *   truncated), the groups' states restored, and every message some known group has not
 *   settled is held again for delivery. `value` is not persisted: after recovery consumers
 *   decode `data`. Nor is it kept past each group's first delivery: redeliveries carry `data`
 *   alone.
 * - Memory: a stream holds what some group still needs (bounded by maxBytes, then
 *   BackpressureError) — see in_process_stream.ts for retention. Log segments go once every
 *   message in them is settled (or dropped) and older than the duplicate window, so msgId
 *   de-duplication survives a restart.
 *
 * Group membership: several consume() calls with one group share its messages. The group's
 * options are those of the latest consume() call; onDead is that of the member that picks the
 * dead message up (members of a group are expected to pass the same options). Groups are
 * forever: a group that consumed a stream once keeps holding its messages.
 */
import type { Clock, TimerHandle } from "../core/clock.ts";
import { ConfigError, TransportUnavailableError } from "../core/errors.ts";
import type { FileSystem } from "../platform/platform.ts";
import { Member } from "./in_process_consumer.ts";
import { FilterSpansStreamsError, GroupConflictError, InvalidSubjectError, NoStreamError } from "./in_process_errors.ts";
import { Group } from "./in_process_group.ts";
import { readGroupStates, writeGroupState } from "./in_process_group_state.ts";
import { definedOnly, groupConfig, parseOptions, positive, type InProcessOptions } from "./in_process_options.ts";
import { StreamState } from "./in_process_stream.ts";
import { fileSafe, filtersOverlap, isLiteralSubject, isValidFilter } from "./in_process_subjects.ts";
import { SegmentLog, type BlockingIo } from "./log_segments.ts";
import { subjectMatches } from "./transport.ts";
import type {
  ConsumeOptions, Consumer, DeliveryHandler, PublishAck, PublishOptions, StreamSpec, Transport,
} from "./transport.ts";

export { FilterSpansStreamsError, GroupConflictError, InvalidSubjectError, NoStreamError } from "./in_process_errors.ts";
export { ConsumerStateError } from "./in_process_errors.ts";
export type { InProcessOptions } from "./in_process_options.ts";

export interface StreamInfo {
  name: string;
  /** Messages held in memory. */
  messages: number;
  /** Payload bytes held in memory or being written. */
  bytes: number;
  lastSeq: number;
  groups: string[];
  /** Log segment file names, oldest first ([] when not durable). */
  segments: string[];
}

/**
 * The consumer groups a log directory `dir` holds for `stream` (their persisted states), read
 * without opening the log: what a process can check before it decides how to start on it.
 */
export async function durableGroups(fs: FileSystem, dir: string, stream: string): Promise<string[]> {
  return (await readGroupStates(fs, `${dir}/${fileSafe(stream)}`)).map((g) => g.group);
}

export class InProcessTransport implements Transport {
  readonly #fs: FileSystem;
  readonly #dir: string;
  readonly #clock: Clock;
  readonly #durable: boolean;
  readonly #syncIntervalMs: number;
  readonly #segmentBytes: number;
  readonly #blockingIo: BlockingIo | undefined;
  readonly #checkpointMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #onLogFailure: ((stream: string, error: unknown) => void) | undefined;
  readonly #streams = new Map<string, StreamState>();
  readonly #bySubject = new Map<string, StreamState | null>();
  readonly #members = new Set<Member>();
  /** Stream creation/recovery, one after another. */
  #setup: Promise<void> = Promise.resolve();
  /** Consumer-state writes and segment deletions, one after another. */
  #housekeeping: Promise<void> = Promise.resolve();
  #timer: TimerHandle | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: InProcessOptions) {
    const o = parseOptions(options);
    this.#fs = o.fs;
    this.#dir = o.dir;
    this.#clock = o.clock;
    this.#durable = o.durable;
    this.#syncIntervalMs = o.syncIntervalMs;
    this.#segmentBytes = o.segmentBytes;
    this.#blockingIo = o.blockingIo;
    this.#checkpointMs = o.checkpointIntervalMs;
    this.#onError = o.onError;
    this.#onLogFailure = o.onLogFailure;
  }

  ensureStreams(specs: StreamSpec[]): Promise<void> {
    const run = this.#setup.then(() => this.#ensure(specs));
    this.#setup = run.catch(() => undefined);
    return run;
  }

  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishAck> {
    if (this.#closed) throw new TransportUnavailableError("transport is closed");
    return this.#streamFor(subject).publish(subject, data, options);
  }

  async consume(filter: string, group: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    if (this.#closed) throw new TransportUnavailableError("transport is closed");
    if (!isValidFilter(filter)) throw new InvalidSubjectError(filter);
    const config = groupConfig(options);
    await this.#setup;
    const reached = [...this.#streams.values()].filter((s) => s.spec.subjects.some((f) => filtersOverlap(f, filter)));
    if (reached.length === 0) throw new NoStreamError(filter);
    if (reached.length > 1) throw new FilterSpansStreamsError(filter, reached.map((s) => s.spec.name));
    const stream = reached[0];
    let g = stream.groups.get(group);
    if (!g) {
      g = new Group(group, stream, filter, stream.lowestHeldSeq() - 1, this.#clock, () => this.#scheduleHousekeeping());
      stream.groups.set(group, g);
      g.claimHeld();
      // Known before it resolves: a crash must not forget a group that may hold messages.
      if (this.#durable) await this.#persist(stream, [g]);
    } else if (g.filter !== filter) {
      if (g.members > 0) throw new GroupConflictError(group, filter, g.filter);
      g.setFilter(filter);
    }
    if (this.#closed) throw new TransportUnavailableError("transport is closed");
    g.config = config;
    const attached = g;
    const member: Member = new Member(attached, handler, options.onDead, async () => {
      this.#members.delete(member);
      if (this.#durable && !this.#closed) await this.#persist(stream, [attached]);
    });
    this.#members.add(member);
    return member;
  }

  /** Stops consumers, flushes the log, persists consumer state, closes files, stops timers. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  /** What a stream holds right now, for metrics and tests; undefined for an unknown stream. */
  streamInfo(name: string): StreamInfo | undefined {
    const s = this.#streams.get(name);
    if (!s) return undefined;
    return {
      name, messages: s.messages.size, bytes: s.bytes, lastSeq: s.lastSeq, groups: [...s.groups.keys()],
      segments: s.log ? s.log.segments.map((seg) => seg.name) : [],
    };
  }

  async #ensure(specs: StreamSpec[]): Promise<void> {
    if (this.#closed) throw new TransportUnavailableError("transport is closed");
    specs.forEach((spec, i) => this.#validate(spec, i, specs));
    for (const spec of specs) {
      const existing = this.#streams.get(spec.name);
      if (existing) existing.spec = { ...existing.spec, ...definedOnly(spec), subjects: [...spec.subjects] };
      else this.#streams.set(spec.name, await this.#open(spec));
    }
    this.#bySubject.clear();
  }

  #validate(spec: StreamSpec, i: number, specs: StreamSpec[]): void {
    if (!spec.name) throw new ConfigError(`streams[${i}].name`, "must not be empty");
    if (spec.subjects.length === 0) throw new ConfigError(`streams[${i}].subjects`, "must not be empty");
    for (const f of spec.subjects) if (!isValidFilter(f)) throw new ConfigError(`streams[${i}].subjects`, `invalid filter ${f}`);
    if (spec.maxBytes !== undefined) positive(`streams[${i}].maxBytes`, spec.maxBytes);
    const others = [
      ...[...this.#streams.values()].map((s) => s.spec),
      ...specs.filter((s) => !this.#streams.has(s.name)),
    ].filter((s) => s.name !== spec.name);
    for (const other of others) {
      if (spec.subjects.some((a) => other.subjects.some((b) => filtersOverlap(a, b)))) {
        throw new ConfigError(`streams[${i}].subjects`, `overlap with stream ${other.name}`);
      }
    }
  }

  async #open(spec: StreamSpec): Promise<StreamState> {
    const stream = new StreamState(spec, this.#clock, () => this.#scheduleHousekeeping());
    if (!this.#durable) return stream;
    const dir = this.#streamDir(stream);
    await this.#fs.mkdirp(dir);
    let high = 0;
    for (const snapshot of await readGroupStates(this.#fs, dir)) {
      const group = Group.fromSnapshot(snapshot, stream, this.#clock, () => this.#scheduleHousekeeping());
      stream.groups.set(group.name, group);
      high = Math.max(high, group.highestKnownSeq());
    }
    const now = this.#clock.now();
    const onLogFailure = this.#onLogFailure;
    stream.log = await SegmentLog.open(
      {
        fs: this.#fs, dir, stream: stream.spec.name, clock: this.#clock, syncIntervalMs: this.#syncIntervalMs, segmentBytes: this.#segmentBytes, blockingIo: this.#blockingIo,
        onFailure: onLogFailure && ((error) => onLogFailure(stream.spec.name, error)),
      },
      (record) => stream.restore(record, now),
    );
    stream.lastSeq = stream.visibleSeq = Math.max(stream.lastSeq, stream.log.recovery.lastSeq, high);
    return stream;
  }

  #streamFor(subject: string): StreamState {
    let stream = this.#bySubject.get(subject);
    if (stream === undefined) {
      if (!isLiteralSubject(subject)) throw new InvalidSubjectError(subject);
      stream = [...this.#streams.values()].find((s) => s.spec.subjects.some((f) => subjectMatches(f, subject))) ?? null;
      if (this.#bySubject.size >= 10_000) this.#bySubject.clear();
      this.#bySubject.set(subject, stream);
    }
    if (!stream) throw new NoStreamError(subject);
    return stream;
  }

  #streamDir(stream: StreamState): string {
    return `${this.#dir}/${fileSafe(stream.spec.name)}`;
  }

  #scheduleHousekeeping(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#housekeep();
    }, this.#checkpointMs);
  }

  /**
   * Drops aged messages and ids, persists changed groups, then deletes settled segments — in
   * that order, so no segment goes before the group states that settled it are on disk.
   */
  async #housekeep(): Promise<void> {
    const now = this.#clock.now();
    for (const stream of this.#streams.values()) {
      try {
        stream.dropAged(now);
        stream.pruneIds(now);
        if (!this.#durable) continue;
        const below = stream.lowestHeldSeq();
        await this.#persist(stream, [...stream.groups.values()].filter((g) => g.dirty));
        if (this.#closed) return;
        await this.#serially(async () => {
          await stream.log?.prune(below, now - stream.spec.duplicateWindowMs);
        });
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** Writes the groups' states; a failure marks them dirty again for the next round. */
  #persist(stream: StreamState, groups: Group[]): Promise<void> {
    if (groups.length === 0) return Promise.resolve();
    return this.#serially(async () => {
      for (const g of groups) {
        g.dirty = false;
        try {
          await writeGroupState(this.#fs, this.#streamDir(stream), g.snapshot());
        } catch (error) {
          g.dirty = true;
          this.#scheduleHousekeeping();
          throw error;
        }
      }
    });
  }

  #serially(work: () => Promise<void>): Promise<void> {
    const run = this.#housekeeping.then(work);
    this.#housekeeping = run.catch(() => undefined);
    return run;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    await this.#setup;
    for (const member of this.#members) member.detach();
    this.#members.clear();
    for (const stream of this.#streams.values()) for (const g of stream.groups.values()) g.close();
    for (const stream of this.#streams.values()) await stream.log?.close();
    if (this.#durable) {
      for (const stream of this.#streams.values()) {
        await this.#persist(stream, [...stream.groups.values()].filter((g) => g.dirty)).catch((e) => this.#onError(e));
      }
    }
    await this.#housekeeping;
  }
}
