/**
 * Direct I/O (O_DIRECT) for the Node adapter's data files: the durable log's segments, archive
 * objects and large checkpoints: bytes written once, synced, and not read back soon.
 *
 * Why: a buffered write puts every byte in a page-cache page, and a growing log or archive
 * needs fresh pages all the time. On a VM whose host takes back the guest's free memory
 * (virtio-balloon free page reporting, as on the machine the benches run on), touching a fresh
 * page costs a fault in the host: 860 MB written and synced after 20 s idle took 2.6 s and 2.2 s
 * of the machine's kernel CPU, with O_DIRECT 0.57 s and 0.07–0.09 s (`npm run bench -- disk`,
 * which measures both file systems side by side). The pipeline writes each event about
 * three times (raw log, raw archive, event log): under JSON batches this took its CPU per event
 * from 1.72 to 1.39 µs (README, Disk writes).
 *
 * O_DIRECT needs file offsets, lengths and memory addresses aligned to the device's block.
 * Writes are copied into a staging buffer whose memory is page-aligned (a WebAssembly.Memory's:
 * JS cannot align an ArrayBuffer or see its address) and written in whole 4 KiB blocks at
 * block-aligned offsets. The last block goes out padded with zeros; it stays in the staging
 * buffer and the next append writes it again, whole, over the padding. An appended file also
 * grows by zeros ahead of small appends (EXTEND_BYTES), so that they rarely change its length.
 * The zeros are not cut after every append (an ftruncate there made a synced 2.5 kB append cost
 * 210 µs instead of 115–120, in a loop outside bench/): an appended file ends in zeros until it
 * is closed, which trims it.
 * A log whose process died reads them as a torn tail and cuts them off (log_record.ts); a file
 * written whole (writeFileAtomic) is neither extended nor left padded: trimmed before its sync.
 */
import fs from "node:fs";
import type { AppendFile } from "./platform.ts";

/** Offsets and lengths are multiples of this: 4 KiB covers 512-byte and 4 KiB logical blocks. */
const BLOCK = 4096;
/** Staging buffer: the most written per system call (a multiple of BLOCK and of 64 KiB wasm pages). */
const STAGING_BYTES = 2 * 1024 * 1024;
/**
 * An appended file grows by zeros to a multiple of this, at least half of it past its data, so
 * that most appends overwrite blocks the file already has: its length does not change, and a
 * sync has no metadata to journal (synced 2.5 kB appends, `npm run bench -- disk`: 100 µs at the
 * median against 167 buffered).
 */
const EXTEND_BYTES = 4 * 1024 * 1024;
/** Appends of this many bytes or more are not extended ahead of (see DirectAppendFile.#write). */
const EXTEND_BELOW_BYTES = 64 * 1024;
/** Zeros written per call when extending. */
const ZERO_BYTES = 1024 * 1024;
/** Staging buffers kept for reuse per thread (each open log segment holds one). */
const MAX_FREE_STAGING = 8;
/**
 * Staging buffers in use at once per thread; past it, files are written buffered. Each is a
 * WebAssembly memory, for which V8 reserves gigabytes of address space, so many at once (persist
 * writing an object for each of hundreds of streams) could run out of it.
 */
const MAX_LIVE_STAGING = 16;

const O_DIRECT: number | undefined = (fs.constants as { O_DIRECT?: number }).O_DIRECT;
const freeStaging: Uint8Array[] = [];
/** Staging buffers handed out and not yet given back. */
const stagingInUse = new Set<Uint8Array>();
/** Files opened with O_DIRECT so far (directIoStats). */
let directOpens = 0;

/** For tests: staging buffers in use on this thread, and files opened with O_DIRECT so far. */
export function directIoStats(): { stagingInUse: number; directOpens: number } {
  return { stagingInUse: stagingInUse.size, directOpens };
}
/** Page-aligned zeros to extend files with (never written to); null once it could not be had. */
let zeroBlock: Uint8Array | null | undefined;

function pageAligned(bytes: number): Uint8Array | undefined {
  try {
    const pages = bytes / 65536;
    return new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
  } catch {
    return undefined; // no address space for another memory
  }
}

function takeStaging(): Uint8Array | undefined {
  if (stagingInUse.size >= MAX_LIVE_STAGING) return undefined;
  const buf = freeStaging.pop() ?? pageAligned(STAGING_BYTES);
  if (!buf) return undefined; // buffered writes then
  stagingInUse.add(buf);
  return buf;
}

function giveBackStaging(buf: Uint8Array): void {
  if (!stagingInUse.delete(buf)) return; // not one of ours (a test's), or given back already
  if (freeStaging.length < MAX_FREE_STAGING) freeStaging.push(buf);
}

