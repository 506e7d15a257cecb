/**
 * End to end: what a bad request gets (RFC 9457 problem+json with the right status and a
 * detail), and that it leaves no trace — it never enters the pipeline, so neither the archive
 * nor the dead-letter stream sees it. And Idempotency-Key: a retried request counts once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { encode } from "@msgpack/msgpack";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { chunk, T0, tally, windowEvents, type TestEvent } from "../helpers/events.ts";
import { openWebSocket, postEvents, sendFrames, wsUrl } from "../helpers/edge_client.ts";
import { withTimeout } from "../helpers/wait.ts";
import { diffTotals, finalWindows, rawSummary, readArchive, sumCounts } from "../helpers/archive.ts";

const WINDOW_MS = 1000;
const MAX_BODY = 4096;
const MAX_EVENTS = 50;
// Nothing closes by event time or idleness: every window reaches the archive at stop.
const flags = { "max-out-of-order-ms": "60000", "idle-timeout-ms": "600000", "max-body-bytes": String(MAX_BODY), "max-events-per-request": String(MAX_EVENTS) };

interface BadRequest {
  name: string;
  status: number;
  path?: string;
  headers?: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer> | (() => ReadableStream<Uint8Array>);
  /** Extra checks on the problem document. */
  check?: (problem: Record<string, unknown>) => void;
}

const ev = (key: string, i: number): TestEvent => ({ key, ts: T0 + i });
const json = { "content-type": "application/json" };
const many = (n: number) => Array.from({ length: n }, (_, i) => ev("x", i));

const badRequests: BadRequest[] = [
  { name: "invalid JSON", status: 400, headers: json, body: '[{"key":"a","ts":' + T0 + "}," },
  { name: "JSON that is not an event", status: 400, headers: json, body: "42" },
  { name: "an empty array", status: 400, headers: json, body: "[]" },
  { name: "invalid UTF-8", status: 400, headers: json, body: new Uint8Array([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]) },
  { name: "a bad NDJSON line", status: 400, headers: { "content-type": "application/x-ndjson" }, body: `{"key":"a","ts":${T0}}\n{"key":\n` },
  { name: "truncated MessagePack", status: 400, headers: { "content-type": "application/msgpack" }, body: new Uint8Array(encode([ev("a", 1), ev("b", 2)]).slice(0, -3)) },
  { name: "a wrong Content-Type", status: 415, headers: { "content-type": "text/plain" }, body: JSON.stringify([ev("a", 1)]) },
  { name: "no Content-Type", status: 415, headers: {}, body: new Uint8Array(new TextEncoder().encode(JSON.stringify([ev("a", 1)]))) },
  {
    name: "a body over the limit",
    status: 413,
    headers: json,
    body: JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ key: `key-with-a-long-name-${i}-${"p".repeat(80)}`, ts: T0 + i }))),
    check: (p) => assert.is(p.limit, MAX_BODY),
  },
  {
    name: "a streamed (chunked) body over the limit",
    status: 413,
    headers: json,
    body: () => {
      const piece = new TextEncoder().encode(JSON.stringify(ev("streamed", 1)) + ",");
      let sent = 0;
      return new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode("["));
          if (sent > 2 * MAX_BODY) return controller.close();
          controller.enqueue(piece);
          sent += piece.byteLength;
        },
      });
    },
    check: (p) => assert.is(p.limit, MAX_BODY),
  },
  {
    name: "more events than max-events-per-request",
    status: 413,
    headers: { "content-type": "application/msgpack" },
    body: new Uint8Array(encode(many(MAX_EVENTS + 1).map(({ key }) => ({ key })))),
    check: (p) => assert.is(p.limit, MAX_EVENTS),
  },
  {
    name: "more NDJSON lines than max-events-per-request",
    status: 413,
    headers: { "content-type": "application/x-ndjson" },
    body: many(MAX_EVENTS + 1).map(({ key }) => JSON.stringify({ key })).join("\n"),
    check: (p) => assert.is(p.limit, MAX_EVENTS),
  },
  {
    name: "events failing validation",
    status: 422,
    headers: json,
    body: JSON.stringify([ev("ok", 1), { key: "a", ts: "yesterday" }, ev("ok", 2), { ts: T0 }, { key: "b", value: "3" }]),
    check: (p) => {
      const pointers = (p.errors as { pointer: string; detail: string }[]).map((e) => e.pointer);
      assert.equal(pointers, ["/1/ts", "/3/key", "/4/value"], "each invalid field is named by a JSON pointer");
      for (const e of p.errors as { detail: string }[]) assert.type(e.detail, "string");
      assert.ok(String(p.detail).includes("3 of 5"), `the detail counts the invalid events: ${p.detail}`);
    },
  },
  { name: "a bad stream name", status: 400, path: "/v1/streams/bad.name/events", headers: json, body: JSON.stringify([ev("a", 1)]) },
  { name: "a too long stream name", status: 400, path: `/v1/streams/${"s".repeat(65)}/events`, headers: json, body: JSON.stringify([ev("a", 1)]) },
  { name: "an Idempotency-Key with a space", status: 400, headers: { ...json, "idempotency-key": "two words" }, body: JSON.stringify([ev("a", 1)]) },
  { name: "an Idempotency-Key over 200 characters", status: 400, headers: { ...json, "idempotency-key": "k".repeat(201) }, body: JSON.stringify([ev("a", 1)]) },
  { name: "an unknown route", status: 404, path: "/v1/streams/good/eventz", headers: json, body: "[]" },
];

