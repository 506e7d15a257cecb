/**
 * The HTTP edge of one process: ingest and trends routes (for the kinds it runs), health,
 * readiness and metrics, with problem+json for unknown routes and unexpected errors; and the
 * direct routes (runtime/http/direct_route.ts), counted and answered on error alike.
 */
import { Hono, type Context, type Handler } from "hono";
import { routePath } from "hono/route";
import { internalError, problem, problemAnswer } from "../runtime/http/problem.ts";
import type { DirectRoute } from "../runtime/http/direct_route.ts";
import type { Logger } from "../runtime/core/log.ts";
import { seriesBy, type MetricFamilySnapshot, type MetricsRegistry } from "../runtime/core/metrics.ts";

export interface EdgeOptions {
  routes: Hono[];
  /** Routes an adapter may answer directly; each must also be one of `routes` (which serve them elsewhere). */
  direct?: DirectRoute[];
  log: Logger;
  metrics: MetricsRegistry;
  /** Metrics of other threads of this process, rendered along (the stages thread's). */
  moreMetrics?(): Promise<MetricFamilySnapshot[]>;
  /** Ready to take traffic: started, and not shutting down. */
  isReady(): boolean;
}

export interface HttpEdge {
  /** Serves every route (Hono's `app.fetch` is what the adapter serves). */
  app: Hono;
  /** EdgeOptions.direct, counting their requests and answering a handler's error as a 500. */
  direct: DirectRoute[];
}

export function httpEdge(options: EdgeOptions): HttpEdge {
  const app = new Hono();
  // Routes are few (unknown paths share one label, unknown methods another), and the strings
  // are the parser's and the routes' own, hashes cached.
  const requests = seriesBy(options.metrics.counter("tw_http_requests_total", "HTTP requests by route and status"), ["status", "method", "route"]);
  const countMethod = (method: string, route: string, status: number) => requests(status, methodLabel(method), route).inc();
  const count: Count = (c, route, status) => countMethod(c.req.method, route, status);
  // Each route counts the requests it answers, rather than one middleware around every request:
  // Hono calls a route's only handler directly, but composes a middleware with it (async
  // dispatches and their promises per request). One-event requests, `npm run bench -- ab`
  // against the middleware, 6 and 8 pairs: CPU per request −5.6 % each, requests/s +4.1 % and
  // +0.6 % at the median (7 of 14 pairs won: within the spread).
  const on = (method: string, path: string, handlers: Handler[]) => {
    app.on(method, [path], countingRoute(handlers[0]!, path, handlers.length > 1, count), ...handlers.slice(1));
  };
  on("GET", "/healthz", [(c) => c.json({ status: "ok" })]);
  on("GET", "/readyz", [
    (c) => (options.isReady() ? c.json({ status: "ready" }) : problem({ title: "Not ready", status: 503, detail: "starting or shutting down" }, { "retry-after": "1" })),
  ]);
  on("GET", "/metrics", [async (c) => c.body(options.metrics.render((await options.moreMetrics?.()) ?? []), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" })]);
  // Mounted route by route, at "/" as app.route would. app.route also wraps a module's handlers
  // in its own error handler: none may have one (the edge's answers every error). Nor may a
  // module register middleware or ALL routes: Hono would compose them with other routes' chains,
  // which count each on their own (so routes must not overlap either: no path matches two).
  const errorHandlerOf = (h: Hono) => (h as unknown as { errorHandler: unknown }).errorHandler; // public in JS, private in Hono's types
  const defaultErrorHandler = errorHandlerOf(new Hono());
  for (const routes of options.routes) {
    if (errorHandlerOf(routes) !== defaultErrorHandler) throw new Error("a route module sets its own error handler; the HTTP edge handles errors");
    const all = routes.routes.find((r) => r.method === "ALL");
    if (all) throw new Error(`a route module registers middleware or an ALL route (${all.path}); the HTTP edge takes routes by method`);
    const chains = new Map<string, { method: string; path: string; handlers: Handler[] }>();
    for (const r of routes.routes) {
      const key = `${r.method} ${r.path}`;
      const chain = chains.get(key) ?? chains.set(key, { method: r.method, path: r.path, handlers: [] }).get(key)!;
      chain.handlers.push(r.handler);
    }
    for (const { method, path, handlers } of chains.values()) on(method, path, handlers);
  }
  app.notFound((c) => {
    // A matched route that answered nothing is counted by that route (countingRoute).
    if (routePath(c) === "") count(c, "/*", 404);
    return problem({ title: "Not found", status: 404, detail: `no route for ${c.req.method} ${new URL(c.req.url).pathname}` });
  });
  app.onError((err, c) => {
    count(c, routePath(c) || "/*", 500);
    options.log.error("request failed", { method: c.req.method, path: new URL(c.req.url).pathname, err });
    return problem(internalError);
  });
  const routed = new Set(options.routes.flatMap((r) => r.routes.map((route) => `${route.method} ${route.path}`)));
  const direct = (options.direct ?? []).map((route): DirectRoute => {
    if (!routed.has(`${route.method} ${route.route}`)) throw new Error(`direct route ${route.method} ${route.route} is not one of the routes: fetch could not serve it`);
    return {
      ...route,
      handle: async (request) => {
        try {
          const answer = await route.handle(request);
          countMethod(request.method, route.route, answer.status);
          return answer;
        } catch (err) {
          countMethod(request.method, route.route, 500);
          options.log.error("request failed", { method: request.method, path: request.path, err });
          return problemAnswer(internalError);
        }
      },
    };
  });
  return { app, direct };
}

type Count = (c: Context, route: string, status: number) => void;

/** Methods counted by name; any other (Deno passes any token through) is counted as OTHER. */
const knownMethods = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE"]);

function methodLabel(method: string): string {
  return knownMethods.has(method) ? method : "OTHER";
}

/**
 * A route's first handler, counting the request once the route has answered it, with the
 * status Hono sends: a lone handler's returned response (Hono calls it directly), or, for a
 * chain of handlers (which Hono composes), the context's response once the chain is done, as
 * a middleware around the chain would see it. A lone handler that answers nothing counts a
 * 404 (Hono's not-found answer). An error thrown on the way is counted once, by the edge's
 * error handler: a thrown handler counts nothing here, and a chain whose later handler threw
 * (Hono composed the error handler's answer into it: `c.error`) is not counted again.
 */
function countingRoute(handler: Handler, route: string, chain: boolean, count: Count): Handler {
  const counted = (c: Context, res: unknown) => {
    if (c.error !== undefined) return;
    const answer = chain ? (c.finalized ? c.res : res) : res || (c.finalized ? c.res : undefined);
    if (isResponse(answer)) count(c, route, answer.status);
    // Nothing: Hono answers a lone handler's with the not-found handler, a chain's with an error.
    else if (!chain) count(c, route, 404);
  };
  return (c, next) => {
    const res = handler(c, next);
    if (res instanceof Promise) {
      return res.then((r: unknown) => {
        counted(c, r);
        return r;
      });
    }
    counted(c, res);
    return res;
  };
}

/** Anything with a numeric status: a Response of either class (@hono/node-server swaps its own in for the global one). */
function isResponse(value: unknown): value is { status: number } {
  return typeof value === "object" && value !== null && typeof (value as { status?: unknown }).status === "number";
}
