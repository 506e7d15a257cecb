/**
 * The trends query edge: `GET /v1/trends` (top trends now), `GET /v1/trends/{stream}/{key}`
 * (a key's recent windows, baseline and signals), and live signals on `GET /v1/trends/stream`
 * as Server-Sent Events, or as a WebSocket when the request asks to upgrade.
 */
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { UpgradeWebSocket } from "hono/ws";
import { validateKey, validateStreamName } from "../../schemas/mod.ts";
import { problem } from "../../runtime/http/problem.ts";
import type { Clock } from "../../runtime/core/clock.ts";
import type { Subscriber, TrendsView } from "./view.ts";

export interface TrendsRoutesDeps {
  view: TrendsView;
  clock: Clock;
  upgradeWebSocket: UpgradeWebSocket<any>;
  /** SSE keep-alive comment interval (ms). Defaults to 15 000. */
  heartbeatMs: number;
}

function parseLimit(raw: string | undefined): number | string {
  if (raw === undefined) return 20;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000) return `limit must be an integer from 1 to 1000, got ${JSON.stringify(raw)}`;
  return n;
}

function streamParam(raw: string | undefined): { stream?: string; error?: Response } {
  if (raw === undefined || raw === "") return {};
  const issues = validateStreamName(raw);
  if (issues.length > 0) return { error: problem({ title: "Invalid stream name", status: 400, detail: `stream: ${issues[0]!.message}` }) };
  return { stream: raw };
}

export function trendsRoutes(deps: TrendsRoutesDeps): Hono {
  const { view, clock } = deps;
  const app = new Hono();

  app.get("/v1/trends", (c) => {
    const limit = parseLimit(c.req.query("limit"));
    if (typeof limit === "string") return problem({ title: "Invalid query", status: 400, detail: limit });
    const { stream, error } = streamParam(c.req.query("stream"));
    if (error) return error;
    const trends = view.top(clock.now(), { stream, limit });
    return c.json({ trends, asOf: clock.now(), activeForMs: view.config.activeForMs });
  });

  app.get(
    "/v1/trends/stream",
    async (c, next) => {
      const { error } = streamParam(c.req.query("stream"));
      if (error) return error;
      await next();
    },
    deps.upgradeWebSocket((c) => {
      const { stream } = streamParam(c.req.query("stream"));
      // Subscribed once the socket is open: Hono's helper makes these events for every request
      // on the route before it knows whether it upgrades (SSE requests, failed handshakes),
      // and a subscription made here was closed only by a socket's close: it leaked for those.
      let sub: Subscriber | undefined;
      return {
        onOpen(_event, ws) {
          const opened = (sub = view.subscribe({ stream }));
          void (async () => {
            for (;;) {
              await opened.ready();
              const { signals, dropped } = opened.take();
              if (ws.readyState !== 1) break;
              if (dropped > 0) ws.send(JSON.stringify({ dropped }));
              for (const s of signals) ws.send(JSON.stringify(s));
              if (signals.length === 0 && dropped === 0) break; // closed
            }
          })();
        },
        onClose: () => sub?.close(),
        onError: () => sub?.close(),
      };
    }),
    (c) => {
      // Hono answers a HEAD with its GET's response and drops the body without cancelling it:
      // the stream below would never end, nor its subscription.
      if (c.req.method === "HEAD") return c.body(null, 200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const { stream } = streamParam(c.req.query("stream"));
      return streamSSE(c, async (sse) => {
        const sub = view.subscribe({ stream });
        sse.onAbort(() => sub.close());
        let heartbeat = clock.setTimeout(function beat() {
          void sse.write(": keep-alive\n\n").catch(() => sub.close());
          heartbeat = clock.setTimeout(beat, deps.heartbeatMs);
        }, deps.heartbeatMs);
        try {
          await sse.writeSSE({ event: "ready", data: JSON.stringify({ stream: stream ?? null }) });
          for (;;) {
            await sub.ready();
            const { signals, dropped } = sub.take();
            if (signals.length === 0 && dropped === 0) break; // closed
            if (dropped > 0) await sse.writeSSE({ event: "dropped", data: JSON.stringify({ dropped }) });
            for (const s of signals) {
              await sse.writeSSE({ event: "trend", id: `${s.stream}:${s.key}:${s.windowStart}`, data: JSON.stringify(s) });
            }
          }
        } finally {
          heartbeat.cancel();
          sub.close();
        }
      });
    },
  );

  app.get("/v1/trends/:stream/:key", (c) => {
    const { stream, error } = streamParam(c.req.param("stream"));
    if (error) return error;
    const key = c.req.param("key");
    const keyIssues = validateKey(key);
    if (keyIssues.length > 0) return problem({ title: "Invalid key", status: 400, detail: `key: ${keyIssues[0]!.message}` });
    const found = view.key(stream!, key);
    if (!found) {
      return problem({ title: "Unknown key", status: 404, detail: `no recent windows or signals for key ${JSON.stringify(key)} in stream ${JSON.stringify(stream)}` });
    }
    const last = found.signals[found.signals.length - 1];
    // The detector's own baseline travels with its signals; without one, summarise the windows.
    let baseline: Record<string, unknown> | null = null;
    if (last) {
      baseline = { source: "detector", expected: last.expected, spread: last.spread, threshold: last.threshold, asOfWindow: last.windowStart };
    } else if (found.windows.length > 0) {
      const sums = found.windows.map((w) => w.sum);
      const mean = sums.reduce((a, b) => a + b, 0) / sums.length;
      const spread = Math.sqrt(sums.reduce((a, b) => a + (b - mean) ** 2, 0) / sums.length);
      baseline = { source: "recent windows", expected: mean, spread, windows: sums.length };
    }
    return c.json({ stream, key, windows: found.windows, signals: found.signals, baseline });
  });

  return app;
}
