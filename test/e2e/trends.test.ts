/**
 * End to end: a stream of stationary keys in which two keys surge tenfold for three windows.
 * The surge must come out of every consumer edge — the live feed over SSE and over WebSocket,
 * `GET /v1/trends`, `GET /v1/trends/{stream}/{key}` — and the trends archive, with numbers that
 * match the archived windows; the stationary keys must stay quiet.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { poisson, prng, T0, tally, windowEvents, windowId, type TestEvent } from "../helpers/events.ts";
import { collectJson, openSse, openWebSocket, postEvents, wsUrl } from "../helpers/edge_client.ts";
import { archivedSignals, diffTotals, finalWindows, readArchive, type SignalRecord, type WindowRecord } from "../helpers/archive.ts";
import { waitFor } from "../helpers/wait.ts";

const WINDOW_MS = 1000;
const STREAM = "surge";
const BACKGROUND = Array.from({ length: 10 }, (_, i) => `bg${i}`);
const HOT = ["hot-a", "hot/b é"]; // a key with characters that need encoding in subjects and paths
const NORMAL_RATE = 20;
const SURGE_FROM = 20; // windows 20, 21, 22 surge
const SURGE_WINDOWS = 3;
const TOTAL_WINDOWS = 27;
/** Stationary keys may raise at most this many signals over the run (a false positive rate). */
const MAX_BACKGROUND_SIGNALS = 0;

const surgeStarts = Array.from({ length: SURGE_WINDOWS }, (_, i) => T0 + (SURGE_FROM + i) * WINDOW_MS);

function windowTraffic(random: () => number, w: number): TestEvent[] {
  const counts: Record<string, number> = {};
  const surging = w >= SURGE_FROM && w < SURGE_FROM + SURGE_WINDOWS;
  for (const key of BACKGROUND) counts[key] = poisson(random, NORMAL_RATE);
  for (const key of HOT) counts[key] = surging ? 10 * NORMAL_RATE : poisson(random, NORMAL_RATE);
  return windowEvents(T0 + w * WINDOW_MS, WINDOW_MS, counts);
}

