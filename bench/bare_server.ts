/**
 * The parse-only ceiling: a bare `node:http` server that reads each request body, parses it
 * (`JSON.parse`, or MessagePack by Content-Type) and answers 202 with the event count — no
 * routing framework, validation, durability or pipeline. Benches run it in a child process
 * beside the real pipeline to measure how much of this ceiling Trendwire keeps.
 *
 * Usage: node dist/bench/bare_server.js [--port 0] [--host 127.0.0.1]
 * Prints `{"listening":<port>}` on stdout once it accepts connections; exits on SIGTERM/SIGINT.
 */
import http from "node:http";
import process from "node:process";
import { MessageCodec } from "../runtime/codec/codec.ts";
import { parseArgs } from "../app/cli.ts";

const { flags } = parseArgs(process.argv.slice(2));
const port = Number(flags.port ?? 0);
const host = typeof flags.host === "string" ? flags.host : "127.0.0.1";
const codec = new MessageCodec();

function reply(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    let value: unknown;
    try {
      value = (req.headers["content-type"] ?? "").includes("msgpack") ? codec.decodeValue(body) : JSON.parse(body.toString("utf8"));
    } catch {
      return reply(res, 400, `{"error":"unparseable body"}`);
    }
    reply(res, 202, `{"accepted":${Array.isArray(value) ? value.length : 1}}`);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ listening: typeof address === "object" && address ? address.port : port }) + "\n");
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