test("malformed requests get problem+json and leave no trace in the pipeline", async () => {
  const tp = await startTestPipeline(flags);
  try {
    const sent = new Map();
    const batchIds: string[] = [];
    let accepted = 0;
    const sendValid = async (i: number) => {
      const events = windowEvents(T0 + (i % 3) * WINDOW_MS, WINDOW_MS, { good: 10, other: 5 + i });
      const r = await postEvents(tp.base, "good", i % 2 ? "ndjson" : "json", events);
      tally(sent, "good", events, WINDOW_MS);
      accepted += r.accepted;
      batchIds.push(r.batchId);
    };
    await sendValid(0);
    for (const [i, bad] of badRequests.entries()) {
      const body = typeof bad.body === "function" ? bad.body() : bad.body;
      const init: RequestInit & { duplex?: "half" } = { method: "POST", headers: bad.headers, body };
      if (body instanceof ReadableStream) init.duplex = "half";
      const res = await fetch(`${tp.base}${bad.path ?? "/v1/streams/good/events"}`, init);
      const text = await res.text();
      assert.is(res.status, bad.status, `${bad.name}: status (${text})`);
      assert.is(res.headers.get("content-type")?.split(";")[0], "application/problem+json", `${bad.name}: content type`);
      const problem = JSON.parse(text) as Record<string, unknown>;
      assert.is(problem.status, bad.status, `${bad.name}: the problem's status`);
      assert.type(problem.title, "string", `${bad.name}: a title`);
      assert.ok(typeof problem.detail === "string" && problem.detail.length > 10, `${bad.name}: a useful detail (${problem.detail})`);
      bad.check?.(problem);
      await sendValid(i + 1); // valid traffic in between is unaffected
    }

    // Bad queries get problem+json too.
    const badQueries: [string, number][] = [
      ["/v1/trends?limit=0", 400],
      ["/v1/trends?limit=abc", 400],
      ["/v1/trends?stream=bad.name", 400],
      ["/v1/trends/stream?stream=bad.name", 400],
      ["/v1/trends/bad.name/k", 400],
      ["/v1/trends/good/never-sent", 404],
      ["/v1/streams/good/events/ws", 426],
    ];
    for (const [path, status] of badQueries) {
      const res = await fetch(`${tp.base}${path}`);
      const text = await res.text();
      assert.is(res.status, status, `GET ${path}: ${text}`);
      assert.is(res.headers.get("content-type")?.split(";")[0], "application/problem+json", `GET ${path}: content type`);
      assert.ok((JSON.parse(text) as { detail?: string }).detail, `GET ${path}: a detail`);
    }

    // A frame over the body limit closes the socket (1009) and is not accepted.
    const big = await openWebSocket(wsUrl(tp.base, "/v1/streams/good/events/ws"));
    const closed = new Promise<number>((resolve) => (big.onclose = (e) => resolve(e.code)));
    big.send(JSON.stringify(many(MAX_EVENTS).map((e) => ({ ...e, key: "k".repeat(100) }))));
    assert.is(await withTimeout("the socket to close", closed), 1009, "an oversized frame closes the socket with 1009");

    // Bad frames on the ingest socket are refused one by one; the socket stays usable.
    const ws = await openWebSocket(wsUrl(tp.base, "/v1/streams/good/events/ws"));
    const goodFrame = [ev("ws", 1), ev("ws", 2)];
    const acks = await sendFrames(ws, ["{not json", new Uint8Array([0x92, 0x81]), JSON.stringify(many(MAX_EVENTS + 1)), JSON.stringify([{ ts: T0 }]), JSON.stringify(goodFrame)], 1);
    ws.close();
    assert.equal(acks.map((a) => a.error?.status ?? 202), [400, 400, 413, 422, 202], "per-frame answers");
    for (const a of acks.slice(0, 4)) assert.ok(a.error!.detail.length > 10, `frame ${a.frame}: a useful detail`);
    tally(sent, "good", goodFrame, WINDOW_MS);
    accepted += acks[4]!.accepted!;
    batchIds.push(acks[4]!.batchId!);

    await tp.stop();
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");

    const raw = await rawSummary(tp.dataDir);
    assert.equal(raw.repeated, []);
    assert.equal([...raw.batches.keys()].sort(), [...batchIds].sort(), "the raw archive holds the valid requests' batches only");
    assert.is(raw.events, accepted);
    const { totals } = await finalWindows(tp.dataDir);
    assert.equal(diffTotals(sent, totals), [], "only the valid requests' events were counted");
    assert.is(sumCounts(totals), accepted);
    assert.equal(await readArchive(tp.dataDir, "dlq"), [], "the refused requests never reached the dead-letter stream");
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test("a request retried with the same Idempotency-Key is accepted twice and counted once", async () => {
  const tp = await startTestPipeline(flags);
  try {
    const events = windowEvents(T0, WINDOW_MS, { a: 20, b: 7 });
    const first = await postEvents(tp.base, "idem", "json", events, { "idempotency-key": "order-42" });
    const again = await postEvents(tp.base, "idem", "json", events, { "idempotency-key": "order-42" });
    assert.equal(first, { accepted: events.length, batchId: first.batchId, duplicate: false });
    assert.equal(again, { accepted: events.length, batchId: first.batchId, duplicate: true }, "the retry is recognised");
    // Concurrent retries of one new key: exactly one is the original.
    const concurrent = await Promise.all([0, 1, 2, 3].map(() => postEvents(tp.base, "idem", "msgpack", events, { "idempotency-key": "order-43" })));
    assert.is(concurrent.filter((r) => !r.duplicate).length, 1, "one original among concurrent retries");
    assert.is(new Set(concurrent.map((r) => r.batchId)).size, 1);
    // The same key on another stream is another request.
    const elsewhere = await postEvents(tp.base, "idem-other", "json", events, { "idempotency-key": "order-42" });
    assert.is(elsewhere.duplicate, false, "keys are scoped to their stream");
    // No key: the same body twice is two requests.
    await postEvents(tp.base, "idem", "json", chunk(events, 10)[0]!);
    await postEvents(tp.base, "idem", "json", chunk(events, 10)[0]!);

    await tp.stop();
    assert.equal(tp.log.lines, [], "nothing logged at warn or error");

    const expected = new Map();
    tally(expected, "idem", events, WINDOW_MS); // order-42
    tally(expected, "idem", events, WINDOW_MS); // order-43
    tally(expected, "idem-other", events, WINDOW_MS);
    tally(expected, "idem", chunk(events, 10)[0]!, WINDOW_MS);
    tally(expected, "idem", chunk(events, 10)[0]!, WINDOW_MS);
    const raw = await rawSummary(tp.dataDir);
    assert.equal(raw.repeated, [], "no batch archived twice");
    assert.is(raw.batches.size, 5, "five distinct batches were archived");
    assert.ok(raw.batches.has(first.batchId));
    const { totals } = await finalWindows(tp.dataDir);
    assert.equal(diffTotals(expected, totals), [], "retried requests were counted once");
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
