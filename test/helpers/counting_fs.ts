/**
 * A MemoryFileSystem behind a FileSystem whose append files count their syncs: what group-commit
 * tests assert on. The file system's own methods are bound (its fields are private).
 */
import type { MemoryFileSystem } from "../../runtime/platform/memory_fs.ts";
import type { FileSystem } from "../../runtime/platform/platform.ts";

/** `fs`'s methods as a plain FileSystem, to override some of them. */
export function boundFs(fs: MemoryFileSystem): FileSystem {
  return {
    readFile: (p) => fs.readFile(p),
    writeFileAtomic: (p, d, o) => fs.writeFileAtomic(p, d, o),
    openAppend: (p) => fs.openAppend(p),
    mkdirp: (p) => fs.mkdirp(p),
    readDir: (p) => fs.readDir(p),
    remove: (p) => fs.remove(p),
    exists: (p) => fs.exists(p),
  };
}

/** `fs` with every append file's sync() counted in `syncs()`. */
export function syncCountingFs(fs: MemoryFileSystem): { fs: FileSystem; syncs(): number } {
  let syncs = 0;
  return {
    fs: {
      ...boundFs(fs),
      openAppend: async (p) => {
        const f = await fs.openAppend(p);
        return { write: (c) => f.write(c), close: () => f.close(), sync: () => (syncs++, f.sync()) };
      },
    },
    syncs: () => syncs,
  };
}
