/**
 * The HTTP edge of one process: ingest and trends routes (for the kinds it runs), health,
 * readiness and metrics, with problem+json for unknown routes and unexpected errors.
 */
import { Hono } from "hono";
import { problem } from "../runtime/http/problem.ts";
import type { Logger } from "../runtime/core/log.ts";
import { seriesBy, type MetricFamilySnapshot, type MetricsRegistry } from "../runtime/core/metrics.ts";

export interface EdgeOptions {
  routes: Hono[];
  log: Logger;
  metrics: MetricsRegistry;
  /** Metrics of other threads of this process, rendered along (the stages thread's). */
  moreMetrics?(): Promise<MetricFamilySnapshot[]>;
  /** Ready to take traffic: started, and not shutting down. */
  isReady(): boolean;
}

export function edgeApp(options: EdgeOptions): Hono {
  const app = new Hono();
  // Methods and routes are few (the HTTP parser knows ~40 methods; unknown paths share Hono's
  // catch-all route), and the strings are the parser's and the router's own, hashes cached.
  const requests = seriesBy(options.metrics.counter("tw_http_requests_total", "HTTP requests by route and status"), ["status", "method", "route"]);
  app.use(async (c, next) => {
    await next();
    requests(c.res.status, c.req.method, c.req.routePath).inc();
  });
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", (c) =>
    options.isReady() ? c.json({ status: "ready" }) : problem({ title: "Not ready", status: 503, detail: "starting or shutting down" }, { "retry-after": "1" }),
  );
  app.get("/metrics", async (c) => c.body(options.metrics.render((await options.moreMetrics?.()) ?? []), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  for (const routes of options.routes) app.route("/", routes);
  app.notFound((c) => problem({ title: "Not found", status: 404, detail: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` }));
  app.onError((err, c) => {
    options.log.error("request failed", { method: c.req.method, path: new URL(c.req.url).pathname, err });
    return problem({ title: "Internal error", status: 500, detail: "the request failed unexpectedly; nothing was accepted unless a 202 was returned" });
  });
  return app;
}
