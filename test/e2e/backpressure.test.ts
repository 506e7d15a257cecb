/**
 * Backpressure reaches producers instead of memory: with a consumer that stops consuming,
 * unacknowledged bytes stay under the stream bound and the HTTP edge answers 503 with
 * Retry-After; batches being written beyond the in-flight bound get 429. Once the consumer
 * resumes, ingest accepts again and nothing accepted is lost.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "../../runtime/platform/current.ts";
import { trendwireConfig } from "../../app/config.ts";
import { startPipeline } from "../../app/pipeline.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { InProcessTransport } from "../../runtime/transport/in_process.ts";
import { MemoryFileSystem } from "../../runtime/platform/memory_fs.ts";
import type { AppendFile, FileSystem } from "../../runtime/platform/platform.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { waitFor } from "../helpers/wait.ts";
import { metricSum } from "../helpers/edge_client.ts";

const MiB = 1024 * 1024;

function batch(n: number, tag: string): string {
  return JSON.stringify(Array.from({ length: n }, (_, i) => ({ key: `k${i % 50}`, tags: { pad: tag.padEnd(200, "x") } })));
}

async function post(base: string, body: string): Promise<Response> {
  return fetch(`${base}/v1/streams/load/events`, { method: "POST", headers: { "content-type": "application/json" }, body });
}

test("a stalled consumer bounds memory and turns into 503 + Retry-After; accepted data survives the stall", async () => {
  const dir = await makeTempDir("tw-bp-");
  const platform = await currentPlatform();
  const transport = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "/log", durable: false });
  const config = trendwireConfig({ flags: { port: "0", host: "127.0.0.1", "data-dir": dir, actors: "ingest", "stream-max-bytes": String(MiB) } });
  const pipeline = await startPipeline(config, platform, { log: memoryLogger("error"), transport });
  const base = `http://127.0.0.1:${pipeline.server!.port}`;
  // The slow consumer: holds every raw batch until released.
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let consumed = 0;
  await transport.consume("tw.raw.>", "slow", async (d) => {
    await gate;
    consumed += (pipeline.system.codec.decode(d.data).body as { count: number }).count;
    d.ack();
  }, { maxAckPending: 4 });

  let accepted = 0;
  let refused: Response | undefined;
  for (let i = 0; i < 200 && !refused; i++) {
    const res = await post(base, batch(200, String(i))); // ~50 KiB per request
    if (res.status === 202) accepted += ((await res.json()) as { accepted: number }).accepted;
    else refused = res;
  }
  assert.ok(refused, "ingest must refuse once the stream is full");
  assert.is(refused!.status, 503);
  assert.ok(Number(refused!.headers.get("retry-after")) >= 1, "Retry-After in seconds");
  assert.is(refused!.headers.get("content-type"), "application/problem+json");
  assert.match(((await refused!.json()) as { detail: string }).detail, "nothing was accepted");
  const held = transport.streamInfo("TW_RAW")!.bytes;
  assert.ok(held <= MiB, `unacknowledged bytes ${held} stay within the 1 MiB bound`);
  // /metrics shows what fills the stream: the stalled consumer's backlog.
  assert.is(await metricSum(base, "tw_stream_bytes", { stream: "TW_RAW" }), held);
  assert.ok((await metricSum(base, "tw_stream_messages", { stream: "TW_RAW" })) > 0);
  assert.ok(accepted > 0 && accepted < 200 * 200);

  release();
  await waitFor("the consumer drains everything accepted", () => consumed === accepted);
  const after = await post(base, batch(10, "after"));
  assert.is(after.status, 202, "accepts again once the consumer catches up");
  await waitFor("the new batch is consumed too", () => consumed === accepted + 10);
  await waitFor("the stream lets go of what was acknowledged", async () => (await metricSum(base, "tw_stream_bytes", { stream: "TW_RAW" })) === 0);
  await pipeline.stop();
  await removeDir(dir);
});

/** A filesystem whose syncs wait for a gate: publishes stay in flight until it opens. */
class SlowSyncFs extends MemoryFileSystem {
  gate: Promise<void> = new Promise(() => {});
  open!: () => void;
  constructor() {
    super();
    this.gate = new Promise((r) => (this.open = r));
  }
  override async openAppend(path: string): Promise<AppendFile> {
    const file = await super.openAppend(path);
    return { write: (c) => file.write(c), sync: async () => { await this.gate; await file.sync(); }, close: () => file.close() };
  }
}

test("batches beyond the in-flight bound get 429 with Retry-After; the ones in flight complete", async () => {
  const dir = await makeTempDir("tw-bp-");
  const platform = await currentPlatform();
  const fs = new SlowSyncFs();
  await (fs as FileSystem).mkdirp("/log");
  const transport = new InProcessTransport({ fs, dir: "/log", syncIntervalMs: 0 });
  const config = trendwireConfig({ flags: { port: "0", host: "127.0.0.1", "data-dir": dir, actors: "ingest", "max-in-flight": "2" } });
  const pipeline = await startPipeline(config, platform, { log: memoryLogger("error"), transport });
  const base = `http://127.0.0.1:${pipeline.server!.port}`;
  const body = batch(5, "a");
  const first = [post(base, body), post(base, body)];
  // Both are being written: the first's sync is held back, the second waits to be written
  // after it (embedded, one write of a stream is in flight at a time).
  const inFlight = () => Number(/^tw_ingest_batches_in_flight (\d+)$/m.exec(pipeline.system.metrics.render())?.[1]);
  await waitFor("two batches in flight", () => inFlight() === 2);
  assert.ok(transport.streamInfo("TW_RAW")!.bytes >= body.length, "the first is in the stream");
  const third = await post(base, body);
  assert.is(third.status, 429);
  assert.ok(Number(third!.headers.get("retry-after")) >= 1);
  fs.open();
  const statuses = (await Promise.all(first)).map((r) => r.status);
  assert.equal(statuses, [202, 202]);
  assert.is((await post(base, batch(5, "d"))).status, 202, "accepts again once writes complete");
  await pipeline.stop();
  await removeDir(dir);
});

test.run();
