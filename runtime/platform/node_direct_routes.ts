/**
 * Node: direct routes (runtime/http/direct_route.ts) answered from node:http's request and
 * response, in front of @hono/node-server's listener. For a one-event request the Request and
 * Response objects node-server builds and takes apart, and Hono's dispatch between them, cost
 * more on the HTTP thread than the rest of ingest's handling: `npm run bench -- ab`, one-event
 * requests, answered directly against through Hono: +9.7 % requests/s at the median (6 of 6
 * pairs), CPU per request −10 %. Every other request, and a direct route's path in any form its
 * `match` leaves alone, goes to node-server's listener as before.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { BodyTooLargeError, concatChunks } from "../http/body.ts";
import { problemJson } from "../http/problem.ts";
import type { DirectRequest, DirectRoute, PlainAnswer } from "../http/direct_route.ts";

/** Reads the body straight from Node's IncomingMessage, skipping the Web-stream Request path. */
export function readIncoming(incoming: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(incoming.headers["content-length"] ?? NaN);
  if (declared > maxBytes) return Promise.reject(new BodyTooLargeError(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let total = 0;
    incoming.on("data", (chunk: Uint8Array) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        incoming.removeAllListeners("data");
        incoming.resume(); // discard the rest; the 413 goes out with Connection: close
        reject(new BodyTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    incoming.once("end", () => resolve(concatChunks(chunks, total)));
    incoming.once("error", reject);
  });
}

/**
 * A header as `Headers.get` reads it, which is what the route sees through Hono: every
 * occurrence joined with ", " (Node's `headers` keeps only the first Content-Type).
 */
export function headerOf(incoming: IncomingMessage, name: string): string | undefined {
  const raw = incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== name.length || key.toLowerCase() !== name) continue;
    value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

/** Puts `routes` in front of the server's request listeners (node-server's), which take every request they do not match. */
export function serveDirectRoutes(server: Server, routes: readonly DirectRoute[]): void {
  if (routes.length === 0) return;
  const listeners = server.listeners("request") as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    const url = request.url ?? "";
    const query = url.indexOf("?");
    const path = query < 0 ? url : url.slice(0, query);
    for (const route of routes) {
      if (route.method !== request.method) continue;
      const params = route.match(path);
      if (params === undefined) continue;
      const direct: DirectRequest = {
        method: route.method,
        path,
        params,
        header: (name) => headerOf(request, name),
        readBody: (maxBytes) => readIncoming(request, maxBytes),
      };
      route.handle(direct).then(
        (answer) => writeAnswer(response, answer),
        // The edge's handlers answer their errors; this is the last resort.
        () => writeAnswer(response, { status: 500, headers: { "content-type": "application/problem+json" }, body: problemJson({ title: "Internal error", status: 500, detail: "the request failed unexpectedly" }) }),
      );
      return;
    }
    for (const listener of listeners) listener.call(server, request, response);
  });
}

function writeAnswer(response: ServerResponse, answer: PlainAnswer): void {
  if (response.headersSent || response.destroyed) return;
  // With its length given the body goes out with the head in one write, not chunked.
  response.writeHead(answer.status, { ...answer.headers, "content-length": String(Buffer.byteLength(answer.body)) });
  response.end(answer.body);
}
