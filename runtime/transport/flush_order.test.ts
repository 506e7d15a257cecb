/**
 * flushesFirstFor, how the stages thread's blocking log orders its flushes: one a turn, the
 * named streams' before the others when several are due, and every one of them run. Then
 * through an InProcessTransport whose logs flush on this thread: with a publish to another
 * stream queued first, the raw stream's log is written first.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { flushesFirstFor } from "./log_segments.ts";
import { InProcessTransport } from "./in_process.ts";
import { MemoryFileSystem } from "../platform/memory_fs.ts";
import { currentPlatform } from "../platform/current.ts";
import type { FileSystem } from "../platform/platform.ts";
import { boundFs } from "../../test/helpers/counting_fs.ts";

test("due flushes run one a turn, the first-named streams' before the others, each exactly once", () => {
  const turns: (() => void)[] = [];
  const io = flushesFirstFor(["RAW"], (run) => turns.push(run));
  const ran: string[] = [];
  io.deferFlush(() => ran.push("events 1"), "EVENTS");
  io.deferFlush(() => ran.push("raw 1"), "RAW");
  io.deferFlush(() => ran.push("agg 1"), "AGG");
  io.deferFlush(() => ran.push("raw 2"), "RAW");
  assert.is(turns.length, 4, "a turn for every flush");
  turns.shift()!();
  assert.equal(ran, ["raw 1"], "one flush a turn");
  // A flush deferred between turns still waits behind the named stream's.
  io.deferFlush(() => ran.push("events 2"), "EVENTS");
  while (turns.length > 0) turns.shift()!();
  assert.equal(ran, ["raw 1", "raw 2", "events 1", "agg 1", "events 2"]);
});

test("through a transport flushing on this thread: RAW's log is written before the log of a publish queued ahead of it", async () => {
  const platform = await currentPlatform();
  const memory = new MemoryFileSystem();
  const written: string[] = [];
  const fs: FileSystem = {
    ...boundFs(memory),
    openAppend: async (p) => {
      const file = await memory.openAppend(p);
      const stream = p.split("/").at(-2)!;
      return { write: (chunks) => (written.push(stream), file.write(chunks)), sync: () => file.sync(), close: () => file.close() };
    },
  };
  for (const first of [["RAW"], []]) {
    written.length = 0;
    const transport = new InProcessTransport({ fs, dir: `data/${first.length}`, blockingIo: flushesFirstFor(first, (run) => platform.afterPendingMessages(run)) });
    try {
      await transport.ensureStreams([{ name: "EVENTS", subjects: ["ev.>"] }, { name: "RAW", subjects: ["raw.>"] }]);
      const acks = await Promise.all([transport.publish("ev.1", new Uint8Array([1])), transport.publish("raw.1", new Uint8Array([2]))]);
      assert.equal(acks.map((a) => a.stream), ["EVENTS", "RAW"]);
      assert.equal(written, first.length > 0 ? ["RAW", "EVENTS"] : ["EVENTS", "RAW"], `first: ${JSON.stringify(first)}`);
    } finally {
      await transport.close();
    }
  }
});

test.run();
