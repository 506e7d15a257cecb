/**
 * Node: direct routes (runtime/http/direct_route.ts; why: README, HTTP and WebSocket API)
 * answered from node:http's request and response, in front of @hono/node-server's listener.
 * A request is answered directly only where node-server would build its Request without a
 * question (a plain Host, below) and a route's `match` takes its path; every other request goes
 * to node-server's listener, which answers it as before.
 */
import { Buffer } from "node:buffer";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { BodyTooLargeError, concatChunks } from "../http/body.ts";
import { internalError, problemAnswer } from "../http/problem.ts";
import type { DirectRequest, DirectRoute } from "../http/direct_route.ts";
import type { PlainAnswer } from "../http/answer.ts";

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
  const lower = name.toLowerCase();
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length !== lower.length || key.toLowerCase() !== lower) continue;
    value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return value;
}

/**
 * A Host that @hono/node-server takes as it is (its `reValidHost`); any other, or none, it checks
 * through a URL (and may refuse with a 400 of its own), so such a request is left to it. A copy
 * of node-server 2.1.8's pattern (the version is pinned): re-check it when upgrading.
 */
const plainHost = /^[a-z0-9._-]+(?::(?:[1-5]\d{3,4}|[6-9]\d{3}))?$/;

/** Puts `routes` in front of the server's request listeners (node-server's), which take every request they do not match. */
export function serveDirectRoutes(server: Server, routes: readonly DirectRoute[]): void {
  if (routes.length === 0) return;
  const listeners = server.listeners("request") as ((request: IncomingMessage, response: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (request: IncomingMessage, response: ServerResponse) => {
    let answering: Promise<PlainAnswer> | undefined;
    try {
      answering = answerDirectly(routes, request);
    } catch (err) {
      answering = Promise.reject(err);
    }
    if (answering === undefined) {
      for (const listener of listeners) listener.call(server, request, response);
      return;
    }
    answering
      .then((answer) => writeAnswer(request, response, answer))
      // The edge's handlers answer their own errors: this is the last resort (a throw here
      // would be an unhandled rejection, which ends the process). An answer whose head went
      // out already cannot be replaced: its connection is closed instead of left waiting.
      .catch(() => (response.headersSent ? response.destroy() : writeAnswer(request, response, problemAnswer(internalError))))
      .catch(() => response.destroy());
  });
}

/** The answer of the direct route that takes `request`, or undefined if none does. */
function answerDirectly(routes: readonly DirectRoute[], request: IncomingMessage): Promise<PlainAnswer> | undefined {
  const host = request.headers.host;
  if (host === undefined || !plainHost.test(host)) return undefined;
  const url = request.url ?? "";
  const query = url.indexOf("?");
  const path = query < 0 ? url : url.slice(0, query);
  for (const route of routes) {
    if (route.method !== request.method) continue;
    const params = route.match(path);
    if (params === undefined) continue;
    return route.handle({
      method: route.method,
      path,
      params,
      header: (name) => headerOf(request, name),
      readBody: (maxBytes) => readIncoming(request, maxBytes),
    } satisfies DirectRequest);
  }
  return undefined;
}

function writeAnswer(request: IncomingMessage, response: ServerResponse, answer: PlainAnswer): void {
  if (response.headersSent || response.destroyed) return;
  // With its length given the body goes out with the head in one write, not chunked. The
  // headers are copied key by key, not spread ({ ...headers, "content-length": n }): a spread
  // copy cost ~0.5 µs to make and more to walk (in a loop outside bench/), and a bare node:http
  // server answering with one lost ~10 % of its one-event requests/s (alternating 6 s loads).
  const headers: Record<string, string> = {};
  for (const name in answer.headers) headers[name] = answer.headers[name]!;
  headers["content-length"] = String(Buffer.byteLength(answer.body));
  response.writeHead(answer.status, headers);
  response.end(answer.body);
  if (!request.readableEnded) response.once("finish", () => drainUnread(request));
}

const drainTimeoutMs = 500;
const maxDrainBytes = 64 * 1024 * 1024;

/**
 * A body left unread by an answer given before it was read (a 415, a bad name) is read and
 * dropped for at most 500 ms and 64 MiB, then the connection is closed: Node alone would read
 * it to its end, however long a client takes to send it. As @hono/node-server's drainIncoming
 * (the same bounds, as of the pinned 2.1.8: re-check them when upgrading), which the routes it
 * serves get.
 */
function drainUnread(request: IncomingMessage): void {
  if (request.readableEnded || request.destroyed) return;
  let bytes = 0;
  const cleanup = () => {
    clearTimeout(timer);
    request.off("data", onData);
    request.off("end", cleanup);
    request.off("error", cleanup);
  };
  const close = () => {
    cleanup();
    request.socket?.destroySoon();
  };
  const timer = setTimeout(close, drainTimeoutMs);
  timer.unref();
  const onData = (chunk: Uint8Array) => {
    bytes += chunk.byteLength;
    if (bytes > maxDrainBytes) close();
  };
  request.on("data", onData);
  request.once("end", cleanup);
  request.once("error", cleanup);
  request.resume();
}
