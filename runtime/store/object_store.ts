/**
 * Object storage as the persist stage needs it: whole-object put/get, listing by prefix.
 * Keys are `/`-separated paths. The embedded default keeps objects as files under a local
 * directory in the same layout an S3 bucket gets.
 */
import type { FileSystem } from "../platform/platform.ts";

export interface ObjectStore {
  /** Writes (or overwrites) an object (its bytes, or parts of them in order); resolves once durable. */
  put(key: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys of objects directly below `dirPrefix` (a path ending in `/`) whose name starts with `namePrefix`. */
  list(dirPrefix: string, namePrefix?: string): Promise<string[]>;
}

/** Objects as files below `root`; writes are atomic (temp file + rename) and synced. */
export class LocalDirObjectStore implements ObjectStore {
  #made = new Set<string>();
  constructor(readonly fs: FileSystem, readonly root: string) {}

  async put(key: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const path = this.#path(key);
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!this.#made.has(dir)) {
      await this.fs.mkdirp(dir);
      this.#made.add(dir);
    }
    await this.fs.writeFileAtomic(path, data, { sync: true });
  }

  get(key: string): Promise<Uint8Array | undefined> {
    return this.fs.readFile(this.#path(key));
  }

  async list(dirPrefix: string, namePrefix = ""): Promise<string[]> {
    const names = await this.fs.readDir(this.#path(dirPrefix));
    return names.filter((n) => n.startsWith(namePrefix) && !n.endsWith(".tmp")).sort().map((n) => dirPrefix + n);
  }

  #path(key: string): string {
    if (key.split("/").some((part) => part === ".." || part === ".")) throw new RangeError(`object key must not contain . or .. segments: ${key}`);
    return `${this.root}/${key}`;
  }
}
