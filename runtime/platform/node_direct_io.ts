/**
 * Direct I/O (O_DIRECT) for the Node adapter's data files: the durable log's segments, archive
 * objects and large checkpoints: bytes written once, synced, and not read back soon.
 *
 * Why: a buffered write puts every byte in a page-cache page, and a growing log or archive
 * needs fresh pages all the time. On a VM whose host takes back the guest's free memory
 * (virtio-balloon free page reporting, as on the machine the benches run on), touching a fresh
 * page costs a fault in the host: writing and syncing 860 MB to new files took 2.3 s and 2.0 s
 * of kernel CPU after a pause, 0.5 s and 0.2 s right after freeing the same amount; with O_DIRECT
 * 0.43–0.73 s and 0.03–0.09 s either way. The pipeline writes each event about three times
 * (raw log, raw archive, event log), so this was about a third of its CPU per event.
 *
 * O_DIRECT needs file offsets, lengths and memory addresses aligned to the device's block.
 * Writes are copied into a staging buffer whose memory is page-aligned (a WebAssembly.Memory's:
 * JS cannot align an ArrayBuffer or see its address) and written in whole 4 KiB blocks at
 * block-aligned offsets. The last block goes out padded with zeros; it stays in the staging
 * buffer and the next append writes it again, whole, over the padding. The padding is not cut
 * after every append (an ftruncate there made a synced 2.5 kB append cost 210 µs instead of
 * 115–120): an appended file ends in zeros until it is closed, which trims it. A log whose
 * process died reads them as a torn tail and cuts them off (log_record.ts); a file written whole
 * (writeFileAtomic) is trimmed before it is synced.
 */
import fs from "node:fs";
import type { AppendFile } from "./platform.ts";

/** Offsets and lengths are multiples of this: 4 KiB covers 512-byte and 4 KiB logical blocks. */
const BLOCK = 4096;
/** Staging buffer: the most written per system call (a multiple of BLOCK and of 64 KiB wasm pages). */
const STAGING_BYTES = 2 * 1024 * 1024;
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
let liveStaging = 0;

function takeStaging(): Uint8Array | undefined {
  if (liveStaging >= MAX_LIVE_STAGING) return undefined;
  let buf = freeStaging.pop();
  if (!buf) {
    try {
      const pages = STAGING_BYTES / 65536;
      buf = new Uint8Array(new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer);
    } catch {
      return undefined; // no address space for another memory: buffered writes then
    }
  }
  liveStaging++;
  return buf;
}

function giveBackStaging(buf: Uint8Array): void {
  liveStaging--;
  if (freeStaging.length < MAX_FREE_STAGING) freeStaging.push(buf);
}

/** A file descriptor's calls, on the calling thread (blocking) or on libuv's pool. */
interface FdCalls {
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
  #staging: Uint8Array | undefined;
  /** The file's length. */
  #size: number;
  /** Bytes of the file's last, partial block: staging[0, tail). */
  #tail: number;

  constructor(io: FdCalls, staging: Uint8Array, size: number, tail: number) {
    this.#io = io;
    this.#staging = staging;
    this.#size = size;
    this.#tail = tail;
  }

  async write(chunks: Uint8Array[]): Promise<void> {
    const buf = this.#staging;
    if (!buf) throw new Error("file is closed");
    let fill = this.#tail;
    let position = this.#size - this.#tail;
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
    const size = position + fill;
    const tail = fill % BLOCK;
    if (tail > 0 && fill > tail) buf.copyWithin(0, fill - tail, fill);
    this.#size = size;
    this.#tail = tail;
  }

  sync(): Promise<void> {
    return this.#io.sync();
  }

  /** Cuts the zero padding after the file's last partial block (trim, then sync, for a file that must end exactly). */
  async trim(): Promise<void> {
    if (this.#tail > 0) await this.#io.truncate(this.#size);
  }

  async close(): Promise<void> {
    const buf = this.#staging;
    this.#staging = undefined;
    try {
      if (buf) await this.trim();
    } finally {
      if (buf) giveBackStaging(buf);
      await this.#io.close();
    }
  }

  async #writeAll(buf: Uint8Array, length: number, position: number): Promise<void> {
    for (let done = 0; done < length; ) done += await this.#io.write(buf, done, length - done, position + done);
  }
}

/**
 * Opens `path` for appending with O_DIRECT (creating it; emptying it with `truncate`), or
 * returns undefined where that is not available: no O_DIRECT on this OS, a file system that
 * refuses it (tmpfs, some FUSE), no memory for a staging buffer. The caller then writes buffered.
 */
export async function openDirectAppend(path: string, options: { blocking: boolean; truncate?: boolean }): Promise<DirectAppendFile | undefined> {
  if (O_DIRECT === undefined) return undefined;
  const staging = takeStaging();
  if (!staging) return undefined;
  const { O_WRONLY, O_CREAT, O_TRUNC } = fs.constants;
  let fd: number;
  try {
    fd = await openFd(path, O_WRONLY | O_CREAT | O_DIRECT | (options.truncate ? O_TRUNC : 0));
  } catch {
    giveBackStaging(staging);
    return undefined; // EINVAL where O_DIRECT is refused; any other error, the buffered open reports
  }
  try {
    const size = options.truncate ? 0 : fs.fstatSync(fd).size;
    const tail = size % BLOCK;
    if (tail > 0) await readInto(path, staging, tail, size - tail);
    return new DirectAppendFile(fdCalls(fd, options.blocking), staging, size, tail);
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
