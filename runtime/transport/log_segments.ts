/**
 * One stream's durable log: a directory of append-only segment files named after their first
 * sequence (`00000000000000000001.log`), with group commit.
 *
 * Group commit: `append` queues a record; one flush writes everything queued and syncs once,
 * then resolves every waiting append. While a flush is running, new records queue for the next
 * one, so N concurrent publishers cost about one fsync, not N. (A blocking log holds its thread
 * while it flushes, so nothing queues meanwhile: it starts a flush only after the messages
 * already waiting, which are the publishes a pool flush would have queued.) Flushes start at most every
 * `syncIntervalMs` (measured on the injected clock); 0 starts the next one as soon as the
 * previous finishes.
 *
 * A failed write or sync breaks the log for good: what reached the disk is unknown (and after a
 * failed fsync the page cache cannot be trusted), so every queued and later append rejects with
 * TransportUnavailableError; recovery on the next start sorts out what survived.
 */
import type { Clock, TimerHandle } from "../core/clock.ts";
import { TransportUnavailableError } from "../core/errors.ts";
import type { AppendFile, FileSystem } from "../platform/platform.ts";
import { readRecords, type EncodedRecord, type LogRecord } from "./log_record.ts";

/** How a log that writes and syncs on its own thread starts a flush (see InProcessOptions.blockingIo). */
export interface BlockingIo {
  /** Runs `flush`, the flush of `stream`'s log, once the messages already waiting on this thread are handled. */
  deferFlush(flush: () => void, stream: string): void;
}

/**
 * A BlockingIo that runs one flush a turn, each once the messages already waiting are handled
 * (`defer`: the platform's afterPendingMessages), and when several logs are due at once, those
 * of `first` before the others, oldest first within each. A blocking flush holds the thread:
 * publishers that wait on one log (ingest's 202 on the raw one) should not also wait for logs
 * that gate only the stages' own acknowledgements. Every deferred flush runs: one turn each.
 */
export function flushesFirstFor(first: readonly string[], defer: (run: () => void) => void): BlockingIo {
  const urgent: (() => void)[] = [];
  const others: (() => void)[] = [];
  const runOne = () => (urgent.shift() ?? others.shift())?.();
  return {
    deferFlush(flush, stream) {
      (first.includes(stream) ? urgent : others).push(flush);
      defer(runOne);
    },
  };
}

export interface SegmentLogOptions {
  fs: FileSystem;
  /** The stream's log directory (must exist). */
  dir: string;
  /** The stream's name (for BlockingIo.deferFlush). */
  stream: string;
  clock: Clock;
  syncIntervalMs: number;
  segmentBytes: number;
  /** Write and sync on the calling thread (see InProcessOptions.blockingIo); undefined: the I/O pool. */
  blockingIo: BlockingIo | undefined;
  /** Called once, when a write or sync fails (after its appends are rejected): from then on the log refuses every append. */
  onFailure?(error: unknown): void;
}

export interface SegmentInfo {
  name: string;
  firstSeq: number;
  /** firstSeq - 1 while empty. */
  lastSeq: number;
  /** Publish time of the last record (0 while empty). */
  lastTs: number;
  bytes: number;
}

export interface RecoveryReport {
  records: number;
  /** Bytes cut off torn or corrupt segment tails. */
  truncatedBytes: number;
  /** Highest sequence found (0 for an empty log). */
  lastSeq: number;
}

interface Waiter {
  onDurable: () => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Batch {
  chunks: Uint8Array[];
  bytes: number;
  firstSeq: number;
  lastSeq: number;
  lastTs: number;
  waiters: Waiter[];
}

const SEGMENT_NAME = /^(\d{20})\.log$/;

export class SegmentLog {
  readonly #o: SegmentLogOptions;
  #segments: SegmentInfo[] = [];
  #file: AppendFile | undefined;
  #batch: Batch | undefined;
  #flushing: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #scheduled = false;
  #lastFlushAt = -Infinity;
  #failure: unknown;
  #closed = false;
  readonly recovery: RecoveryReport = { records: 0, truncatedBytes: 0, lastSeq: 0 };

  private constructor(options: SegmentLogOptions) {
    this.#o = options;
  }

  /**
   * Opens the log, handing every intact record to `onRecord` in sequence order (record data
   * are views into a segment buffer: copy what you keep). Torn tails are truncated.
   */
  static async open(options: SegmentLogOptions, onRecord: (record: LogRecord) => void): Promise<SegmentLog> {
    const log = new SegmentLog(options);
    await log.#recover(onRecord);
    return log;
  }

  /** Segments, oldest first; the last one is the one being appended to. */
  get segments(): readonly SegmentInfo[] {
    return this.#segments;
  }

