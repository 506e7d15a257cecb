/**
 * The platform's append files (the durable log's segments) on real files, in both modes: on the
 * I/O pool and blocking (the stages thread's log). Either way chunks land in order, a reopened
 * file appends after what is there, and a failing call rejects its promise instead of throwing
 * at the caller. A blocking write is done within the microtasks that follow the call; on Node
 * one on the pool needs the event loop's I/O callbacks (Deno may settle a small async write
 * within microtasks, so the contrast is checked on Node only).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "./current.ts";
import { makeTempDir, removeDir } from "../../test/helpers/tmp.ts";
import { assertSameBytes } from "../../test/helpers/same_bytes.ts";
import { concatBytes } from "../bytes.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

for (const blocking of [false, true]) {
  test(`append file (${blocking ? "blocking" : "I/O pool"}): chunks in order, synced, appended after a reopen; a failure rejects`, async () => {
    const { fs, name } = await currentPlatform();
    const dir = await makeTempDir("tw-append-");
    try {
      const path = `${dir}/segment.log`;
      const first = await fs.openAppend(path, { blocking });
      await first.write([bytes("alpha,"), bytes("beta,")]);
      await first.sync();
      await first.write([bytes("gamma,")]);
      await first.sync();
      await first.close();
      const again = await fs.openAppend(path, { blocking });
      let written = false;
      const writing = again.write([bytes("delta")]).then(() => (written = true));
      for (let i = 0; i < 10; i++) await null; // microtasks only: no I/O callback runs meanwhile
      if (blocking) assert.is(written, true, "a blocking write is done on this thread");
      else if (name === "node") assert.is(written, false, "a pool write waits for an I/O callback");
      await writing;
      await again.sync();
      await again.close();
      assert.is(new TextDecoder().decode(await fs.readFile(path)), "alpha,beta,gamma,delta");

      // A closed file: the call returns a rejected promise (the log turns it into its failure).
      assert.is(await again.write([bytes("late")]).then(() => "resolved", () => "rejected"), "rejected");
      assert.is(await again.sync().then(() => "resolved", () => "rejected"), "rejected");
    } finally {
      await removeDir(dir);
    }
  });
}

test("writeFileAtomic: thousands of parts (more than one system call takes: libuv splits them at IOV_MAX), empty ones and views among them, land in order and replace the file", async () => {
  const { fs } = await currentPlatform();
  const dir = await makeTempDir("tw-atomic-");
  try {
    const path = `${dir}/object.msgpack`;
    await fs.writeFileAtomic(path, bytes("old content"), { sync: true });
    const backing = new Uint8Array(70_000).map((_, i) => i % 251);
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) parts.push(i % 7 === 0 ? new Uint8Array(0) : backing.subarray(i % 13, (i % 13) + ((i * 37) % 300)));
    parts.push(backing); // one large part after the many small ones
    await fs.writeFileAtomic(path, parts, { sync: true });
    assertSameBytes(await fs.readFile(path), concatBytes(parts), "the file");
    assert.equal(await fs.readDir(dir), ["object.msgpack"], "no temporary file is left behind");
  } finally {
    await removeDir(dir);
  }
});

test.run();
