/** The HTTP edge's own routes and its request metric. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Hono } from "hono";
import { edgeApp } from "./edge.ts";
import { MetricsRegistry } from "../runtime/core/metrics.ts";
import { memoryLogger } from "../runtime/core/log.ts";

test("tw_http_requests_total counts requests by method, route pattern and status, repeated ones in one series", async () => {
  const routes = new Hono();
  routes.post("/v1/streams/:stream/events", (c) => c.json({ accepted: 1 }, c.req.param("stream") === "bad" ? 400 : 202));
  const metrics = new MetricsRegistry();
  const app = edgeApp({ routes: [routes], log: memoryLogger("warn"), metrics, isReady: () => true });
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

test.run();
