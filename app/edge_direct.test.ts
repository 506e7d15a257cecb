/**
 * Direct routes at the edge (runtime/http/direct_route.ts): ingest's POST of events, answered by
 * the Node adapter straight from node:http, answers every request exactly as its Hono route
 * does — status, headers, problem document, counters — for well-formed requests and for the
 * forms it leaves to Hono (percent-escapes, dot segments). Each request of a table goes over
 * raw TCP to two servers of one edge on this runtime, one served with the direct routes and one
 * without; on Node the first answers the plain paths directly, on Deno both go through Hono.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { encode } from "@msgpack/msgpack";
import { httpEdge } from "./edge.ts";
import { ingestEdge } from "../actors/ingest/ingest.ts";
import { defaultIngestLimits } from "../actors/ingest/accept.ts";
import { MetricsRegistry } from "../runtime/core/metrics.ts";
import { memoryLogger } from "../runtime/core/log.ts";
import { currentPlatform } from "../runtime/platform/current.ts";
import type { DirectRoute } from "../runtime/http/direct_route.ts";
import type { HttpServer } from "../runtime/platform/platform.ts";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { TransportUnavailableError } from "../runtime/core/errors.ts";

const platform = await currentPlatform();
const MAX_BODY = 2048;
const codec = new MessageCodec();

interface Served {
  server: HttpServer;
  metrics: MetricsRegistry;
  /** Requests the direct route's handler answered. */
  direct: { calls: number };
}

/** One edge with ingest's routes over a publish that de-duplicates message ids, as a transport does. */
async function serveEdge(withDirect: boolean): Promise<Served> {
  const seen = new Set<string>();
  let seq = 0;
  const metrics = new MetricsRegistry();
  const log = memoryLogger("error");
  const ingest = ingestEdge({
    publish: (subject, _type, _body, options) => {
      if (subject.endsWith(".boom")) return Promise.reject(new Error("publish failed"));
      if (subject.endsWith(".down")) return Promise.reject(new TransportUnavailableError("storage down", 1500));
      const duplicate = options?.id !== undefined && seen.has(options.id);
      if (options?.id !== undefined) seen.add(options.id);
      return Promise.resolve({ stream: "TW_RAW", seq: ++seq, duplicate });
    },
    decodeMsgpack: (bytes) => codec.decodeValue(bytes),
    now: () => Date.now(),
    log,
    limits: { ...defaultIngestLimits, maxBodyBytes: MAX_BODY, maxEventsPerRequest: 20 },
    upgradeWebSocket: platform.http.upgradeWebSocket,
    pauseWebSocket: () => false,
    resumeWebSocket: () => {},
    readBody: (request, env, max) => platform.http.readBody(request, env, max),
    wsMaxInFlight: 8,
  });
  const direct = { calls: 0 };
  const counted: DirectRoute[] = ingest.direct.map((route) => ({
    ...route,
    handle: (request) => {
      direct.calls++;
      return route.handle(request);
    },
  }));
  const edge = httpEdge({ routes: [ingest.routes], direct: counted, log, metrics, isReady: () => true });
  const server = await platform.http.serve({ port: 0, hostname: "127.0.0.1", fetch: edge.app.fetch, direct: withDirect ? edge.direct : [], maxWebSocketPayload: MAX_BODY });
  return { server, metrics, direct };
}

interface Answer {
  status: string;
  headers: Record<string, string>;
  body: string;
}

/** Sends `request` (raw bytes, Connection: close) and reads the whole answer. */
function exchange(port: number, request: Uint8Array): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: "127.0.0.1" }, () => socket.end(request));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no complete answer within 5 s"));
    }, 5_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      const [status, ...lines] = text.slice(0, split).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ status: status!, headers, body: text.slice(split + 4) });
    });
  });
}

function rawRequest(method: string, path: string, headers: [string, string][], body: string | Uint8Array = "", options: { host?: string | null; version?: string } = {}): Uint8Array {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const host = options.host === null ? "" : `Host: ${options.host ?? "127.0.0.1"}\r\n`;
  const head = `${method} ${path} HTTP/${options.version ?? "1.1"}\r\n${host}Connection: close\r\n` +
    headers.map(([k, v]) => `${k}: ${v}\r\n`).join("") + `Content-Length: ${bytes.byteLength}\r\n\r\n`;
  const out = new Uint8Array(head.length + bytes.byteLength);
  out.set(new TextEncoder().encode(head));
  out.set(bytes, head.length);
  return out;
}

