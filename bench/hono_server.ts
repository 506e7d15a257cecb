/**
 * The framework's own ceiling: what the bare server does (read each body, parse it with
 * `JSON.parse` or MessagePack by Content-Type, answer 202 with the event count), served the way
 * Trendwire serves its edge on Node — a Hono app on `@hono/node-server` 2.x through the Node
 * adapter (`nodeHttpHost.serve`), the body read from Node's request (`nodeHttpHost.readBody`) —
 * and nothing more: no validation, durability or pipeline. Beside the bare server it shows how
 * much of the bare ceiling the HTTP framework the design prescribes keeps by itself, and so how
 * much the pipeline costs on top of it (`npm run bench -- pipeline --servers bare,hono,pipeline`).
 *
 * Usage: node dist/bench/hono_server.js [--port 0] [--host 127.0.0.1]
 * Prints `{"listening":<port>}` on stdout once it accepts connections; exits on SIGTERM/SIGINT.
 */
import { Buffer } from "node:buffer";
import process from "node:process";
import { Hono } from "hono";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { nodeHttpHost } from "../runtime/platform/node.ts";
import { parseArgs } from "../app/cli.ts";

const { flags } = parseArgs(process.argv.slice(2));
const port = Number(flags.port ?? 0);
const host = typeof flags.host === "string" ? flags.host : "127.0.0.1";
const codec = new MessageCodec();

const app = new Hono();
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
