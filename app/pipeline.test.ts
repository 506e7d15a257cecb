/** The pipeline's wiring of stage settings from the configuration. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "@msgpack/msgpack";
import { decodeActor } from "../actors/decode/decode.ts";
import { eventColumnsOf, MessageType, type EventBatch, type RawBatch } from "../schemas/mod.ts";
import { fakeContext, message } from "../test/helpers/fake_ctx.ts";
import { trendwireConfig } from "./config.ts";
import { dataFileSystem } from "./transport.ts";
import type { FileSystem, Platform } from "../runtime/platform/platform.ts";
import { decodeSettings, rawGrouping } from "./pipeline.ts";

test("decode reads from its bytes any request ingest may accept, however large maxEventsPerRequest is", async () => {
  const config = trendwireConfig({ flags: { "max-events-per-request": "150000", partitions: "16" } });
  assert.is(config.maxEventsPerRequest, 150_000);
  const decodeStage = decodeActor(decodeSettings(config, decode));
  // A 120 000-event request as decode gets it on a redelivery: the body alone, no parsed events.
  const n = 120_000;
  const body = new TextEncoder().encode(JSON.stringify(Array.from({ length: n }, (_, i) => ({ key: `k${i % 500}` }))));
  const at = Date.UTC(2026, 11, 6, 9, 0, 0);
  const batch: RawBatch = { stream: "big", batchId: "b-big", receivedAt: at, count: n, parts: [{ batchId: "b-big", receivedAt: at, format: "json", count: n, source: "http", body }] };
  const ctx = fakeContext({ now: at });
  await decodeStage.receive(null, message("tw.raw.big", MessageType.RawBatch, batch), ctx);
  assert.equal(ctx.published.filter((p) => p.type === MessageType.DeadLetter).map((p) => p.body), [], "nothing dead-lettered");
  const events = ctx.published.filter((p) => p.type === MessageType.EventBatch).reduce((sum, p) => sum + eventColumnsOf(p.body as EventBatch).length, 0);
  assert.is(events, n);
  // The default still reads the NATS producers' larger bodies.
  assert.is(decodeSettings(trendwireConfig(), decode).maxEventsPerBatch, 100_000);
});

test("the data directory's file system: the platform's direct one unless --direct-io off, or when it has none (Deno)", () => {
  const fs = { name: "buffered" } as unknown as FileSystem;
  const directFs = { name: "direct" } as unknown as FileSystem;
  const node = { fs, directFs } as unknown as Platform;
  const deno = { fs } as unknown as Platform;
  assert.is(dataFileSystem(trendwireConfig(), node), directFs);
  assert.is(dataFileSystem(trendwireConfig({ flags: { "direct-io": "off" } }), node), fs);
  assert.is(dataFileSystem(trendwireConfig({ env: (name) => (name === "TW_DIRECT_IO" ? "off" : undefined) }), node), fs);
  assert.is(dataFileSystem(trendwireConfig(), deno), fs);
  assert.throws(() => trendwireConfig({ flags: { "direct-io": "on" } }), /directIo|direct-io/);
});

test("ingest keeps one raw write of a stream in flight when embedded (the log syncs one group after another), two for a full group and over NATS", () => {
  assert.equal(rawGrouping(trendwireConfig()), { maxWritesPerStream: 1, maxWritesWhenFull: 2, regroupTurns: 2 });
  assert.equal(rawGrouping(trendwireConfig({ flags: { nats: "nats://127.0.0.1:4222" } })), { maxWritesPerStream: 2, maxWritesWhenFull: 2, regroupTurns: 0 });
});

test.run();