const T0 = Date.UTC(2026, 0, 21, 14, 0, 0);
const json: [string, string] = ["Content-Type", "application/json"];
const event = (key: string) => JSON.stringify({ key, ts: T0 });

/** Requests, and whether the direct route takes them where the adapter serves it. */
const requests: { name: string; request: Uint8Array; direct: boolean }[] = [
  { name: "one JSON event", request: rawRequest("POST", "/v1/streams/clicks/events", [json], event("a")), direct: true },
  { name: "NDJSON", request: rawRequest("POST", "/v1/streams/clicks/events", [["Content-Type", "application/x-ndjson"]], `${event("a")}\n${event("b")}\n`), direct: true },
  { name: "MessagePack", request: rawRequest("POST", "/v1/streams/clicks/events", [["Content-Type", "application/msgpack"]], encode([{ key: "a", ts: T0 }])), direct: true },
  { name: "a query string", request: rawRequest("POST", "/v1/streams/clicks/events?source=test", [json], event("a")), direct: true },
  { name: "Idempotency-Key, first", request: rawRequest("POST", "/v1/streams/clicks/events", [json, ["Idempotency-Key", "retry-1"]], event("a")), direct: true },
  { name: "Idempotency-Key, again", request: rawRequest("POST", "/v1/streams/clicks/events", [json, ["Idempotency-Key", "retry-1"]], event("a")), direct: true },
  { name: "an invalid stream name", request: rawRequest("POST", "/v1/streams/a.b/events", [json], event("a")), direct: false },
  { name: "a backslash in the name", request: rawRequest("POST", "/v1/streams/a\\b/events", [json], event("a")), direct: false },
  { name: "a # in the name", request: rawRequest("POST", "/v1/streams/cl#x/events", [json], event("a")), direct: false },
  { name: "a Host with a port out of range", request: rawRequest("POST", "/v1/streams/clicks/events", [json], event("a"), { host: "foo:99999" }), direct: false },
  { name: "a Host with a path", request: rawRequest("POST", "/v1/streams/clicks/events", [json], event("a"), { host: "foo/bar" }), direct: false },
  { name: "no Host (HTTP/1.0)", request: rawRequest("POST", "/v1/streams/clicks/events", [json], event("a"), { host: null, version: "1.0" }), direct: false },
  { name: "a plain Host with a port", request: rawRequest("POST", "/v1/streams/clicks/events", [json], event("a"), { host: "localhost:8080" }), direct: true },
  { name: "a percent-escaped stream name", request: rawRequest("POST", "/v1/streams/cl%69cks/events", [json], event("a")), direct: false },
  { name: "a percent-escaped invalid name", request: rawRequest("POST", "/v1/streams/s%201/events", [json], event("a")), direct: false },
  { name: "a dot segment", request: rawRequest("POST", "/v1/streams/../events", [json], event("a")), direct: false },
  { name: "a dot segment inside", request: rawRequest("POST", "/v1/streams/x/../clicks/events", [json], event("a")), direct: false },
  { name: "a trailing slash", request: rawRequest("POST", "/v1/streams/clicks/events/", [json], event("a")), direct: false },
  { name: "a GET", request: rawRequest("GET", "/v1/streams/clicks/events", []), direct: false },
  { name: "a wrong Content-Type", request: rawRequest("POST", "/v1/streams/clicks/events", [["Content-Type", "text/plain"]], event("a")), direct: true },
  { name: "no Content-Type", request: rawRequest("POST", "/v1/streams/clicks/events", [], event("a")), direct: true },
  { name: "Content-Type twice", request: rawRequest("POST", "/v1/streams/clicks/events", [json, ["content-type", "text/plain"]], event("a")), direct: true },
  { name: "invalid JSON", request: rawRequest("POST", "/v1/streams/clicks/events", [json], "[{"), direct: true },
  { name: "an invalid event", request: rawRequest("POST", "/v1/streams/clicks/events", [json], JSON.stringify({ key: 1, ts: T0 })), direct: true },
  { name: "too many events", request: rawRequest("POST", "/v1/streams/clicks/events", [json], JSON.stringify(Array.from({ length: 21 }, () => ({ key: "k", ts: T0 })))), direct: true },
  { name: "a body over the limit", request: rawRequest("POST", "/v1/streams/clicks/events", [json], JSON.stringify([{ key: "k".repeat(200), ts: T0 }]).repeat(12)), direct: true },
  { name: "storage unavailable", request: rawRequest("POST", "/v1/streams/down/events", [json], event("a")), direct: true },
  { name: "a failing write", request: rawRequest("POST", "/v1/streams/boom/events", [json], event("a")), direct: true },
];