  /**
   * Queues a record. `onDurable` runs (in sequence order, before any append promise of its
   * flush resolves) once the record is synced; the promise then resolves.
   */
  append(record: EncodedRecord, seq: number, ts: number, onDurable: () => void): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(unavailable(this.#failure));
    if (this.#closed) return Promise.reject(new TransportUnavailableError("log is closed"));
    return new Promise((resolve, reject) => {
      const batch = (this.#batch ??= { chunks: [], bytes: 0, firstSeq: seq, lastSeq: seq, lastTs: ts, waiters: [] });
      batch.chunks.push(...record.chunks);
      batch.bytes += record.bytes;
      batch.lastSeq = seq;
      batch.lastTs = ts;
      batch.waiters.push({ onDurable, resolve, reject });
      this.#schedule();
    });
  }

  /**
   * Deletes whole segments (never the one being appended to) whose records all have
   * seq < `belowSeq` and were published before `olderThanTs`. Returns how many it removed.
   */
  async prune(belowSeq: number, olderThanTs: number): Promise<number> {
    const victims: SegmentInfo[] = [];
    for (const s of this.#segments.slice(0, -1)) {
      if (s.lastSeq >= belowSeq || s.lastTs >= olderThanTs) break;
      victims.push(s);
    }
    for (const s of victims) await this.#o.fs.remove(`${this.#o.dir}/${s.name}`);
    this.#segments = this.#segments.filter((s) => !victims.includes(s));
    return victims.length;
  }

  /** Flushes what is queued, then closes the segment file. Later appends reject. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = undefined;
    while (this.#flushing || this.#batch) {
      if (!this.#flushing) this.#startFlush();
      await this.#flushing;
    }
    const file = this.#file;
    this.#file = undefined;
    await file?.close().catch(() => undefined);
  }

  #schedule(): void {
    if (this.#flushing || this.#timer || this.#scheduled || !this.#batch) return;
    const wait = this.#lastFlushAt + this.#o.syncIntervalMs - this.#o.clock.now();
    if (wait > 0 && !this.#closed) {
      this.#timer = this.#o.clock.setTimeout(() => {
        this.#timer = undefined;
        this.#startFlush();
      }, wait);
    } else {
      // A microtask, so every append made in the same synchronous run joins this flush; a
      // blocking log waits for the messages already queued too (BlockingIo.deferFlush).
      this.#scheduled = true;
      const start = () => {
        this.#scheduled = false;
        this.#startFlush();
      };
      if (this.#o.blockingIo) this.#o.blockingIo.deferFlush(start, this.#o.stream);
      else queueMicrotask(start);
    }
  }

  #startFlush(): void {
    const batch = this.#batch;
    if (this.#flushing || !batch) return;
    this.#batch = undefined;
    this.#lastFlushAt = this.#o.clock.now();
    this.#flushing = this.#write(batch).finally(() => {
      this.#flushing = undefined;
      this.#schedule();
    });
  }

  async #write(batch: Batch): Promise<void> {
    try {
      if (this.#failure !== undefined) throw this.#failure;
      let active = this.#segments.at(-1);
      if (!this.#file || !active || (active.bytes > 0 && active.bytes + batch.bytes > this.#o.segmentBytes)) {
        await this.#file?.close();
        this.#file = undefined;
        active = { name: segmentName(batch.firstSeq), firstSeq: batch.firstSeq, lastSeq: batch.firstSeq - 1, lastTs: 0, bytes: 0 };
        this.#file = await this.#o.fs.openAppend(`${this.#o.dir}/${active.name}`, { blocking: this.#o.blockingIo !== undefined });
        this.#segments.push(active);
      }
      await this.#file.write(batch.chunks);
      await this.#file.sync();
      active.lastSeq = batch.lastSeq;
      active.lastTs = batch.lastTs;
      active.bytes += batch.bytes;
    } catch (error) {
      const first = this.#failure === undefined;
      this.#failure ??= error;
      for (const w of batch.waiters) w.reject(unavailable(this.#failure));
      if (this.#batch) {
        for (const w of this.#batch.waiters) w.reject(unavailable(this.#failure));
        this.#batch = undefined;
      }
      // After the rejections: the owner may end the process, and the publishers hear first.
      if (first) this.#o.onFailure?.(error);
      return;
    }
    for (const w of batch.waiters) w.onDurable();
    for (const w of batch.waiters) w.resolve();
  }

  async #recover(onRecord: (record: LogRecord) => void): Promise<void> {
    const { fs, dir } = this.#o;
    const names = (await fs.readDir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    for (const name of names) {
      const firstSeq = Number(SEGMENT_NAME.exec(name)![1]);
      const info: SegmentInfo = { name, firstSeq, lastSeq: firstSeq - 1, lastTs: 0, bytes: 0 };
      const buf = (await fs.readFile(`${dir}/${name}`)) ?? new Uint8Array(0);
      info.bytes = readRecords(buf, (record) => {
        info.lastSeq = record.seq;
        info.lastTs = record.ts;
        this.recovery.records++;
        onRecord(record);
      });
      if (info.bytes < buf.length) {
        // Rewrite the intact prefix: the FileSystem has no truncate, and an atomic rewrite
        // cannot leave a half-truncated file behind if we crash again here.
        this.recovery.truncatedBytes += buf.length - info.bytes;
        await fs.writeFileAtomic(`${dir}/${name}`, buf.subarray(0, info.bytes), { sync: true });
      }
      this.recovery.lastSeq = Math.max(this.recovery.lastSeq, info.lastSeq);
      this.#segments.push(info);
    }
    const last = this.#segments.at(-1);
    if (last) this.#file = await fs.openAppend(`${dir}/${last.name}`, { blocking: this.#o.blockingIo !== undefined });
  }
}

function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, "0")}.log`;
}

function unavailable(cause: unknown): TransportUnavailableError {
  return cause instanceof TransportUnavailableError
    ? cause
    : new TransportUnavailableError("durable log write failed; restart to recover", 1000, { cause });
}
