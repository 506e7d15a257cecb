/**
 * An in-memory FileSystem: the "no persistence" mode (tests, benchmarks, throwaway runs) and a
 * crash simulator. `crash()` does what a power loss does to a real disk: every file keeps only
 * what it held at its last `sync()`, and handles opened before the crash stop working (the
 * process that held them is gone).
 *
 * Model: appends are durable once synced; `writeFileAtomic(…, {sync: true})` is durable at
 * once; without `sync` a crash reverts the file to its previous durable content (or removes
 * it). Directory entries (mkdirp, create, remove, rename) are treated as durable immediately.
 * Paths are normalised (`a//b/./c` = `a/b/c`); files need an existing parent directory.
 */
import { TrendwireError } from "../core/errors.ts";
import { concatBytes } from "../bytes.ts";
import type { AppendFile, FileSystem } from "./platform.ts";

/** A path that should exist does not (a missing parent directory). */
export class FileNotFoundError extends TrendwireError {
  constructor(readonly path: string) {
    super(`no such file or directory: ${path}`);
  }
}

/** A handle used after close() or after the simulated crash that invalidated it. */
export class StaleFileHandleError extends TrendwireError {
  constructor(readonly path: string) {
    super(`file handle is closed or predates a crash: ${path}`);
  }
}

interface MemFile {
  buf: Uint8Array;
  len: number;
  /** Bytes guaranteed to survive a crash (a prefix of buf). */
  synced: number;
  /** Set when replaced without sync: what a crash restores (null: the file did not exist). */
  revert?: Uint8Array | null;
}

export class MemoryFileSystem implements FileSystem {
  #files = new Map<string, MemFile>();
  #dirs = new Set<string>();
  #generation = 0;

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const file = this.#files.get(normalize(path));
    return file ? file.buf.slice(0, file.len) : undefined;
  }

  async writeFileAtomic(path: string, parts: Uint8Array | readonly Uint8Array[], options?: { sync?: boolean }): Promise<void> {
    const data = parts instanceof Uint8Array ? parts : concatBytes(parts);
    const p = normalize(path);
    this.#requireParent(p);
    const old = this.#files.get(p);
    const file: MemFile = { buf: data.slice(), len: data.length, synced: 0 };
    if (options?.sync) file.synced = data.length;
    else file.revert = old ? (old.revert !== undefined ? old.revert : old.buf.slice(0, old.synced)) : null;
    this.#files.set(p, file);
  }

  async openAppend(path: string): Promise<AppendFile> {
    const p = normalize(path);
    this.#requireParent(p);
    if (!this.#files.has(p)) this.#files.set(p, { buf: new Uint8Array(0), len: 0, synced: 0 });
    const generation = this.#generation;
    let open = true;
    const live = (): MemFile => {
      const file = this.#files.get(p);
      if (!open || generation !== this.#generation || !file) throw new StaleFileHandleError(p);
      return file;
    };
    return {
      write: async (chunks) => {
        const file = live();
        let add = 0;
        for (const c of chunks) add += c.length;
        if (file.len + add > file.buf.length) {
          const grown = new Uint8Array(Math.max(file.len + add, file.buf.length * 2, 4096));
          grown.set(file.buf.subarray(0, file.len));
          file.buf = grown;
        }
        for (const c of chunks) {
          file.buf.set(c, file.len);
          file.len += c.length;
        }
      },
      sync: async () => {
        const file = live();
        file.synced = file.len;
        delete file.revert;
      },
      close: async () => {
        open = false;
      },
    };
  }

  async mkdirp(path: string): Promise<void> {
    let p = normalize(path);
    while (p !== "" && p !== "/" && !this.#dirs.has(p)) {
      if (this.#files.has(p)) throw new FileNotFoundError(p);
      this.#dirs.add(p);
      p = parentOf(p);
    }
  }

  async readDir(path: string): Promise<string[]> {
    const p = normalize(path);
    const names: string[] = [];
    for (const key of [...this.#files.keys(), ...this.#dirs]) {
      if (parentOf(key) === p) names.push(key.slice(p === "" ? 0 : p === "/" ? 1 : p.length + 1));
    }
    return names.sort();
  }

  /** Removes a file or a directory with everything in it; a missing path is not an error. */
  async remove(path: string): Promise<void> {
    const p = normalize(path);
    const inside = (key: string) => key === p || key.startsWith(p === "/" ? "/" : `${p}/`);
    for (const key of [...this.#files.keys()]) if (inside(key)) this.#files.delete(key);
    for (const key of [...this.#dirs]) if (inside(key)) this.#dirs.delete(key);
  }

  async exists(path: string): Promise<boolean> {
    const p = normalize(path);
    return this.#files.has(p) || this.#dirs.has(p);
  }

  /**
   * Simulates a power loss: each file keeps the bytes it had at its last sync (files replaced
   * without sync revert), and every open handle becomes stale.
   */
  crash(): void {
    this.#generation++;
    for (const [path, file] of this.#files) {
      if (file.revert === null) this.#files.delete(path);
      else if (file.revert !== undefined) this.#files.set(path, { buf: file.revert, len: file.revert.length, synced: file.revert.length });
      else file.len = file.synced;
    }
  }

  /** Total bytes held by all files (for tests and benchmarks). */
  get size(): number {
    let total = 0;
    for (const file of this.#files.values()) total += file.len;
    return total;
  }

  #requireParent(path: string): void {
    const parent = parentOf(path);
    if (parent !== "" && parent !== "/" && !this.#dirs.has(parent)) throw new FileNotFoundError(parent);
  }
}


function normalize(path: string): string {
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return (path.startsWith("/") ? "/" : "") + parts.join("/");
}

function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  if (i < 0) return "";
  return i === 0 ? "/" : path.slice(0, i);
}
