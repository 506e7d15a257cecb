/**
 * The Node adapter's direct-I/O file system (Platform.directFs, node_direct_io.ts) on real
 * files: appends of any size land in order across 4 KiB blocks and the 2 MiB staging buffer; an
 * open file ends in zeros (the last block's padding, the extension ahead) that appends overwrite
 * and close trims; a reopened file continues after its partial last block; the durable log written this
 * way and abandoned without a close recovers every synced record; whole files come out exact.
 * Deno has no direct I/O (directFs is absent): these run on Node only.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { statfs } from "node:fs/promises";
import { constants as fsConstants, readFileSync } from "node:fs";
import { mulberry32 } from "../../test/helpers/random.ts";
import { currentPlatform } from "./current.ts";
import type { FileSystem } from "./platform.ts";
import { makeTempDir, removeDir } from "../../test/helpers/tmp.ts";
import { assertSameBytes } from "../../test/helpers/same_bytes.ts";
import { concatBytes } from "../bytes.ts";
import { DirectAppendFile, directIoStats, openDirectAppend, writeWhole, type FdCalls } from "./node_direct_io.ts";
import { SegmentLog } from "../transport/log_segments.ts";
import { encodeRecord, type LogRecord } from "../transport/log_record.ts";
import { systemClock } from "../core/clock.ts";

const platform = await currentPlatform();
const directFs = platform.directFs;

/** Deterministic bytes: different for every (seed, index), so a misplaced block shows. */
function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >> 12)) & 0xff;
  return out;
}

/** The file holds `expected` and then zeros: the last block's padding and the extension ahead (an open direct file). */
function assertPaddedTo(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual, `${what}: the file exists`);
  assertSameBytes(actual.subarray(0, expected.byteLength), expected, what);
  const padding = actual.subarray(expected.byteLength);
  assert.ok(padding.byteLength > 0 && padding.byteLength <= 6 * 1024 * 1024 + 4096, `${what}: zeros ahead, at most 6 MiB (${padding.byteLength})`);
  assert.ok(padding.every((b) => b === 0), `${what}: the padding is zeros`);
}

