/**
 * The ingest edge: `POST /v1/streams/{stream}/events` and the WebSocket
 * `GET /v1/streams/{stream}/events/ws`. Both hand bytes to BatchAcceptor (parse, validate,
 * durable publish) and answer 202 or problem+json — per request, or per frame on a socket.
 * The POST is also a direct route (runtime/http/direct_route.ts): the Node adapter answers it
 * from node:http's request, the Hono route with the same handler serves it elsewhere.
 */
import { Hono } from "hono";
import type { UpgradeWebSocket, WSContext } from "hono/ws";
import { formatOfContentType, isStreamName, supportedMediaTypes } from "../../schemas/mod.ts";
import { problem, problemAnswer, retryLaterAnswer, type Problem } from "../../runtime/http/problem.ts";
import { toResponse, type PlainAnswer } from "../../runtime/http/answer.ts";
import type { DirectRequest, DirectRoute } from "../../runtime/http/direct_route.ts";
import { BatchAcceptor, badStreamName, tooLarge, type AcceptResult, type IngestDeps } from "./accept.ts";
import { BodyTooLargeError } from "../../runtime/http/body.ts";

export interface IngestEdgeDeps extends IngestDeps {
  upgradeWebSocket: UpgradeWebSocket<any>;
  /** Stop reading from a socket (see HttpHost.pauseWebSocket); false if unsupported. */
  pauseWebSocket(raw: unknown): boolean;
  resumeWebSocket(raw: unknown): void;
  /** Reads a request body up to a limit (HttpHost.readBody). */
  readBody(request: Request, env: unknown, maxBytes: number): Promise<Uint8Array>;
  /** Frames being processed per socket before the server stops reading it. Defaults to 8. */
  wsMaxInFlight: number;
}

export interface IngestEdge {
  routes: Hono;
  /** The POST of events, for adapters that answer it directly (the same handler as its route in `routes`). */
  direct: DirectRoute[];
}

const eventsRoute = "/v1/streams/:stream/events";
const eventsPrefix = "/v1/streams/";
const eventsSuffix = "/events";

/**
 * The stream of an events path whose stream segment is a valid name as it stands, which Hono
 * routes here with the same parameter. Any other segment (an invalid name, a percent-escape
 * Hono would decode, a dot segment the URL resolves, a backslash or `#`, which
 * @hono/node-server and Hono treat apart) is left to Hono, which answers it.
 */
export function matchEventsPath(path: string): Record<string, string> | undefined {
  if (!path.startsWith(eventsPrefix) || !path.endsWith(eventsSuffix)) return undefined;
  const stream = path.slice(eventsPrefix.length, path.length - eventsSuffix.length);
  return isStreamName(stream) ? { stream } : undefined;
}

/** Batch ids ingest makes (`b:` and a message id) and most Idempotency-Keys: nothing to escape in JSON. */
const plainBatchId = /^[\w:.-]*$/;

/**
 * The 202's body: JSON.stringify({ accepted, batchId, duplicate }), written as a template
 * (JSON.stringify of the object took ~0.4 µs a request in a loop outside bench/, the template
 * ~0.05).
 */
export function acceptedBody(accepted: number, batchId: string, duplicate: boolean): string {
  const id = plainBatchId.test(batchId) ? `"${batchId}"` : JSON.stringify(batchId);
  return `{"accepted":${accepted},"batchId":${id},"duplicate":${duplicate}}`;
}

function answer(result: AcceptResult): PlainAnswer {
  if (result.ok) return { status: 202, headers: { "content-type": "application/json" }, body: acceptedBody(result.accepted, result.batchId, result.duplicate) };
  const { problem: p, retryAfterMs } = result;
  if (retryAfterMs !== undefined && (p.status === 429 || p.status === 503)) return retryLaterAnswer(p.status, p.title, p.detail, retryAfterMs);
  return problemAnswer(p);
}

