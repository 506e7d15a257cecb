/**
 * The HTTP edge of one process: ingest and trends routes (for the kinds it runs), health,
 * readiness and metrics, with problem+json for unknown routes and unexpected errors.
 */
import { Hono, type Context, type Handler } from "hono";
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
  // Methods and routes are few (the HTTP parser knows ~40 methods; unknown paths share one
  // label), and the strings are the parser's and the routes' own, hashes cached.
  const requests = seriesBy(options.metrics.counter("tw_http_requests_total", "HTTP requests by route and status"), ["status", "method", "route"]);
  const count = (c: Context, route: string, status: number) => requests(status, c.req.method, route).inc();
  // Each route's handlers count the response they return, rather than one middleware around
  // every request: Hono calls a route's only handler directly, but composes a middleware with
  // it (async dispatches and their promises per request). One-event requests, `npm run bench --
  // ab` against the middleware, 6 and 8 pairs: CPU per request −5.7 % and −5.6 %, requests/s
  // +4.1 % and +0.6 % at the median (7 of 14 pairs won: within the spread).
  const on = (method: string, path: string, handlers: Handler[]) => app.on(method, [path], ...handlers.map((h) => countingResponses(h, path, count)));
  on("GET", "/healthz", [(c) => c.json({ status: "ok" })]);
  on("GET", "/readyz", [
    (c) => (options.isReady() ? c.json({ status: "ready" }) : problem({ title: "Not ready", status: 503, detail: "starting or shutting down" }, { "retry-after": "1" })),
  ]);
  on("GET", "/metrics", [async (c) => c.body(options.metrics.render((await options.moreMetrics?.()) ?? []), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })]);
  // Mounted route by route (at "/", as app.route would; the route modules set no error or
  // not-found handlers of their own), each handler wrapped.
  for (const routes of options.routes) for (const r of routes.routes) on(r.method, r.path, [r.handler]);
  app.notFound((c) => {
    count(c, "/*", 404);
    return problem({ title: "Not found", status: 404, detail: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` });
  });
  app.onError((err, c) => {
    count(c, c.req.routePath, 500);
    options.log.error("request failed", { method: c.req.method, path: new URL(c.req.url).pathname, err });
    return problem({ title: "Internal error", status: 500, detail: "the request failed unexpectedly; nothing was accepted unless a 202 was returned" });
  });
  return app;
}

/**
 * `handler`, counting the Response it returns (a handler of a route's chain that passes on to
 * the next returns none, so a request counts once, by the handler that answered it). Thrown
 * errors are counted by the edge's error handler.
 */
function countingResponses(handler: Handler, route: string, count: (c: Context, route: string, status: number) => void): Handler {
  return (c, next) => {
    const res = handler(c, next);
    if (res instanceof Response) count(c, route, res.status);
    else if (res instanceof Promise) {
      return res.then((r: unknown) => {
        if (r instanceof Response) count(c, route, r.status);
        return r;
      });
    }
    return res;
  };
}
