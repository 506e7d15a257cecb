/**
 * End to end through the public edges of the embedded pipeline: every body format over HTTP and
 * both frame types over the ingest WebSocket, then the archive after an orderly stop. Nothing
 * accepted may be lost or counted twice, and windows still open at stop must be flushed.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode } from "@msgpack/msgpack";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { chunk, poisson, prng, T0, tally, windowEvents, type BodyFormat, type TestEvent, type WindowTotals } from "../helpers/events.ts";
import { inParallel, metricSum, openWebSocket, postEvents, sendFrames, wsUrl, type FrameAck } from "../helpers/edge_client.ts";
import { waitFor } from "../helpers/wait.ts";
import { diffTotals, finalWindows, rawSummary, readArchive, sumCounts } from "../helpers/archive.ts";

const WINDOW_MS = 1000;

/** `windows` windows of traffic over 8 keys with different Poisson rates; some keys carry values. */
function traffic(seed: number, windows: number, startWindow = 0): TestEvent[] {
  const random = prng(seed);
  const out: TestEvent[] = [];
  for (let w = startWindow; w < startWindow + windows; w++) {
    const counts: Record<string, number> = {};
    for (let j = 0; j < 8; j++) counts[`k${j}`] = poisson(random, 4 + 3 * j);
    out.push(...windowEvents(T0 + w * WINDOW_MS, WINDOW_MS, counts, (key, i) => (key === "k3" ? (i % 4) * 0.5 : key === "k6" ? 7 : undefined)));
  }
  return out;
}

