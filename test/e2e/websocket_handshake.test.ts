/**
 * Protocol upgrades at the edge, on each runtime: the Upgrade header's value is matched
 * case-insensitively (RFC 6455 §4.2.1), so clients that send `Upgrade: WebSocket` (iOS's,
 * Cloudflare's) are upgraded like browsers, which send `websocket`; an upgrade to any other
 * protocol gets an answer; and refused handshakes leave nothing behind.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { startTestPipeline, type TestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { waitFor, withTimeout } from "../helpers/wait.ts";

interface HandshakeOptions {
  method?: string;
  withoutKey?: boolean;
  /** The Connection header's value (default Upgrade). */
  connection?: string;
  /** The Host header's value (default the server's address). */
  host?: string;
}

interface Handshake {
  /** The answer's status line. */
  status: string;
  /** The client's socket, still open (destroy it when done). */
  socket: net.Socket;
}

/** A raw handshake for `path` with `upgrade` as the Upgrade header's value; fails after 5 s without an answer. */
function handshake(port: number, path: string, upgrade: string, options: HandshakeOptions & { keepOpen?: boolean } = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    // keepOpen: the client's side stays open when the server ends its own (allowHalfOpen).
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: options.keepOpen === true }, () => {
      socket.write(
        `${options.method ?? "GET"} ${path} HTTP/1.1\r\nHost: ${options.host ?? `127.0.0.1:${port}`}\r\nUpgrade: ${upgrade}\r\nConnection: ${options.connection ?? "Upgrade"}\r\n` +
          `${options.withoutKey ? "" : "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"}Sec-WebSocket-Version: 13\r\n${options.method ? "Content-Length: 0\r\n" : ""}\r\n`,
      );
    });
    // Its own timer, so a server that never answers fails the test instead of holding it open.
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${options.method ?? "GET"} ${path} with Upgrade: ${upgrade} within 5 s`));
    }, 5_000);
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n");
      if (end === -1) return;
      clearTimeout(timer);
      resolve({ status: received.slice(0, end), socket });
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function statusOf(port: number, path: string, upgrade: string, options?: HandshakeOptions): Promise<string> {
  const { status, socket } = await handshake(port, path, upgrade, options);
  socket.destroy();
  return status;
}

async function withPipeline(body: (tp: TestPipeline, port: number) => Promise<void>): Promise<void> {
  const tp = await startTestPipeline();
  try {
    await body(tp, tp.pipeline.server!.port);
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
}

test("the ingest and trends sockets upgrade whatever the case of the Upgrade header's value; another protocol is refused", async () => {
  await withPipeline(async (_tp, port) => {
    for (const path of ["/v1/streams/clicks/events/ws", "/v1/trends/stream"]) {
      for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET"]) {
        assert.match(await statusOf(port, path, upgrade), /^HTTP\/1\.1 101 /, `Upgrade: ${upgrade} on ${path}`);
      }
    }
    // Refused, not left hanging (and not holding the stop open): Node's HTTP server hands the
    // socket over for any upgrade (400 from the Node adapter); Deno.serve serves the request
    // as it is (426 from the ingest socket's route, 404 for a GET on the events route).
    for (const path of ["/v1/streams/clicks/events/ws", "/v1/streams/clicks/events"]) {
      assert.match(await statusOf(port, path, "h2c"), /^HTTP\/1\.1 4\d\d /, `Upgrade: h2c on ${path}`);
    }
    // A WebSocket handshake is a GET (RFC 6455): a POST asking for one is refused (Node: by the
    // adapter; Deno: the events route finds its empty body malformed), never served as a GET.
    assert.match(await statusOf(port, "/v1/streams/clicks/events", "websocket", { method: "POST" }), /^HTTP\/1\.1 400 /, "POST with Upgrade: websocket");
  });
});

test("a malformed WebSocket handshake is answered 400 as the client's error, never 500", async () => {
  await withPipeline(async (_tp, port) => {
    for (const path of ["/v1/streams/clicks/events/ws", "/v1/trends/stream"]) {
      // Without Connection: Upgrade the server does not see an upgrade (Node serves it as a plain request).
      assert.match(await statusOf(port, path, "websocket", { connection: "keep-alive" }), /^HTTP\/1\.1 400 /, `no Connection: Upgrade on ${path}`);
      // Node's WebSocket support builds a URL from the Host and answered 500 when that failed
      // (now 400); Deno's takes the Host as it is and upgrades.
      const onDeno = "Deno" in globalThis;
      assert.match(await statusOf(port, path, "websocket", { host: "a:99999" }), onDeno ? /^HTTP\/1\.1 101 / : /^HTTP\/1\.1 400 /, `Host a:99999 on ${path}`);
      assert.match(await statusOf(port, path, "websocket", { connection: "keep-alive, Upgrade" }), /^HTTP\/1\.1 101 /, `Connection: keep-alive, Upgrade on ${path}`);
    }
  });
});

test("refused handshakes, SSE requests and HEADs leave no trends subscriber behind, and a refused handshake's socket is let go", async () => {
  const tp = await startTestPipeline();
  const port = tp.pipeline.server!.port;
  const view = tp.pipeline.view!;
  let held: net.Socket | undefined;
  try {
    // An SSE request, read until its first event, then dropped by the client.
    const controller = new AbortController();
    const sse = await fetch(`${tp.base}/v1/trends/stream`, { signal: controller.signal });
    const reader = sse.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /event: ready/);
    assert.is(view.subscriberCount, 1, "the SSE request's own subscription");
    controller.abort();
    await reader.cancel().catch(() => undefined);
    await waitFor("the SSE subscription to close", () => view.subscriberCount === 0);
    // Handshakes the WebSocket support refuses: one without its key, and one on a path with no route.
    assert.match(await statusOf(port, "/v1/trends/stream", "websocket", { withoutKey: true }), /^HTTP\/1\.1 400 /, "no Sec-WebSocket-Key: 400");
    // HEAD requests on the SSE route (Hono answers them with a GET's response, body dropped).
    for (let i = 0; i < 3; i++) {
      const head = await fetch(`${tp.base}/v1/trends/stream`, { method: "HEAD" });
      assert.is(head.status, 200);
      assert.is(head.headers.get("content-type")?.split(";")[0], "text/event-stream");
    }
    assert.is(view.subscriberCount, 0, "no subscription left by a refused handshake, an SSE request or a HEAD");
    // A refused handshake whose client keeps its side open: the server lets the socket go (what
    // the client sends then meets a closed socket; on Deno, whose server kept the connection
    // for keep-alive, a malformed request closes it) rather than holding it until the client closes.
    const refused = await handshake(port, "/v1/nowhere", "websocket", { keepOpen: true });
    assert.match(refused.status, /^HTTP\/1\.1 4\d\d /);
    held = refused.socket;
    const closed = new Promise<void>((resolve) => held!.once("close", () => resolve()));
    held.on("error", () => undefined);
    const poke = setInterval(() => held!.writable && held!.write("x\r\n\r\n"), 100);
    try {
      await withTimeout("the server to let a refused handshake's socket go", closed, 5_000);
    } finally {
      clearInterval(poke);
    }
    const another = await handshake(port, "/v1/nowhere", "websocket", { keepOpen: true });
    held = another.socket; // still open from its client's side at the stop
    await withTimeout("a stop with a refused handshake's socket held open by its client", tp.stop(), 5_000);
  } finally {
    held?.destroy();
    await tp.stop().catch(() => undefined);
    await removeDir(tp.dataDir);
  }
});

test.run();