test("surging keys are detected on every trends edge and in the archive; stationary keys are not", async () => {
  // Windows close by event time only (no out-of-order allowance, no idle closing), so the run
  // is the same however fast the machine is.
  const tp = await startTestPipeline({ "max-out-of-order-ms": "0", "idle-timeout-ms": "600000", "detect-warmup": "5" });
  const sse = await openSse(`${tp.base}/v1/trends/stream?stream=${STREAM}`);
  const ws = await openWebSocket(wsUrl(tp.base, `/v1/trends/stream?stream=${STREAM}`));
  const wsSignals = collectJson(ws) as SignalRecord[];
  try {
    assert.is(sse.status, 200);
    assert.ok(sse.contentType?.startsWith("text/event-stream"), `SSE content type: ${sse.contentType}`);
    await waitFor("the SSE ready event", () => sse.events.length > 0);
    assert.is(sse.events[0]!.event, "ready", "the first SSE event is ready");

    const random = prng(42);
    const sent = new Map();
    for (let w = 0; w < TOTAL_WINDOWS; w++) {
      const events = windowTraffic(random, w);
      tally(sent, STREAM, events, WINDOW_MS);
      const { accepted } = await postEvents(tp.base, STREAM, "json", events);
      assert.is(accepted, events.length);
    }

    // The last window sent closes the ones before it; the surge windows are long closed.
    const isSurgeUp = (s: SignalRecord) => HOT.includes(s.key) && surgeStarts.includes(s.windowStart) && s.direction === "up";
    const sseTrends = () => sse.events.filter((e) => e.event === "trend").map((e) => JSON.parse(e.data) as SignalRecord);
    // Every surge window of both keys, on both live feeds.
    const covered = (list: SignalRecord[]) => HOT.every((k) => surgeStarts.every((start) => list.some((s) => s.key === k && s.windowStart === start && isSurgeUp(s))));
    await waitFor("SSE trend events for every surge window of both keys", () => covered(sseTrends()), { timeoutMs: 15_000 });
    await waitFor("WebSocket trend messages for every surge window of both keys", () => covered(wsSignals), { timeoutMs: 5_000 });
    for (const e of sse.events.filter((e) => e.event === "trend")) {
      const s = JSON.parse(e.data) as SignalRecord;
      assert.is(e.id, `${s.stream}:${s.key}:${s.windowStart}`, "each SSE trend carries its id");
      assert.is(s.stream, STREAM);
    }

    const top = (await (await fetch(`${tp.base}/v1/trends?stream=${STREAM}&limit=50`)).json()) as { trends: SignalRecord[] };
    for (const key of HOT) {
      const t = top.trends.find((s) => s.key === key);
      assert.ok(t, `GET /v1/trends lists ${key}: ${JSON.stringify(top.trends.map((s) => [s.key, s.direction, s.windowStart]))}`);
    }
    const upInTop = top.trends.filter((s) => HOT.includes(s.key) && s.direction === "up");
    assert.is(upInTop.length, HOT.length, `both surging keys are listed as rising: ${JSON.stringify(top.trends.map((s) => [s.key, s.direction]))}`);

    const details = new Map<string, { windows: WindowRecord[]; signals: SignalRecord[] }>();
    type KeyDetail = { stream: string; key: string; windows: WindowRecord[]; signals: SignalRecord[]; baseline: unknown };
    for (const key of HOT) {
      const url = `${tp.base}/v1/trends/${STREAM}/${encodeURIComponent(key)}`;
      // Every window but the last one sent has closed; the read model follows asynchronously.
      const body = await waitFor(`${key}'s ${TOTAL_WINDOWS - 1} closed windows on GET /v1/trends/{stream}/{key}`, async () => {
        const res = await fetch(url);
        assert.is(res.status, 200, `GET /v1/trends/${STREAM}/${key}`);
        const body = (await res.json()) as KeyDetail;
        return body.windows.length === TOTAL_WINDOWS - 1 && body;
      });
      assert.is(body.key, key);
      assert.is(body.stream, STREAM);
      assert.equal(body.windows.map((w) => w.windowStart), Array.from({ length: TOTAL_WINDOWS - 1 }, (_, w) => T0 + w * WINDOW_MS), "windows in order, none missing");
      assert.ok(body.signals.some(isSurgeUp), "the key's signals include the surge");
      assert.ok(body.baseline, "a baseline is reported");
      details.set(key, body);
    }
    const quiet = await fetch(`${tp.base}/v1/trends/${STREAM}/bg0`);
    assert.is(quiet.status, 200, "a stationary key has windows to show");

    sse.close();
    ws.close();
    await tp.stop();
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");

    // The archive: exact windows, and signals equal to what the edges served.
    const { totals, windows } = await finalWindows(tp.dataDir, [STREAM]);
    assert.equal(diffTotals(sent, totals), [], "archived windows equal an offline recount");
    assert.equal(await readArchive(tp.dataDir, "dlq"), [], "nothing was dead-lettered");
    const signals = await archivedSignals(tp.dataDir, STREAM);
    for (const key of HOT) {
      const archived = signals.filter((s) => s.key === key);
      for (const start of surgeStarts) {
        assert.ok(archived.some((s) => s.windowStart === start && s.direction === "up"), `the archive holds ${key}'s rise in window ${start}`);
      }
      const served = details.get(key)!;
      for (const w of served.windows) {
        const a = windows.get(windowId(STREAM, key, w.windowStart));
        assert.ok(a, `window ${w.windowStart} of ${key} is archived`);
        assert.equal({ count: w.count, sum: w.sum, min: w.min, max: w.max, revision: w.revision }, { count: a!.count, sum: a!.sum, min: a!.min, max: a!.max, revision: a!.revision }, `window ${w.windowStart} of ${key} as served equals the archive`);
      }
      for (const s of served.signals) {
        const a = archived.find((x) => x.windowStart === s.windowStart);
        assert.ok(a, `signal ${s.windowStart} of ${key} is archived`);
        assert.equal(
          { observed: a!.observed, expected: a!.expected, score: a!.score, direction: a!.direction, detector: a!.detector },
          { observed: s.observed, expected: s.expected, score: s.score, direction: s.direction, detector: s.detector },
        );
        assert.is(s.observed, windows.get(windowId(STREAM, key, s.windowStart))!.sum, "a signal's observed value is its window's sum");
      }
    }
    const background = signals.filter((s) => BACKGROUND.includes(s.key));
    assert.ok(background.length <= MAX_BACKGROUND_SIGNALS, `stationary keys stayed quiet: ${JSON.stringify(background.map((s) => [s.key, s.windowStart, s.direction, s.score]))}`);
    const fromSse = sseTrends();
    assert.ok(fromSse.filter((s) => BACKGROUND.includes(s.key)).length <= MAX_BACKGROUND_SIGNALS, "no stationary key on the live feed");
    const archivedIds = new Set(signals.map((s) => `${s.key}:${s.windowStart}`));
    for (const s of fromSse) assert.ok(archivedIds.has(`${s.key}:${s.windowStart}`), `live signal ${s.key}@${s.windowStart} is archived`);
  } finally {
    sse.close();
    ws.close();
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
