/**
 * Checkpoints in a JetStream KV bucket (history 1, file storage): the NATS deployment's
 * CheckpointStore. save() resolves once the server has acked every write (durable).
 *
 * Size: one NATS message carries at most the server's `max_payload` (1 MiB by default, the
 * test server allows 8 MiB), and a checkpoint of aggregate state can reach megabytes. A value
 * that fits in one chunk (`chunkBytes`, default min(1 MiB, max_payload − 1 KiB)) is stored
 * inline under the key; a larger one is split into chunks under `<key>.<slot>.<i>` and the key
 * holds a small manifest naming the slot, the size and each chunk's KV revision. Saves
 * alternate between slots "a" and "b": the chunks are written first, then the manifest is
 * switched (one atomic put), then the old slot is purged — a crash mid-save leaves the previous
 * checkpoint intact. load() reads each chunk *at the revision the manifest names*, so it never
 * mixes chunks of two saves. One writer per checkpoint name is assumed (an actor instance
 * owns its checkpoint).
 *
 * Stored value: byte 0 = 0 then the bytes (inline), or byte 0 = 1 then the manifest as JSON.
 */
import { StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { ConfigError, TrendwireError } from "../../core/errors.ts";
import type { CheckpointStore } from "../../store/checkpoint_store.ts";
import { kvKey } from "./names.ts";
import type { NatsTransport } from "./nats_transport.ts";

export interface KvCheckpointStoreOptions {
  /** Bucket name (letters, digits, `_`, `-`). Defaults to "tw_checkpoints". */
  bucket?: string;
  /** Defaults to "file". */
  storage?: "file" | "memory";
  /** Defaults to 1. */
  replicas?: number;
  /** Largest stored piece (bytes); bigger values are chunked. Defaults to min(1 MiB, max_payload − 1 KiB). */
  chunkBytes?: number;
}

/** A checkpoint that cannot be read back (a chunk missing or replaced, an unknown format) or written. */
export class CheckpointStoreError extends TrendwireError {
  constructor(readonly checkpoint: string, message: string, options?: { cause?: unknown }) {
    super(`checkpoint ${checkpoint}: ${message}`, options);
  }
}

interface Manifest {
  slot: "a" | "b";
  size: number;
  revs: number[];
}

const INLINE = 0;
const CHUNKED = 1;
const enc = new TextEncoder();
const dec = new TextDecoder();

export class KvCheckpointStore implements CheckpointStore {
  readonly #kv: KV;
  readonly #chunkBytes: number;

  private constructor(kv: KV, chunkBytes: number) {
    this.#kv = kv;
    this.#chunkBytes = chunkBytes;
  }

  /** Creates the bucket if missing (or opens it) over the transport's connection. */
  static async open(transport: NatsTransport, options: KvCheckpointStoreOptions = {}): Promise<KvCheckpointStore> {
    const bucket = options.bucket ?? "tw_checkpoints";
    if (!/^[-\w]+$/.test(bucket)) throw new ConfigError("bucket", `must be letters, digits, _ or -, got ${bucket}`);
    const nc = transport.natsConnection;
    const maxPayload = nc.info?.max_payload ?? 1024 * 1024;
    const chunkBytes = Math.min(options.chunkBytes ?? 1024 * 1024, maxPayload - 1024);
    if (!(chunkBytes >= 2)) throw new ConfigError("chunkBytes", `must be at least 2 and below max_payload (${maxPayload}), got ${options.chunkBytes}`);
    try {
      const kv = await new Kvm(nc).create(bucket, {
        history: 1,
        storage: options.storage === "memory" ? StorageType.Memory : StorageType.File,
        replicas: options.replicas ?? 1,
      });
      return new KvCheckpointStore(kv, chunkBytes);
    } catch (error) {
      throw new CheckpointStoreError(bucket, "cannot open the KV bucket", { cause: error });
    }
  }

  async load(name: string): Promise<Uint8Array | undefined> {
    const key = kvKey(name);
    try {
      const entry = await this.#kv.get(key);
      if (!entry || entry.operation !== "PUT" || entry.value.length === 0) return undefined;
      const value = entry.value;
      // A copy as a plain Uint8Array (nats.js hands out Node Buffers that view its read buffer).
      if (value[0] === INLINE) return new Uint8Array(value.subarray(1));
      if (value[0] !== CHUNKED) throw new CheckpointStoreError(name, `unknown format ${value[0]}`);
      const m = JSON.parse(dec.decode(value.subarray(1))) as Manifest;
      const out = new Uint8Array(m.size);
      let offset = 0;
      const chunks = await Promise.all(m.revs.map((revision, i) => this.#kv.get(`${key}.${m.slot}.${i}`, { revision })));
      chunks.forEach((chunk, i) => {
        if (!chunk || chunk.operation !== "PUT") throw new CheckpointStoreError(name, `chunk ${i} of ${m.revs.length} is missing`);
        out.set(chunk.value, offset);
        offset += chunk.value.length;
      });
      if (offset !== m.size) throw new CheckpointStoreError(name, `chunks hold ${offset} bytes, expected ${m.size}`);
      return out;
    } catch (error) {
      if (error instanceof CheckpointStoreError) throw error;
      throw new CheckpointStoreError(name, "load failed", { cause: error });
    }
  }

  async save(name: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const key = kvKey(name);
    const parts = bytes instanceof Uint8Array ? [bytes] : bytes;
    const size = parts.reduce((n, p) => n + p.byteLength, 0);
    try {
      const previous = await this.#manifest(key);
      if (size + 1 <= this.#chunkBytes) {
        const value = new Uint8Array(size + 1);
        value[0] = INLINE;
        let o = 1;
        for (const p of parts) {
          value.set(p, o);
          o += p.byteLength;
        }
        await this.#kv.put(key, value);
      } else {
        const slot = previous?.slot === "a" ? "b" : "a";
        const revs = await Promise.all(pieces(parts, this.#chunkBytes).map((piece, i) => this.#kv.put(`${key}.${slot}.${i}`, piece)));
        const manifest: Manifest = { slot, size, revs };
        const json = enc.encode(JSON.stringify(manifest));
        const value = new Uint8Array(json.length + 1);
        value[0] = CHUNKED;
        value.set(json, 1);
        await this.#kv.put(key, value);
      }
      // The previous chunks are no longer referenced: free their space.
      if (previous) await Promise.all(previous.revs.map((_, i) => this.#kv.purge(`${key}.${previous.slot}.${i}`)));
    } catch (error) {
      throw new CheckpointStoreError(name, "save failed", { cause: error });
    }
  }

  async #manifest(key: string): Promise<Manifest | undefined> {
    const entry = await this.#kv.get(key);
    if (!entry || entry.operation !== "PUT" || entry.value[0] !== CHUNKED) return undefined;
    return JSON.parse(dec.decode(entry.value.subarray(1))) as Manifest;
  }
}

/** The parts cut into pieces of `size` bytes (the last may be shorter): views where a piece lies within one part, copies where it spans parts. */
export function pieces(parts: readonly Uint8Array[], size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pending: Uint8Array | undefined; // a piece being filled across parts
  let filled = 0;
  for (const part of parts) {
    let o = 0;
    if (pending) {
      const n = Math.min(size - filled, part.byteLength);
      pending.set(part.subarray(0, n), filled);
      filled += n;
      o = n;
      if (filled < size) continue;
      out.push(pending);
      pending = undefined;
    }
    for (; o + size <= part.byteLength; o += size) out.push(part.subarray(o, o + size));
    if (o < part.byteLength) {
      pending = new Uint8Array(size);
      pending.set(part.subarray(o));
      filled = part.byteLength - o;
    }
  }
  if (pending) out.push(pending.subarray(0, filled));
  return out;
}