/** What must match: the status line, the headers that carry meaning, and the body (batch ids are random). */
function comparable(a: Answer): string {
  const kept = ["content-type", "content-length", "accept", "retry-after", "connection"].map((h) => `${h}: ${a.headers[h] ?? "-"}`);
  return [a.status, ...kept, a.body.replace(/"batchId":"[^"]*"/, '"batchId":"…"')].join("\n");
}

test("ingest's POST answered directly is answered as through Hono: statuses, headers, problems, duplicates and counters", async () => {
  const viaDirect = await serveEdge(true);
  const viaHono = await serveEdge(false);
  try {
    const statuses = new Set<string>();
    for (const { name, request, direct } of requests) {
      const before = viaDirect.direct.calls;
      const a = await exchange(viaDirect.server.port, request);
      const b = await exchange(viaHono.server.port, request);
      assert.is(comparable(a), comparable(b), name);
      // On Deno the adapter leaves direct routes to fetch: Hono's route answers every request.
      assert.is(viaDirect.direct.calls - before, platform.name === "node" && direct ? 1 : 0, `${name}: answered directly`);
      statuses.add(a.status.split(" ")[1]!);
    }
    assert.is(viaHono.direct.calls, 0);
    assert.equal([...statuses].sort(), ["202", "400", "404", "413", "415", "422", "500", "503"]);
    const counters = (m: MetricsRegistry) => m.render().split("\n").filter((l) => l.startsWith("tw_http_requests_total{")).sort().join("\n");
    assert.is(counters(viaDirect.metrics), counters(viaHono.metrics));
    assert.match(counters(viaDirect.metrics), 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="202"}');
  } finally {
    await viaDirect.server.close();
    await viaHono.server.close();
  }
});

// Node only: Deno's server keeps reading such a body for as long as the client sends it (seen
// over 6 s; its own behaviour, the same for every route there).
if (platform.name === "node") test("a body left unread by an early answer is dropped for a moment, then the connection closed, on both paths", async () => {
  for (const withDirect of [true, false]) {
    const { server } = await serveEdge(withDirect);
    try {
      // A 415 answered before the body, whose client then sends it slowly on a kept-alive connection.
      const closedAfterMs = await new Promise<number>((resolve, reject) => {
        const socket = net.connect({ port: server.port, host: "127.0.0.1" }, () => {
          socket.write("POST /v1/streams/clicks/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000000\r\n\r\n");
        });
        let answeredAt = 0;
        const drip = setInterval(() => socket.writable && socket.write("x".repeat(100)), 100);
        const timer = setTimeout(() => {
          clearInterval(drip);
          socket.destroy();
          reject(new Error(`the connection was still open 5 s after the answer (direct: ${withDirect})`));
        }, 5_000 + 1_000);
        socket.on("data", (chunk: Buffer) => {
          if (answeredAt === 0 && chunk.toString("latin1").startsWith("HTTP/1.1 415")) answeredAt = Date.now();
        });
        socket.on("error", () => {});
        socket.on("close", () => {
          clearInterval(drip);
          clearTimeout(timer);
          if (answeredAt === 0) reject(new Error("closed without a 415"));
          else resolve(Date.now() - answeredAt);
        });
      });
      assert.ok(closedAfterMs < 5_000, `closed ${closedAfterMs} ms after the answer`);
    } finally {
      await server.close();
    }
  }
});

test.run();