/** A file descriptor's calls, on the calling thread (blocking) or on libuv's pool. */
export interface FdCalls {
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  truncate(size: number): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

function fdCalls(fd: number, blocking: boolean): FdCalls {
  if (blocking) {
    return {
      write: async (buf, offset, length, position) => fs.writeSync(fd, buf, offset, length, position),
      truncate: async (size) => fs.ftruncateSync(fd, size),
      sync: async () => fs.fdatasyncSync(fd),
      close: async () => fs.closeSync(fd),
    };
  }
  const done = <T>(resolve: (v: T) => void, reject: (e: unknown) => void) => (err: NodeJS.ErrnoException | null, v?: T) => (err ? reject(err) : resolve(v as T));
  return {
    write: (buf, offset, length, position) => new Promise((resolve, reject) => fs.write(fd, buf, offset, length, position, done(resolve, reject))),
    truncate: (size) => new Promise((resolve, reject) => fs.ftruncate(fd, size, done(resolve, reject))),
    sync: () => new Promise((resolve, reject) => fs.fdatasync(fd, done(resolve, reject))),
    close: () => new Promise((resolve, reject) => fs.close(fd, done(resolve, reject))),
  };
}

function openFd(path: string, flags: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd))));
}

/** An append file written with O_DIRECT through a staging buffer; one call at a time (as the log makes them). */
export class DirectAppendFile implements AppendFile {
  readonly #io: FdCalls;
  /** Extend the file ahead of small appends (EXTEND_BYTES) rather than with each of them; off after an extension failed. */
  #extend: boolean;
  #staging: Uint8Array | undefined;
  #closed = false;
  /** Why a write failed: the staging buffer and the file no longer agree, so nothing more is written. */
  #failure: unknown;
  /** The length of what was written. */
  #size: number;
  /** Bytes of the last, partial block of what was written: staging[0, tail). */
  #tail: number;
  /** The file's length on disk: #size, or more (zeros: padding, extension). */
  #allocated: number;

  constructor(io: FdCalls, staging: Uint8Array, size: number, tail: number, extend: boolean) {
    this.#io = io;
    this.#staging = staging;
    this.#size = size;
    this.#tail = tail;
    this.#allocated = size;
    this.#extend = extend;
  }

  async write(chunks: Uint8Array[]): Promise<void> {
    const buf = this.#usable();
    try {
      await this.#write(buf, chunks);
    } catch (error) {
      // A write cut short may have overwritten the kept tail block in the staging buffer: a
      // later write would put wrong bytes over synced ones. The log gives up on a failed write
      // anyway; this makes sure nothing else can write.
      this.#failure = error;
      throw error;
    }
  }

  async sync(): Promise<void> {
    this.#usable();
    await this.#io.sync();
  }