if (platform.name === "node") {
  test("directFs is the Node adapter's, and on ext4, xfs or btrfs the log's files really are opened O_DIRECT", async () => {
    assert.ok(directFs, "Node offers a direct-I/O file system");
    const dir = await makeTempDir("tw-direct-");
    try {
      const file = await openDirectAppend(`${dir}/probe.log`, { blocking: true });
      const type = Number((await statfs(dir)).type);
      const directCapable = [0xef53, 0x58465342, 0x9123683e].includes(type);
      if (directCapable) {
        assert.ok(file, "opened with O_DIRECT");
        await file.write([pattern(10, 1)]); // the descriptor just opened is the newest
        const fdDir = "/proc/self/fd";
        const { readdirSync, readlinkSync } = await import("node:fs");
        const fd = readdirSync(fdDir).find((n) => { try { return readlinkSync(`${fdDir}/${n}`) === `${dir}/probe.log`; } catch { return false; } });
        assert.ok(fd, "the file's descriptor is open");
        const flags = parseInt(/flags:\s+(\d+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
        assert.ok((flags & (fsConstants as { O_DIRECT: number }).O_DIRECT) !== 0, `O_DIRECT is set (flags ${flags.toString(8)})`);
      }
      await file?.close();
    } finally {
      await removeDir(dir);
    }
  });

  for (const blocking of [true, false]) {
    test(`direct append (${blocking ? "blocking" : "I/O pool"}): sizes across blocks and the staging buffer land in order; open, the file ends in zeros (padding, and the extension ahead of the data); close trims them`, async () => {
      const dir = await makeTempDir("tw-direct-");
      try {
        const path = `${dir}/segment.log`;
        const file = await directFs!.openAppend(path, { blocking });
        const written: Uint8Array[] = [];
        // 1 byte, a block less one, exactly a block, a block and one, the staging buffer and three,
        // many small parts in one write, an empty one.
        const writes = [[1], [4095], [4096], [4097], [2 * 1024 * 1024 + 3], Array.from({ length: 300 }, (_, i) => (i * 7) % 50), [0], [12_345]];
        let seed = 0;
        for (const sizes of writes) {
          const chunks = sizes.map((n) => pattern(n, seed++));
          await file.write(chunks);
          await file.sync();
          written.push(...chunks);
          assertPaddedTo(await directFs!.readFile(path), concatBytes(written), `after writing ${sizes.length} part(s) of ${sizes.slice(0, 3).join(", ")}…`);
        }
        await file.close();
        assertSameBytes(await directFs!.readFile(path), concatBytes(written), "closed: exactly what was written");

        // Reopened: the partial last block is read back and the appends continue after it.
        const again = await directFs!.openAppend(path, { blocking });
        const more = [pattern(5000, 99), pattern(3, 100)];
        await again.write(more);
        await again.sync();
        await again.close();
        assertSameBytes(await directFs!.readFile(path), concatBytes([...written, ...more]), "reopened and appended");
      } finally {
        await removeDir(dir);
      }
    });
  }

  test("direct append after a buffered one: a file another writer left with a partial block continues exactly", async () => {
    const dir = await makeTempDir("tw-direct-");
    try {
      const path = `${dir}/segment.log`;
      const buffered = await platform.fs.openAppend(path, { blocking: true });
      const first = pattern(6000, 7);
      await buffered.write([first]);
      await buffered.sync();
      await buffered.close();
      const direct = await directFs!.openAppend(path, { blocking: true });
      const second = pattern(9000, 8);
      await direct.write([second]);
      await direct.sync();
      await direct.close();
      assertSameBytes(await platform.fs.readFile(path), concatBytes([first, second]), "both writers' bytes, in order");
    } finally {
      await removeDir(dir);
    }
  });

  test("the durable log on directFs, abandoned without a close (the process died): every synced record is recovered, the zero padding cut off, and appends go on", async () => {
    const dir = await makeTempDir("tw-direct-log-");
    const record = (seq: number): LogRecord => ({ seq, ts: 1_700_000_000_000 + seq, subject: "tw.raw.s", msgId: `m${seq}`, data: pattern(100 + ((seq * 997) % 9000), seq) });
    const open = (onRecord: (r: LogRecord) => void) =>
      SegmentLog.open({ fs: directFs!, dir, stream: "TEST", clock: systemClock, syncIntervalMs: 0, segmentBytes: 256 * 1024, blockingIo: undefined }, onRecord);
    try {
      const log = await open(() => undefined);
      for (let seq = 1; seq <= 120; seq++) await log.append(encodeRecord(record(seq)), seq, record(seq).ts, () => undefined);
      assert.ok(log.segments.length > 1, `rolled over segments (${log.segments.length})`);
      // No close: the active segment keeps its padding, as after a crash.
      const recovered: LogRecord[] = [];
      const reopened = await open((r) => recovered.push(r));
      assert.is(recovered.length, 120, "every synced record");
      for (const r of recovered) assertSameBytes(r.data, record(r.seq).data, `record ${r.seq}`);
      assert.ok(reopened.recovery.truncatedBytes > 0, "the zeros after the data were cut");
      await reopened.append(encodeRecord(record(121)), 121, record(121).ts, () => undefined);
      await reopened.close();
      const again: number[] = [];
      const last = await open((r) => again.push(r.seq));
      assert.equal(again, Array.from({ length: 121 }, (_, i) => i + 1), "all records, in order, after a clean close");
      assert.is(last.recovery.truncatedBytes, 0, "a closed log has no padding");
      await last.close();
    } finally {
      await removeDir(dir);
    }
  });

  test("writeFileAtomic on directFs: a large object of many parts, and one of exactly 16 blocks, are exact and synced; small files go buffered; no temporary file is left", async () => {
    const dir = await makeTempDir("tw-direct-atomic-");
    try {
      const fs: FileSystem = directFs!;
      const backing = pattern(300_000, 3);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 2000; i++) parts.push(backing.subarray(i * 37 % 1000, i * 37 % 1000 + (i * 131) % 2500));
      parts.push(pattern(3 * 1024 * 1024, 4)); // crosses the staging buffer
      await fs.writeFileAtomic(`${dir}/big.msgpack`, parts, { sync: true });
      assertSameBytes(await fs.readFile(`${dir}/big.msgpack`), concatBytes(parts), "the large object");
      const aligned = pattern(16 * 4096, 5);
      await fs.writeFileAtomic(`${dir}/aligned.msgpack`, aligned, { sync: true });
      assertSameBytes(await fs.readFile(`${dir}/aligned.msgpack`), aligned, "the block-multiple object");
      await fs.writeFileAtomic(`${dir}/small.json`, pattern(10, 6), { sync: true });
      assertSameBytes(await fs.readFile(`${dir}/small.json`), pattern(10, 6), "the small file");
      await fs.writeFileAtomic(`${dir}/big.msgpack`, aligned, { sync: true });
      assertSameBytes(await fs.readFile(`${dir}/big.msgpack`), aligned, "replaced by a shorter one");
      assert.equal((await fs.readDir(dir)).sort(), ["aligned.msgpack", "big.msgpack", "small.json"]);
    } finally {
      await removeDir(dir);
    }
  });
  test("writeFileAtomic on directFs: 40 large objects at once (more than the staging buffers it allows; the rest go buffered) all come out exact", async () => {
    const dir = await makeTempDir("tw-direct-many-");
    try {
      const objects = Array.from({ length: 40 }, (_, i) => [pattern(70_000 + i * 4099, i), pattern(i * 13, i + 100)]);
      const before = directIoStats();
      await Promise.all(objects.map((parts, i) => directFs!.writeFileAtomic(`${dir}/o${i}.msgpack`, parts, { sync: true })));
      const after = directIoStats();
      for (const [i, parts] of objects.entries()) assertSameBytes(await directFs!.readFile(`${dir}/o${i}.msgpack`), concatBytes(parts), `object ${i}`);
      assert.is((await directFs!.readDir(dir)).length, 40, "no temporary file is left");
      const direct = after.directOpens - before.directOpens;
      assert.ok(direct >= 8 && direct < 40, `some went direct, the rest buffered (${direct} direct)`);
      assert.is(after.stagingInUse, before.stagingInUse, "every staging buffer was given back");
    } finally {
      await removeDir(dir);
    }
  });
  /** Descriptor calls that only record what they were asked (no file): the order of the steps. */
  function recordingCalls(failWriteAt = -1): { io: FdCalls; calls: string[] } {
    const calls: string[] = [];
    let writes = 0;
    const io: FdCalls = {
      write: async (_buf, offset, length, position) => {
        if (writes++ === failWriteAt) throw new Error("EIO (injected)");
        calls.push(`write ${offset}+${length}@${position}`);
        return length;
      },
      truncate: async (size) => void calls.push(`truncate ${size}`),
      sync: async () => void calls.push("sync"),
      close: async () => void calls.push("close"),
    };
    return { io, calls };
  }

  test("a whole file's steps: written in blocks, trimmed to its length, then synced, then closed (the synced length is the exact one); a second close does nothing", async () => {
    const { io, calls } = recordingCalls();
    const file = new DirectAppendFile(io, new Uint8Array(2 * 1024 * 1024), 0, 0, false);
    await writeWhole(file, [pattern(3 * 1024 * 1024 + 5, 1)], true);
    assert.equal(calls, [`write 0+${2 * 1024 * 1024}@0`, `write 0+${1024 * 1024 + 4096}@${2 * 1024 * 1024}`, `truncate ${3 * 1024 * 1024 + 5}`, "sync", "close"]);
    await file.close();
    assert.is(calls.filter((c) => c === "close").length, 1, "closed once");
  });

  test("an appended file extends by zeros ahead of small appends only; after a failed write it refuses writes and syncs, and closes without trimming", async () => {
    const { io, calls } = recordingCalls();
    const file = new DirectAppendFile(io, new Uint8Array(2 * 1024 * 1024), 0, 0, true);
    await file.write([pattern(100, 1)]);
    assert.equal(calls.slice(0, 4), ["write 0+1048576@0", "write 0+1048576@1048576", "write 0+1048576@2097152", "write 0+1048576@3145728"], "4 MiB of zeros ahead, then the data");
    assert.equal(calls.slice(4), ["write 0+4096@0"], "the data's block");
    calls.length = 0;
    await file.write([pattern(200_000, 2)]); // large: no extension (the file is long enough anyway)
    assert.equal(calls, ["write 0+200704@0"], "rewritten from the first block (100 + 200 000 bytes, 49 blocks), no zeros");
    calls.length = 0;
    const failed = new DirectAppendFile(recordingCalls(0).io, new Uint8Array(2 * 1024 * 1024), 0, 0, false);
    assert.is(await failed.write([pattern(10, 3)]).then(() => "ok", (e: Error) => e.message), "EIO (injected)");
    assert.match(await failed.write([pattern(10, 4)]).then(() => "ok", (e: Error) => e.message), "an earlier write to this file failed");
    assert.match(await failed.sync().then(() => "ok", (e: Error) => e.message), "an earlier write to this file failed");
    await failed.close();
  });
  /** A DirectAppendFile over recorded descriptor calls, its writes told apart by buffer (data from the staging buffer, or zeros). */
  function recordedFile(options: { size?: number; failZeros?: boolean; failDataAt?: number } = {}) {
    const size = options.size ?? 0;
    const staging = new Uint8Array(2 * 1024 * 1024);
    staging.set(pattern(size % 4096, 9));
    const calls: { op: string; kind?: "data" | "zeros"; position?: number; length?: number; size?: number }[] = [];
    let dataWrites = 0;
    const io: FdCalls = {
      write: async (buf, _offset, length, position) => {
        const kind = buf === staging ? "data" : "zeros";
        if (kind === "zeros" && options.failZeros) throw new Error("ENOSPC (injected)");
        if (kind === "data" && dataWrites++ === options.failDataAt) throw new Error("EIO (injected)");
        calls.push({ op: "write", kind, position, length });
        return length;
      },
      truncate: async (to) => void calls.push({ op: "truncate", size: to }),
      sync: async () => void calls.push({ op: "sync" }),
      close: async () => void calls.push({ op: "close" }),
    };
    return { file: new DirectAppendFile(io, staging, size, size % 4096, true), calls };
  }

  test("zeros ahead: never over the data's blocks, only before a small append that would pass the file's end, whatever the mix of sizes (recorded calls)", async () => {
    const random = mulberry32(5);
    const sizes = [1, 100, 3000, 5000, 60_000, 70_000, 300_000, 5 * 1024 * 1024];
    for (const start of [0, 5000, 4096, 12_345]) {
      const { file, calls } = recordedFile({ size: start });
      let size = start;
      let allocated = start;
      for (let step = 0; step < 150; step++) {
        const incoming = sizes[Math.floor(random() * sizes.length)]!;
        const from = calls.length;
        await file.write([pattern(incoming, step)]);
        const made = calls.slice(from);
        const zeros = made.filter((c) => c.kind === "zeros");
        const shouldExtend = incoming < 64 * 1024 && size + incoming > allocated;
        assert.is(zeros.length > 0, shouldExtend, `step ${step}: ${incoming} bytes at ${size} of ${allocated}: zeros ${zeros.length > 0 ? "written" : "not written"}`);
        for (const z of zeros) assert.ok(z.position! >= Math.ceil(size / 4096) * 4096, `step ${step}: zeros at ${z.position} below the data's end ${size}`);
        for (const d of made.filter((c) => c.kind === "data")) assert.ok(d.position! >= Math.floor(size / 4096) * 4096, `step ${step}: data at ${d.position} before the last block of ${size}`);
        for (const c of made) if (c.op === "write") allocated = Math.max(allocated, c.position! + c.length!);
        size += incoming;
      }
    }
  });

  test("a file reopened at 5000 bytes extends from 8192 (after the block holding its end), and the data write starts at 4096", async () => {
    const { file, calls } = recordedFile({ size: 5000 });
    await file.write([pattern(10, 1)]);
    assert.equal(calls.map((c) => `${c.kind} ${c.position}`), ["zeros 8192", "zeros 1056768", "zeros 2105344", "zeros 3153920", "data 4096"]);
  });

  test("a full disk while writing zeros ahead: the data is still written, the file cut back to its length, and it extends no more", async () => {
    const { file, calls } = recordedFile({ size: 5000, failZeros: true });
    await file.write([pattern(10, 1)]);
    assert.equal(calls, [{ op: "truncate", size: 5000 }, { op: "write", kind: "data", position: 4096, length: 4096 }]);
    calls.length = 0;
    await file.write([pattern(100_000, 2)]);
    await file.write([pattern(10, 3)]);
    assert.ok(calls.every((c) => c.kind === "data"), "no more zeros");
    await file.sync();
  });

  test("after a failed write to an extended file, close neither trims nor writes (recorded calls)", async () => {
    const { file, calls } = recordedFile({ failDataAt: 1 });
    await file.write([pattern(10, 1)]);
    assert.ok(calls.some((c) => c.kind === "zeros"), "extended");
    await file.write([pattern(10, 2)]).then(() => assert.unreachable("the injected failure"), () => undefined);
    calls.length = 0;
    await file.close();
    assert.equal(calls, [{ op: "close" }]);
  });

} else {
  test("directFs is absent on Deno (no O_DIRECT): the pipeline writes through the page cache there", () => {
    assert.is(directFs, undefined);
  });
}

test.run();