test("every HTTP format and both WebSocket frame types reconcile exactly with the archive", async () => {
  // Watermarks trail by two windows, so a little reordering from concurrent requests is not
  // late; windows still close during the run (by event time), and the rest at stop. Every
  // request spans well under two windows of event time (≤ 100 events at ~116 per window): a
  // request spanning more is the subject of its own test below.
  const tp = await startTestPipeline({ "max-out-of-order-ms": "2000", "idle-timeout-ms": "600000" });
  try {
    const sent = new Map<string, WindowTotals>();
    const plan: { stream: string; events: TestEvent[] }[] = [
      { stream: "fmt-json", events: traffic(1, 10) },
      { stream: "fmt-single", events: traffic(2, 3) },
      { stream: "fmt-ndjson", events: traffic(3, 10) },
      { stream: "fmt-msgpack", events: traffic(4, 10) },
      { stream: "fmt-ws-json", events: traffic(5, 10) },
      { stream: "fmt-ws-msgpack", events: traffic(6, 10) },
    ];
    for (const { stream, events } of plan) tally(sent, stream, events, WINDOW_MS);
    const total = plan.reduce((n, p) => n + p.events.length, 0);
    assert.ok(total >= 5000, `the test sends thousands of events (got ${total})`);

    const byHttp = async (stream: string, events: TestEvent[], format: BodyFormat, size: number, parallel: number) => {
      const batches = chunk(events, size);
      const acks = await inParallel(batches, parallel, (batch) => postEvents(tp.base, stream, format, batch));
      acks.forEach((a, i) => assert.is(a.accepted, batches[i]!.length, `${stream}: 202 counts the request's events`));
      return acks;
    };
    const byWs = async (stream: string, events: TestEvent[], binary: boolean): Promise<FrameAck[]> => {
      const frames = chunk(events, 50).map((b) => (binary ? encode(b) : JSON.stringify(b)));
      const ws = await openWebSocket(wsUrl(tp.base, `/v1/streams/${stream}/events/ws`));
      try {
        const acks = await sendFrames(ws, frames, 4);
        acks.sort((a, b) => a.frame - b.frame);
        assert.equal(acks.map((a) => a.frame), frames.map((_, i) => i + 1), `${stream}: one ack per frame`);
        for (const a of acks) assert.is(a.error, undefined, `${stream}: frame ${a.frame} refused: ${JSON.stringify(a.error)}`);
        return acks;
      } finally {
        ws.close();
      }
    };
    const results = await Promise.all([
      byHttp("fmt-json", plan[0]!.events, "json", 100, 1),
      byHttp("fmt-single", plan[1]!.events, "json-single", 1, 8),
      byHttp("fmt-ndjson", plan[2]!.events, "ndjson", 100, 1),
      byHttp("fmt-msgpack", plan[3]!.events, "msgpack", 100, 1),
      byWs("fmt-ws-json", plan[4]!.events, false),
      byWs("fmt-ws-msgpack", plan[5]!.events, true),
    ] as Promise<{ accepted?: number; batchId?: string }[]>[]);
    const acks = results.flat();
    const accepted = acks.reduce((n, a) => n + (a.accepted ?? 0), 0);
    assert.is(accepted, total, "the 202s and acks account for every event sent");
    const batchIds = new Set(acks.map((a) => a.batchId!));
    assert.is(batchIds.size, acks.length, "every request and frame got its own batch id");

    // The pipeline's own accounting agrees, and every event reaches aggregate before the stop.
    assert.is(await metricSum(tp.base, "tw_events_accepted_total"), accepted, "metrics: events accepted");
    const overWs = plan[4]!.events.length + plan[5]!.events.length;
    assert.is(await metricSum(tp.base, "tw_events_accepted_total", { source: "ws" }), overWs, "metrics: events accepted over WebSocket");
    await waitFor("every accepted event folded into a window", async () => (await metricSum(tp.base, "tw_events_aggregated_total")) === accepted);

    await tp.stop();
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");

    const raw = await rawSummary(tp.dataDir);
    assert.equal(raw.badSeqs, [], "raw objects are well formed, no sequence archived twice");
    assert.equal(raw.repeated, [], "no raw batch archived twice");
    assert.is(raw.events, accepted, "the raw archive holds exactly the accepted events");
    assert.equal([...raw.batches.keys()].sort(), [...batchIds].sort(), "the raw archive holds exactly the accepted batches");

    const { totals } = await finalWindows(tp.dataDir);
    assert.equal(diffTotals(sent, totals), [], "per key and window, archived totals equal an offline recount");
    assert.is(sumCounts(totals), accepted, "the final windows count every accepted event once");
    assert.equal(await readArchive(tp.dataDir, "dlq"), [], "nothing was dead-lettered");
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test("one in-order request spanning more than max-out-of-order loses no events", async () => {
  // A producer flushing a few seconds of in-order events in one request: each event is at or
  // after every earlier one, so none is out of order and none may be judged late.
  const tp = await startTestPipeline({ "max-out-of-order-ms": "1000", "idle-timeout-ms": "600000" });
  try {
    const events = traffic(4, 3, 200);
    const sent = tally(new Map(), "one-request", events, WINDOW_MS);
    const { accepted } = await postEvents(tp.base, "one-request", "msgpack", events);
    assert.is(accepted, events.length);
    await tp.stop();
    const { totals } = await finalWindows(tp.dataDir);
    const dlq = await readArchive<{ entry: { reason: string } }>(tp.dataDir, "dlq");
    const reasons = dlq.flatMap((o) => o.records.map((r) => r.entry.reason));
    assert.equal(reasons, [], "no event of the request was dead-lettered");
    assert.equal(diffTotals(sent, totals), [], "every event of the request is in its window");
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test("an orderly stop flushes windows still open to the archive", async () => {
  // No window can close by event time (the watermark trails by a minute) or by idleness.
  const tp = await startTestPipeline({ "max-out-of-order-ms": "60000", "idle-timeout-ms": "600000" });
  try {
    const events = traffic(7, 3, 100);
    const sent = tally(new Map(), "open-at-stop", events, WINDOW_MS);
    let accepted = 0;
    for (const batch of chunk(events, 200)) accepted += (await postEvents(tp.base, "open-at-stop", "json", batch)).accepted;
    assert.is(accepted, events.length);

    const res = await fetch(`${tp.base}/v1/trends/open-at-stop/k7`);
    const body = await res.text();
    assert.is(res.status, 404, `no window of the key has closed before stop: ${body}`);
    assert.equal((await finalWindows(tp.dataDir)).totals.size, 0, "no window archived before stop");

    await tp.stop(); // no waiting: the windows must be flushed by the stop itself
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");

    const { totals, windows } = await finalWindows(tp.dataDir);
    assert.equal(diffTotals(sent, totals), [], "the open windows reached the archive with exact totals");
    assert.is(sumCounts(totals), accepted);
    for (const w of windows.values()) assert.is(w.windowEnd - w.windowStart, WINDOW_MS);
    const raw = await rawSummary(tp.dataDir);
    assert.is(raw.events, accepted, "the raw archive is complete right after stop");
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
