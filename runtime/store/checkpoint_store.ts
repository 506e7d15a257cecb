/**
 * Where stateful actors keep their checkpoints. Embedded mode uses files in the data
 * directory; the NATS deployment a JetStream KV bucket. `save` resolves once durable.
 */
import type { FileSystem } from "../platform/platform.ts";
import { concatBytes } from "../bytes.ts";

export interface CheckpointStore {
  load(name: string): Promise<Uint8Array | undefined>;
  /** Saves the bytes, or parts to be stored one after the other (load returns them as one). */
  save(name: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void>;
}

/** One file per actor instance under `dir`, replaced atomically and synced. */
export class FileCheckpointStore implements CheckpointStore {
  #ready: Promise<void> | undefined;
  constructor(readonly fs: FileSystem, readonly dir: string) {}

  async load(name: string): Promise<Uint8Array | undefined> {
    return await this.fs.readFile(this.#path(name));
  }

  async save(name: string, bytes: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.#ready ??= this.fs.mkdirp(this.dir);
    await this.#ready;
    await this.fs.writeFileAtomic(this.#path(name), bytes, { sync: true });
  }

  #path(name: string): string {
    return `${this.dir}/${name.replace(/[^A-Za-z0-9_.-]/g, "_")}.ckpt`;
  }
}

/** Keeps checkpoints in memory: for tests and runs that need no recovery. */
export class MemoryCheckpointStore implements CheckpointStore {
  readonly saved = new Map<string, Uint8Array>();
  async load(name: string) {
    return this.saved.get(name);
  }
  async save(name: string, bytes: Uint8Array | readonly Uint8Array[]) {
    this.saved.set(name, concatBytes(bytes instanceof Uint8Array ? [bytes] : bytes));
  }
}