export function ingestEdge(deps: IngestEdgeDeps): IngestEdge {
  const acceptor = new BatchAcceptor(deps);
  const app = new Hono();

  const postEvents = async (request: DirectRequest): Promise<PlainAnswer> => {
    const stream = request.params.stream!;
    const bad = badStreamName(stream);
    if (bad) return problemAnswer(bad);
    const contentType = request.header("content-type");
    const format = formatOfContentType(contentType);
    if (!format) {
      return problemAnswer({
        title: "Unsupported media type",
        status: 415,
        detail: `Content-Type ${JSON.stringify(contentType ?? "(none)")} is not supported; use one of ${supportedMediaTypes.join(", ")}`,
      }, { accept: supportedMediaTypes.join(", ") });
    }
    let bytes: Uint8Array;
    try {
      bytes = await request.readBody(deps.limits.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLargeError) return problemAnswer(tooLarge(deps.limits.maxBodyBytes), { connection: "close" });
      return problemAnswer({ title: "Unreadable body", status: 400, detail: `the request body could not be read: ${(err as Error).message}` });
    }
    return answer(await acceptor.accept({ stream, format, bytes, source: "http", idempotencyKey: request.header("idempotency-key") }));
  };

  app.post(eventsRoute, async (c) =>
    toResponse(
      await postEvents({
        method: c.req.method,
        path: c.req.path,
        params: { stream: c.req.param("stream") },
        header: (name) => c.req.header(name),
        readBody: (maxBytes) => deps.readBody(c.req.raw, c.env, maxBytes),
      }),
    ),
  );

  app.get(
    "/v1/streams/:stream/events/ws",
    async (c, next) => {
      const bad = badStreamName(c.req.param("stream"));
      if (bad) return problem(bad);
      if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
        return problem({ title: "Upgrade required", status: 426, detail: "this endpoint speaks WebSocket only" }, { upgrade: "websocket" });
      }
      await next();
    },
    deps.upgradeWebSocket((c) => {
      const stream = c.req.param("stream")!;
      let frames = 0;
      let inFlight = 0;
      let paused = false;
      const reply = (ws: WSContext, body: unknown) => {
        if (ws.readyState === 1) ws.send(JSON.stringify(body));
      };
      return {
        onMessage(event, ws) {
          const frame = ++frames;
          const data = event.data;
          let bytes: Uint8Array;
          let format: "json" | "msgpack";
          if (typeof data === "string") {
            bytes = new TextEncoder().encode(data);
            format = "json";
          } else if (data instanceof ArrayBuffer) {
            bytes = new Uint8Array(data);
            format = "msgpack";
          } else {
            // Blob frames do not occur with binaryType "arraybuffer"; refuse rather than guess.
            reply(ws, { frame, error: { title: "Unsupported frame", status: 400, detail: "send text (JSON) or binary (MessagePack) frames" } });
            return;
          }
          if (bytes.byteLength > deps.limits.maxBodyBytes) {
            ws.close(1009, "frame too large");
            return;
          }
          if (inFlight >= deps.wsMaxInFlight && !paused) {
            const busy: Problem = { title: "Too many frames in flight", status: 429, detail: `at most ${deps.wsMaxInFlight} frames are processed at once per socket; wait for acks`, retryAfter: 1 };
            reply(ws, { frame, error: busy });
            return;
          }
          inFlight++;
          if (inFlight >= deps.wsMaxInFlight) paused = deps.pauseWebSocket(ws.raw);
          void acceptor
            .accept({ stream, format, bytes, source: "ws" })
            .then(
              (result) => {
                if (result.ok) reply(ws, { frame, accepted: result.accepted, batchId: result.batchId });
                else reply(ws, { frame, error: { type: undefined, ...result.problem } });
              },
              (err) => {
                deps.log.error("websocket frame failed", { err });
                reply(ws, { frame, error: { title: "Internal error", status: 500, detail: "the frame could not be processed; nothing was accepted" } });
              },
            )
            .finally(() => {
              inFlight--;
              if (paused && inFlight < deps.wsMaxInFlight) {
                paused = false;
                deps.resumeWebSocket(ws.raw);
              }
            });
        },
      };
    }),
  );

  return { routes: app, direct: [{ method: "POST", route: eventsRoute, match: matchEventsPath, handle: postEvents }] };
}
