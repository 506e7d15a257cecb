/**
 * Where the latency phase reads trend signals, as a subscriber would: the live Server-Sent
 * Events of the HTTP edge (`GET /v1/trends/stream?stream=…`, every deployment), and for the
 * JetStream pipeline also a plain NATS subscription to the JSON copy that detect publishes on
 * `tw.json.trends.<stream>.<key>`. Each feed stamps a signal with the wall-clock time it arrived.
 */
import { connect } from "@nats-io/transport-node";
import type { TrendSignalLike } from "./latency_plan.ts";

export type OnSignal = (path: string, signal: TrendSignalLike, arrivedAt: number) => void;

export interface SignalFeed {
  readonly path: string;
  close(): Promise<void>;
}

export class SignalFeedError extends Error {}

/** Subscribes over SSE; resolves once the server has sent its `ready` event. */
export async function sseFeed(port: number, stream: string, onSignal: OnSignal): Promise<SignalFeed> {
  const path = "SSE /v1/trends/stream";
  const abort = new AbortController();
  const res = await fetch(`http://127.0.0.1:${port}/v1/trends/stream?stream=${encodeURIComponent(stream)}`, { signal: abort.signal, headers: { accept: "text/event-stream" } });
  if (!res.ok || !res.body) throw new SignalFeedError(`GET /v1/trends/stream answered ${res.status}`);
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    let event = "message";
    let data: string[] = [];
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        const arrivedAt = Date.now();
        buffer += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, "");
          buffer = buffer.slice(nl + 1);
          if (line === "") {
            if (event === "ready") resolveReady();
            else if (event === "trend" && data.length > 0) onSignal(path, JSON.parse(data.join("\n")) as TrendSignalLike, arrivedAt);
            event = "message";
            data = [];
          } else if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
  })();
  reading.catch(() => {}); // a dropped stream shows up as missed signals
  const timeout = setTimeout(() => abort.abort(), 10_000);
  await Promise.race([ready, reading]);
  clearTimeout(timeout);
  if (abort.signal.aborted) throw new SignalFeedError("no `ready` event on the SSE stream within 10 s");
  return {
    path,
    async close() {
      abort.abort();
      await reading.catch(() => {});
    },
  };
}

/** A plain NATS client on `tw.json.trends.<stream>.>`; resolves once the subscription is registered. */
export async function natsFeed(url: string, stream: string, onSignal: OnSignal): Promise<SignalFeed> {
  const subject = `tw.json.trends.${stream}.>`;
  const path = `NATS ${subject}`;
  const nc = await connect({ servers: url, name: "trendwire bench latency" });
  nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      onSignal(path, JSON.parse(msg.string()) as TrendSignalLike, Date.now());
    },
  });
  await nc.flush();
  return {
    path,
    async close() {
      await nc.close();
    },
  };
}
