import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "../platform/current.ts";
import { MemoryFileSystem } from "../platform/memory_fs.ts";
import { FileCheckpointStore, MemoryCheckpointStore, type CheckpointStore } from "./checkpoint_store.ts";

const parts = [new Uint8Array([1, 2, 3]), new Uint8Array(70_000).fill(7), new Uint8Array(0), new Uint8Array([9])];
const whole = new Uint8Array([1, 2, 3, ...new Uint8Array(70_000).fill(7), 9]);

test("a checkpoint saved in parts loads as their concatenation (files on this runtime, memory file system, memory)", async () => {
  const platform = await currentPlatform();
  const dir = `${platform.env("TMPDIR") ?? "/tmp"}/trendwire-ckpt-${crypto.randomUUID()}`;
  const stores: CheckpointStore[] = [new FileCheckpointStore(platform.fs, dir), new FileCheckpointStore(new MemoryFileSystem(), "/c"), new MemoryCheckpointStore()];
  try {
    for (const store of stores) {
      await store.save("detect/0", parts);
      assert.equal(await store.load("detect/0"), whole);
      await store.save("detect/0", new Uint8Array([5]));
      assert.equal(await store.load("detect/0"), new Uint8Array([5]), "a single buffer still saves");
    }
  } finally {
    await platform.fs.remove(dir);
  }
});

test.run();
