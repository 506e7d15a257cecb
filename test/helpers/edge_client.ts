/**
 * A small client of the HTTP/WebSocket edge for end-to-end tests: posting batches, sending
 * frames over the ingest WebSocket and collecting their acks, and reading the live trend feed
 * over SSE or WebSocket. Uses only web-standard fetch/WebSocket (Node 20 needs
 * --experimental-websocket; Deno has it natively).
 */
import { encodeBody, type BodyFormat, type TestEvent } from "./events.ts";

export interface Accepted {
  accepted: number;
  batchId: string;
  duplicate?: boolean;
}

export class UnexpectedResponseError extends Error {}

/** POSTs one batch and returns the 202 body; anything but 202 throws with the response text. */
export async function postEvents(base: string, stream: string, format: BodyFormat, events: readonly TestEvent[], headers: Record<string, string> = {}): Promise<Accepted> {
  const { body, contentType } = encodeBody(format, events);
  const res = await fetch(`${base}/v1/streams/${stream}/events`, { method: "POST", headers: { "content-type": contentType, ...headers }, body });
  const text = await res.text();
  if (res.status !== 202) throw new UnexpectedResponseError(`POST ${stream} (${format}, ${events.length} events): ${res.status} ${text}`);
  return JSON.parse(text) as Accepted;
}

/** Runs `work` over `items` with at most `limit` at once; results in item order. */
export async function inParallel<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export function wsUrl(base: string, path: string): string {
  return base.replace(/^http/, "ws") + path;
}

/** Opens a WebSocket (binaryType arraybuffer) and resolves once it is open. */
export function openWebSocket(url: string, timeoutMs = 5_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => {
      ws.close();
      reject(new UnexpectedResponseError(`WebSocket ${url} did not open in ${timeoutMs} ms`));
    }, timeoutMs);
    ws.onopen = () => {
      clearTimeout(timer);
      resolve(ws);
    };
    ws.onerror = () => {
      clearTimeout(timer);
      reject(new UnexpectedResponseError(`WebSocket ${url} failed to open`));
    };
  });
}

export interface FrameAck {
  frame: number;
  accepted?: number;
  batchId?: string;
  error?: { title: string; status: number; detail: string };
}

/**
 * Sends `frames` over an open ingest socket, at most `maxInFlight` unacknowledged at a time
 * (the server acks each frame with `{frame, accepted, batchId}` or `{frame, error}`), and
 * resolves with every ack once all have arrived.
 */
export function sendFrames(ws: WebSocket, frames: readonly (string | Uint8Array)[], maxInFlight = 4, timeoutMs = 20_000): Promise<FrameAck[]> {
  return new Promise((resolve, reject) => {
    const acks: FrameAck[] = [];
    let sent = 0;
    const timer = setTimeout(() => reject(new UnexpectedResponseError(`${acks.length} of ${frames.length} frames acked after ${timeoutMs} ms`)), timeoutMs);
    const pump = () => {
      while (sent < frames.length && sent - acks.length < maxInFlight) ws.send(frames[sent++]!);
      if (acks.length === frames.length) {
        clearTimeout(timer);
        ws.onmessage = null;
        resolve(acks);
      }
    };
    ws.onmessage = (event) => {
      acks.push(JSON.parse(String(event.data)) as FrameAck);
      pump();
    };
    ws.onclose = (event) => {
      if (acks.length < frames.length) {
        clearTimeout(timer);
        reject(new UnexpectedResponseError(`socket closed (${event.code} ${event.reason}) after ${acks.length} of ${frames.length} acks`));
      }
    };
    pump();
  });
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** A live Server-Sent Events reader: `events` fills as they arrive; `close()` aborts the request. */
export interface SseReader {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: SseEvent[];
  /** Resolves when the server ends the stream (or close() was called). */
  readonly ended: Promise<void>;
  close(): void;
}

export async function openSse(url: string): Promise<SseReader> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
  const events: SseEvent[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const e: SseEvent = { event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue; // comment (keep-alive)
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") e.event = value;
            else if (field === "data") data.push(value);
            else if (field === "id") e.id = value;
          }
          if (data.length === 0 && e.event === "message") continue;
          e.data = data.join("\n");
          events.push(e);
        }
      }
    } catch {
      // aborted by close(), or the server went away: either way the stream has ended
    }
  })();
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    events,
    ended,
    close: () => abort.abort(),
  };
}

/** Collects every text message of a WebSocket, parsed as JSON. */
export function collectJson(ws: WebSocket): unknown[] {
  const out: unknown[] = [];
  ws.addEventListener("message", (event) => out.push(JSON.parse(String((event as MessageEvent).data))));
  return out;
}

/** Sum of a Prometheus metric's samples from GET /metrics whose labels contain every `match` pair. */
export async function metricSum(base: string, name: string, match: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels = m[2] ?? "";
    if (Object.entries(match).every(([k, v]) => labels.includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}
