/**
 * The framework's own ceiling: what the bare server does (read each body, parse it with
 * `JSON.parse` or MessagePack by Content-Type, answer 202 with the event count), served the way
 * Trendwire serves its edge on Node but for its direct route (the POST of events, which the
 * pipeline answers without Hono: README, HTTP API) — a Hono app with the edge's routes on
 * `@hono/node-server` 2.x through the Node adapter (`nodeHttpHost.serve`), the body read from Node's request
 * (`nodeHttpHost.readBody`) — and nothing more: no validation, durability or pipeline. Beside the bare server it shows how
 * much of the bare ceiling the HTTP framework the design prescribes keeps by itself, and so how
 * much the pipeline costs on top of it (`npm run bench -- pipeline --servers bare,hono,pipeline`).
 *
 * Usage: node dist/bench/hono_server.js [--port 0] [--host 127.0.0.1]
 * Prints `{"listening":<port>}` on stdout once it accepts connections; exits on SIGTERM/SIGINT.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { Hono, type Context } from "hono";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { nodeHttpHost } from "../runtime/platform/node.ts";
import { parseArgs } from "../app/cli.ts";

const { flags } = parseArgs(process.argv.slice(2));
const port = Number(flags.port ?? 0);
const host = typeof flags.host === "string" ? flags.host : "127.0.0.1";
const codec = new MessageCodec();

const app = new Hono();
// The edge's other routes too (answering 404 here), so Hono routes as it does for Trendwire:
// with the trends routes its default router falls back to TrieRouter.
const elsewhere = (c: Context) => c.json({ error: "not served here" }, 404);
for (const path of ["/healthz", "/readyz", "/metrics", "/v1/streams/:stream/events/ws", "/v1/trends", "/v1/trends/stream", "/v1/trends/:stream/:key"]) app.get(path, elsewhere);
app.post("/v1/streams/:stream/events", async (c) => {
  const body = await nodeHttpHost.readBody(c.req.raw, c.env, 10 * 1024 * 1024);
  let value: unknown;
  try {
    value = (c.req.header("content-type") ?? "").includes("msgpack") ? codec.decodeValue(body) : JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch {
    return c.json({ error: "unparseable body" }, 400);
  }
  return c.json({ accepted: Array.isArray(value) ? value.length : 1 }, 202);
});

const server = await nodeHttpHost.serve({ fetch: app.fetch, port, hostname: host, maxWebSocketPayload: 1024 * 1024 });
process.stdout.write(JSON.stringify({ listening: server.port }) + "\n");

const stop = () => void server.close().then(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