  /** Cuts the zeros after what was written (trim, then sync, for a file that must end exactly). */
  async trim(): Promise<void> {
    this.#usable();
    if (this.#allocated === this.#size) return;
    await this.#io.truncate(this.#size);
    this.#allocated = this.#size;
  }

  /** Trims (unless a write failed) and closes; a second call does nothing (the descriptor's number may be another file's by then). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const buf = this.#staging!;
    this.#staging = undefined;
    try {
      if (this.#failure === undefined && this.#allocated !== this.#size) await this.#io.truncate(this.#size);
    } finally {
      giveBackStaging(buf);
      await this.#io.close();
    }
  }

  #usable(): Uint8Array {
    if (this.#closed) throw new Error("file is closed");
    if (this.#failure !== undefined) throw new Error("an earlier write to this file failed", { cause: this.#failure });
    return this.#staging!;
  }

  async #write(buf: Uint8Array, chunks: Uint8Array[]): Promise<void> {
    let fill = this.#tail;
    let position = this.#size - this.#tail;
    if (this.#extend) {
      let incoming = 0;
      for (const chunk of chunks) incoming += chunk.byteLength;
      // Only small appends: a large one pays for its own length change, and zeros written ahead
      // of large ones doubled the device's writes (MessagePack batches −8 % in alternating runs).
      if (incoming < EXTEND_BELOW_BYTES && this.#size + incoming > this.#allocated) await this.#extendPast(this.#size + incoming);
    }
    for (const chunk of chunks) {
      for (let from = 0; from < chunk.byteLength; ) {
        const n = Math.min(chunk.byteLength - from, buf.byteLength - fill);
        buf.set(n === chunk.byteLength ? chunk : chunk.subarray(from, from + n), fill);
        fill += n;
        from += n;
        if (fill === buf.byteLength) {
          await this.#writeAll(buf, fill, position);
          position += fill;
          fill = 0;
        }
      }
    }
    const padded = Math.ceil(fill / BLOCK) * BLOCK;
    if (padded > 0) {
      buf.fill(0, fill, padded);
      await this.#writeAll(buf, padded, position);
    }
    const tail = fill % BLOCK;
    if (tail > 0 && fill > tail) buf.copyWithin(0, fill - tail, fill);
    this.#size = position + fill;
    this.#tail = tail;
    this.#allocated = Math.max(this.#allocated, position + padded);
  }

  async #writeAll(buf: Uint8Array, length: number, position: number): Promise<void> {
    for (let done = 0; done < length; ) done += await this.#io.write(buf, done, length - done, position + done);
  }

  /**
   * Writes zeros from the file's end to at least half of EXTEND_BYTES past `end`, in whole
   * blocks. Best effort: if that fails (a disk with less than the extension free), the file is
   * cut back to where it was and grows with its writes from then on, so only a write of data
   * can fail the file.
   */
  async #extendPast(end: number): Promise<void> {
    const zeros = zeroBlock === undefined ? (zeroBlock = pageAligned(ZERO_BYTES) ?? null) : zeroBlock;
    if (zeros === null) return; // the file then grows with its writes
    const target = Math.ceil((end + EXTEND_BYTES / 2) / EXTEND_BYTES) * EXTEND_BYTES;
    // From the block after the one holding the file's end: that block is the next write's first.
    let at = Math.ceil(this.#allocated / BLOCK) * BLOCK;
    try {
      while (at < target) {
        const n = Math.min(zeros.byteLength, target - at);
        await this.#writeAll(zeros, n, at);
        at += n;
      }
    } catch {
      this.#extend = false;
      await this.#io.truncate(this.#allocated).catch(() => undefined); // the next write covers what this leaves
      return;
    }
    this.#allocated = target;
  }
}

/**
 * A whole file's bytes through `file` (opened empty): written, trimmed, synced if asked (so the
 * synced length is the exact one), closed — the steps of writeFileAtomic before its rename.
 */
export async function writeWhole(file: DirectAppendFile, parts: Uint8Array[], sync: boolean): Promise<void> {
  try {
    await file.write(parts);
    await file.trim();
    if (sync) await file.sync();
  } finally {
    await file.close();
  }
}

/**
 * Directories whose file system refused O_DIRECT, and when: not asked again for a minute (a
 * volume may be mounted there later). Bounded: forgotten when full.
 */
const refusedDirs = new Map<string, number>();
const MAX_REFUSED_DIRS = 1024;
const REFUSAL_MEMORY_MS = 60_000;

/**
 * Opens `path` with O_DIRECT for appending, or with `whole` for writing a whole file (emptied
 * first, not extended ahead). Returns undefined where that is not available: no O_DIRECT on
 * this OS, a file system that refuses it (EINVAL: e.g. ramfs, FUSE; remembered for the
 * directory), no memory for a staging buffer, or any other failure to open, which the caller's
 * buffered open then reports.
 */
export async function openDirectAppend(path: string, options: { blocking: boolean; whole?: boolean }): Promise<DirectAppendFile | undefined> {
  if (O_DIRECT === undefined) return undefined;
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const refusedAt = refusedDirs.get(dir);
  if (refusedAt !== undefined) {
    if (Date.now() - refusedAt < REFUSAL_MEMORY_MS) return undefined;
    refusedDirs.delete(dir);
  }
  const staging = takeStaging();
  if (!staging) return undefined;
  const { O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
  let fd: number;
  try {
    fd = await openFd(path, O_WRONLY | O_CREAT | O_DIRECT | (options.whole ? O_TRUNC : 0));
  } catch (err) {
    giveBackStaging(staging);
    if ((err as { code?: string }).code === "EINVAL") {
      if (refusedDirs.size >= MAX_REFUSED_DIRS) refusedDirs.clear();
      refusedDirs.set(dir, Date.now());
      // The file was created before O_DIRECT was refused: a whole file's temporary name is not
      // used again, so it would stay behind.
      if (options.whole) await fs.promises.rm(path, { force: true }).catch(() => undefined);
    }
    return undefined;
  }
  directOpens++;
  try {
    const size = options.whole ? 0 : fs.fstatSync(fd).size;
    const tail = size % BLOCK;
    if (tail > 0) await readInto(path, staging, tail, size - tail);
    return new DirectAppendFile(fdCalls(fd, options.blocking), staging, size, tail, !options.whole);
  } catch (err) {
    giveBackStaging(staging);
    fs.closeSync(fd);
    throw err;
  }
}

/** Reads `length` bytes at `position` of `path` into buf[0, length) (an O_DIRECT descriptor cannot read unaligned). */
async function readInto(path: string, buf: Uint8Array, length: number, position: number): Promise<void> {
  const handle = await fs.promises.open(path, "r");
  try {
    for (let done = 0; done < length; ) {
      const { bytesRead } = await handle.read(buf, done, length - done, position + done);
      if (bytesRead === 0) throw new Error(`${path} ended before ${position + length} bytes`);
      done += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
