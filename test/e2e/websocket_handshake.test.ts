/**
 * Protocol upgrades at the edge, on each runtime: the Upgrade header's value is matched
 * case-insensitively (RFC 6455 §4.2.1), so clients that send `Upgrade: WebSocket` (iOS's,
 * Cloudflare's) are upgraded like browsers, which send `websocket`; an upgrade to any other
 * protocol gets an answer.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { removeDir } from "../helpers/tmp.ts";
import { withTimeout } from "../helpers/wait.ts";

/** The status line the server answers a raw handshake for `path` with `upgrade` as the Upgrade header's value. */
function handshake(port: number, path: string, upgrade: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    let received = "";
    socket.on("data", (chunk) => {
      received += chunk.toString("latin1");
      const end = received.indexOf("\r\n");
      if (end === -1) return;
      socket.destroy();
      resolve(received.slice(0, end));
    });
    socket.on("error", reject);
  });
}

test("the ingest and trends sockets upgrade whatever the case of the Upgrade header's value; another protocol is refused", async () => {
  const tp = await startTestPipeline();
  try {
    const port = tp.pipeline.server!.port;
    for (const path of ["/v1/streams/clicks/events/ws", "/v1/trends/stream"]) {
      for (const upgrade of ["websocket", "WebSocket", "WEBSOCKET"]) {
        assert.match(await withTimeout(`${upgrade} on ${path}`, handshake(port, path, upgrade)), /^HTTP\/1\.1 101 /, `Upgrade: ${upgrade} on ${path}`);
      }
    }
    // Refused, not left hanging (and not holding the stop below open): Node's HTTP server hands
    // the socket over for any upgrade (400 from the Node adapter); Deno.serve serves the
    // request as it is (426 from the ingest socket's route).
    for (const path of ["/v1/streams/clicks/events/ws", "/v1/streams/clicks/events"]) {
      assert.match(await withTimeout(`an h2c upgrade on ${path}`, handshake(port, path, "h2c")), /^HTTP\/1\.1 4\d\d /, `Upgrade: h2c on ${path}`);
    }
  } finally {
    await tp.stop();
    await removeDir(tp.dataDir);
  }
});

test.run();
