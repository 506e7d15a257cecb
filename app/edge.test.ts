/** The HTTP edge's own routes and its request metric. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Hono, type Handler } from "hono";
import { httpEdge } from "./edge.ts";
import { MetricsRegistry } from "../runtime/core/metrics.ts";
import { memoryLogger } from "../runtime/core/log.ts";
import type { DirectRequest, DirectRoute } from "../runtime/http/direct_route.ts";

test("tw_http_requests_total counts requests by method, route pattern and status, repeated ones in one series", async () => {
  const routes = new Hono();
  routes.post("/v1/streams/:stream/events", (c) => c.json({ accepted: 1 }, c.req.param("stream") === "bad" ? 400 : 202));
  const metrics = new MetricsRegistry();
  const app = httpEdge({ routes: [routes], log: memoryLogger("warn"), metrics, isReady: () => true }).app;
  for (let i = 0; i < 5; i++) assert.is((await app.request("/v1/streams/clicks/events", { method: "POST" })).status, 202);
  assert.is((await app.request("/v1/streams/other/events", { method: "POST" })).status, 202);
  assert.is((await app.request("/v1/streams/bad/events", { method: "POST" })).status, 400);
  assert.is((await app.request("/nowhere")).status, 404);
  assert.is((await app.request("/elsewhere")).status, 404);
  const text = metrics.render();
  assert.match(text, 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="202"} 6\n');
  assert.match(text, 'tw_http_requests_total{method="POST",route="/v1/streams/:stream/events",status="400"} 1\n');
  assert.match(text, /tw_http_requests_total\{method="GET",route="[^"]*",status="404"\} 2\n/);
});

test("routes mounted from the route modules resolve as registered, and every request counts once: chained handlers, errors, unknown paths", async () => {
  const ingest = new Hono();
  ingest.post("/v1/streams/:stream/events", async (c) => c.text(`events ${c.req.param("stream")}`, 202));
  ingest.get("/v1/streams/:stream/events/ws", async (c, next) => (c.req.param("stream") === "bad" ? c.text("bad stream", 400) : await next()), (c) => c.text(`ws ${c.req.param("stream")}`));
  const trends = new Hono();
  trends.get("/v1/trends", (c) => c.text("top"));
  trends.get("/v1/trends/stream", async (_c, next) => void (await next()), (c) => c.text("live"));
  trends.get("/v1/trends/:stream/:key", (c) => c.text(`key ${c.req.param("stream")}/${c.req.param("key")}`));
  trends.get("/v1/boom", () => {
    throw new Error("boom");
  });
  const metrics = new MetricsRegistry();
  const app = httpEdge({ routes: [ingest, trends], log: memoryLogger("error"), metrics, isReady: () => true }).app;
  const answer = async (path: string, method = "GET") => {
    const res = await app.request(path, { method });
    return `${res.status} ${await res.text()}`;
  };
  assert.is(await answer("/v1/streams/clicks/events", "POST"), "202 events clicks");
  assert.is(await answer("/v1/streams/clicks/events/ws"), "200 ws clicks");
  assert.is(await answer("/v1/streams/bad/events/ws"), "400 bad stream");
  assert.is(await answer("/v1/trends"), "200 top");
  assert.is(await answer("/v1/trends/stream"), "200 live");
  assert.is(await answer("/v1/trends/clicks/page-7"), "200 key clicks/page-7");
  assert.is(await answer("/v1/trends/stream/x"), "200 key stream/x");
  assert.is((await app.request("/v1/boom")).status, 500);
  assert.is((await app.request("/v1/trends/a/b/c")).status, 404);
  assert.is((await app.request("/v1/streams/clicks/events")).status, 404, "GET on a POST route");
  const text = metrics.render();
  const series = (method: string, route: string, status: number) => new RegExp(`tw_http_requests_total\\{method="${method}",route="${route.replace(/[*]/g, "\\*")}",status="${status}"\\} (\\d+)\n`).exec(text)?.[1];
  assert.is(series("POST", "/v1/streams/:stream/events", 202), "1");
  assert.is(series("GET", "/v1/streams/:stream/events/ws", 200), "1", "the chain's answer counted once");
  assert.is(series("GET", "/v1/streams/:stream/events/ws", 400), "1");
  assert.is(series("GET", "/v1/trends/stream", 200), "1");
  assert.is(series("GET", "/v1/trends/:stream/:key", 200), "2");
  assert.is(series("GET", "/v1/boom", 500), "1");
  assert.is(series("GET", "/*", 404), "2");
  const total = [...text.matchAll(/^tw_http_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  assert.is(total, 10, "ten requests, ten counted");
});

test("every request counts once with the status sent: chains that rewrite or fail after passing on, routes that answer nothing, HEAD, unknown methods", async () => {
  const routes = new Hono();
  routes.get("/rewrites", async (c, next) => {
    await next();
    c.res = new Response(null, { status: 304 });
  }, (c) => c.text("fresh"));
  routes.get("/throws-after", async (_c, next) => {
    await next();
    throw new Error("after");
  }, (c) => c.text("inner"));
  routes.get("/inner-throws", async (_c, next) => void (await next()), () => {
    throw new Error("inner");
  });
  routes.get("/falls-through", async (_c, next) => void (await next()), async (_c, next) => void (await next()));
  routes.get("/nothing", (() => undefined) as unknown as Handler);
  routes.on("XYZZY", "/odd", (c) => c.text("odd"));
  const metrics = new MetricsRegistry();
  const app = httpEdge({ routes: [routes], log: memoryLogger("error"), metrics, isReady: () => true }).app;
  assert.is((await app.request("/rewrites")).status, 304);
  assert.is((await app.request("/throws-after")).status, 500);
  assert.is((await app.request("/inner-throws")).status, 500);
  assert.is((await app.request("/falls-through")).status, 404);
  assert.is((await app.request("/nothing")).status, 404);
  assert.is((await app.request("/healthz", { method: "HEAD" })).status, 200);
  assert.is((await app.request("/odd", { method: "XYZZY" })).status, 200);
  const text = metrics.render();
  const lines = text.split("\n").filter((l) => l.startsWith("tw_http_requests_total{"));
  assert.equal(lines.sort(), [
    'tw_http_requests_total{method="GET",route="/falls-through",status="404"} 1',
    'tw_http_requests_total{method="GET",route="/inner-throws",status="500"} 1',
    'tw_http_requests_total{method="GET",route="/nothing",status="404"} 1',
    'tw_http_requests_total{method="GET",route="/rewrites",status="304"} 1',
    'tw_http_requests_total{method="GET",route="/throws-after",status="500"} 1',
    'tw_http_requests_total{method="HEAD",route="/healthz",status="200"} 1',
    'tw_http_requests_total{method="OTHER",route="/odd",status="200"} 1',
  ]);
});

test("a route module with its own error handler, middleware or an ALL route is refused: the edge answers every error and counts by route", () => {
  const edge = (routes: Hono) => httpEdge({ routes: [routes], log: memoryLogger("error"), metrics: new MetricsRegistry(), isReady: () => true }).app;
  const withOnError = new Hono();
  withOnError.get("/x", (c) => c.text("x"));
  withOnError.onError((_err, c) => c.text("mine", 418));
  assert.throws(() => edge(withOnError), /own error handler/);
  const withMiddleware = new Hono();
  withMiddleware.use(async (_c, next) => void (await next()));
  withMiddleware.get("/x", (c) => c.text("x"));
  assert.throws(() => edge(withMiddleware), /middleware or an ALL route/);
  const withAll = new Hono();
  withAll.all("/x", (c) => c.text("x"));
  assert.throws(() => edge(withAll), /middleware or an ALL route \(\/x\)/);
  const plain = new Hono();
  plain.get("/x", (c) => c.text("x"));
  plain.post("/x", (c) => c.text("x"));
  edge(plain);
});

test("a direct route is counted like its Hono route, a handler that throws is answered 500 and logged, and one that is not among the routes is refused", async () => {
  const routes = new Hono();
  routes.post("/v1/things/:id", (c) => c.text("via Hono"));
  const metrics = new MetricsRegistry();
  const log = memoryLogger("error");
  const route: DirectRoute = {
    method: "POST",
    route: "/v1/things/:id",
    match: (path) => (path.startsWith("/v1/things/") ? { id: path.slice(11) } : undefined),
    handle: async (request) => {
      if (request.params.id === "boom") throw new Error("boom");
      return { status: 201, headers: { "content-type": "text/plain" }, body: `made ${request.params.id}` };
    },
  };
  const { direct } = httpEdge({ routes: [routes], direct: [route], log, metrics, isReady: () => true });
  const request = (id: string): DirectRequest => ({ method: "POST", path: `/v1/things/${id}`, params: { id }, header: () => undefined, readBody: async () => new Uint8Array(0) });
  assert.equal(await direct[0]!.handle(request("a")), { status: 201, headers: { "content-type": "text/plain" }, body: "made a" });
  const failed = await direct[0]!.handle(request("boom"));
  assert.is(failed.status, 500);
  assert.is(failed.headers["content-type"], "application/problem+json");
  assert.is(JSON.parse(failed.body).title, "Internal error");
  assert.ok(log.lines.some((l) => l.msg === "request failed" && l.path === "/v1/things/boom"));
  const text = metrics.render();
  assert.match(text, 'tw_http_requests_total{method="POST",route="/v1/things/:id",status="201"} 1\n');
  assert.match(text, 'tw_http_requests_total{method="POST",route="/v1/things/:id",status="500"} 1\n');
  assert.throws(() => httpEdge({ routes: [routes], direct: [{ ...route, method: "PUT" }], log, metrics: new MetricsRegistry(), isReady: () => true }), /direct route PUT \/v1\/things\/:id is not one of the routes/);
});

test.run();
