/**
 * The Node.js platform adapter: files, HTTP/WebSocket serving (@hono/node-server 2.x with its
 * built-in WebSocket support over `ws`), signals and process control.
 */
import fs, { promises as fsp } from "node:fs";
import * as zlib from "node:zlib";
import process from "node:process";
import os from "node:os";
import v8 from "node:v8";
import { Worker, parentPort as nodeParentPort } from "node:worker_threads";
import { serve, upgradeWebSocket } from "@hono/node-server";
import { WebSocketServer } from "ws";
import type { AddressInfo } from "node:net";
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { concatChunks, readWebBody } from "../http/body.ts";
import { readIncoming, serveDirectRoutes } from "./node_direct_routes.ts";
import { problem, problemJson } from "../http/problem.ts";
import { defineWebSocketHelper } from "hono/ws";
import type { AppendFile, FileSystem, HttpHost, HttpServer, MessagePortLike, Platform, ServeOptions, ThreadHandle } from "./platform.ts";
import { useNativeCrc32 } from "../transport/log_crc32.ts";
import { openDirectAppend, writeWhole } from "./node_direct_io.ts";

// The durable log checksums every record it writes and reads: zlib's CRC-32, not the portable one.
useNativeCrc32((zlib as { crc32?: unknown }).crc32); // absent before Node 20.15: the portable one then

let tmpCounter = 0;
/** Standard output's reader has gone (EPIPE). */
let stdoutGone = false;

/** What is left of `parts` once their first `written` bytes are out (a writev may write only some). */
function unwritten(parts: Uint8Array[], written: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const part of parts) {
    if (written >= part.byteLength) written -= part.byteLength;
    else {
      rest.push(written > 0 ? part.subarray(written) : part);
      written = 0;
    }
  }
  return rest;
}

function isNotFound(err: unknown): boolean {
  return (err as { code?: string })?.code === "ENOENT";
}

export const nodeFileSystem: FileSystem = {
  async readFile(path) {
    try {
      return new Uint8Array(await fsp.readFile(path));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  async writeFileAtomic(path, data, options) {
    const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
    const handle = await fsp.open(tmp, "w");
    try {
      // writev, not a write per part: an archive object can be hundreds of parts (its large
      // request bodies are parts of their own, MessageCodec.encodeWithList). libuv spreads more
      // than IOV_MAX parts over several system calls; the loop covers a write cut short.
      let pending = data instanceof Uint8Array ? [data] : [...data];
      while (pending.length > 0) pending = unwritten(pending, (await handle.writev(pending)).bytesWritten);
      if (options?.sync) await handle.datasync();
    } finally {
      await handle.close();
    }
    await fsp.rename(tmp, path);
  },
  async openAppend(path, options): Promise<AppendFile> {
    // The callback API on a raw fd: the promise API (FileHandle) costs several times more
    // main-thread time per call, and the log calls write and sync on every group commit.
    const fd = await new Promise<number>((resolve, reject) => fs.open(path, "a", (err, fd) => (err ? reject(err) : resolve(fd))));
    const blocking = options?.blocking === true;
    const writev = blocking
      ? async (chunks: Uint8Array[]) => fs.writevSync(fd, chunks)
      : (chunks: Uint8Array[]) => new Promise<number>((resolve, reject) => fs.writev(fd, chunks, (err, n) => (err ? reject(err) : resolve(n))));
    return {
      async write(chunks) {
        // writev is one syscall for the whole group; it may write partially, so loop.
        let pending = chunks;
        while (pending.length > 0) pending = unwritten(pending, await writev(pending));
      },
      sync: blocking
        ? async () => fs.fdatasyncSync(fd)
        : () => new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
      close: () => new Promise<void>((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve()))),
    };
  },
  async mkdirp(path) {
    await fsp.mkdir(path, { recursive: true });
  },
  async readDir(path) {
    try {
      return await fsp.readdir(path);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
  },
  async remove(path) {
    await fsp.rm(path, { recursive: true, force: true });
  },
  async exists(path) {
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  },
};

interface PausableSocket {
  pause?: () => void;
  resume?: () => void;
}

/**
 * Node hands every request that asks for a protocol upgrade to the server's 'upgrade'
 * listeners once there are any, detached from the HTTP parser, its timeouts and
 * closeAllConnections. @hono/node-server's listener (its WebSocket support) returned without a
 * word for any protocol but websocket: such a request (curl --http2's `Upgrade: h2c`, say) hung
 * unanswered and held a stop's server.close() open; and a handshake it refuses it only ends
 * (the server lets sockets stay half-open), so a client that keeps its side open held the
 * socket, and the stop, for as long as it liked. Its listener still takes every WebSocket
 * handshake (a GET, RFC 6455), as the only one (so it answers refused handshakes itself); any
 * other upgrade gets a 400 problem and the connection closes (the request cannot be served as
 * if not upgraded). Every handed-over socket is let go once this side has ended it, and
 * tracked: `destroyAll` ends those left (open WebSockets) when the server closes.
 */
function guardUpgrades(server: Server): { destroyAll(): void } {
  const listeners = server.listeners("upgrade") as ((request: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  const sockets = new Set<Duplex>();
  server.removeAllListeners("upgrade");
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Once this side has ended (a refused handshake, a closed WebSocket), let the socket go:
    // half-open, with no timeout, it would stay until the client closed its side.
    socket.once("finish", () => socket.destroy());
    const websocket = request.headers.upgrade?.toLowerCase() === "websocket";
    // node-server's listener builds the request's URL from its Host and answers an empty 500 when
    // that fails (a port out of range, say): a malformed request, refused here as such.
    const badHost = websocket && !urlHost(request.headers.host);
    if (websocket && request.method === "GET" && !badHost) {
      for (const listener of listeners) listener.call(server, request, socket, head);
      return;
    }
    socket.on("error", () => socket.destroy());
    const body = problemJson({
      title: websocket ? "Invalid WebSocket handshake" : "Unsupported upgrade",
      status: 400,
      detail: !websocket
        ? `this server upgrades to websocket only (on its WebSocket routes), not to ${JSON.stringify(request.headers.upgrade ?? "")}; send the request without an Upgrade header`
        : badHost
          ? `Host ${JSON.stringify(request.headers.host ?? "")} is not a host and port`
          : `a WebSocket handshake is a GET request, not ${request.method}`,
    });
    const head400 = `HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
    socket.end(head400 + body);
  });
  return {
    destroyAll() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/** Whether `host` makes an http URL's host (what node-server builds the request's URL from). */
function urlHost(host: string | undefined): boolean {
  if (host === undefined) return true; // HTTP/1.0: node-server falls back on its own address
  try {
    new URL(`http://${host}/`);
    return true;
  } catch {
    return false;
  }
}

/**
 * @hono/node-server's WebSocket helper, with a request that asks for websocket in its Upgrade
 * header but not in its Connection header answered 400 as a malformed handshake (as the Deno
 * adapter answers one): Node does not hand such a request over as an upgrade, so it reaches the
 * route as a plain request, and the helper answered it an empty 500.
 */
const nodeUpgradeWebSocket = defineWebSocketHelper(async (c, events, options) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return; // not a handshake: the route's own answer
  const connection = c.req.header("connection")?.toLowerCase().split(",").map((token) => token.trim()) ?? [];
  if (!connection.includes("upgrade")) {
    return problem({ title: "Invalid WebSocket handshake", status: 400, detail: "a WebSocket handshake carries Connection: Upgrade (RFC 6455)" });
  }
  return upgradeWebSocket(c, events as never, options);
});

export const nodeHttpHost: HttpHost = {
  upgradeWebSocket: nodeUpgradeWebSocket,
  readBody(request, env, maxBytes) {
    const incoming = (env as { incoming?: IncomingMessage } | undefined)?.incoming;
    // Only while nothing has read the stream yet (readableDidRead), else fall back.
    if (incoming && !incoming.readableDidRead && !incoming.readableEnded) return readIncoming(incoming, maxBytes);
    return readWebBody(request, maxBytes);
  },
  serve(options: ServeOptions): Promise<HttpServer> {
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxWebSocketPayload });
    return new Promise((resolve, reject) => {
      const server = serve(
        {
          fetch: options.fetch,
          port: options.port,
          hostname: options.hostname ?? "0.0.0.0",
          websocket: { server: wss },
        },
        (info: AddressInfo) => {
          resolve({
            port: info.port,
            close: () =>
              new Promise<void>((done) => {
                for (const client of wss.clients) client.terminate();
                upgrades.destroyAll();
                wss.close();
                server.close(() => done());
                // Keep-alive sockets would hold close() open until they time out.
                (server as { closeAllConnections?: () => void }).closeAllConnections?.();
              }),
          });
        },
      );
      server.once("error", reject);
      const upgrades = guardUpgrades(server as Server);
      serveDirectRoutes(server as Server, options.direct ?? []);
    });
  },
  pauseWebSocket(raw) {
    const ws = raw as PausableSocket;
    if (typeof ws?.pause !== "function") return false;
    ws.pause();
    return true;
  },
  resumeWebSocket(raw) {
    (raw as PausableSocket)?.resume?.();
  },
};

/** A worker_threads Worker (or parentPort) as a MessagePortLike: both are EventEmitters of 'message'. */
function emitterPort(target: { postMessage(m: unknown, transfer?: readonly Transferable[]): void; on(e: "message", l: (data: unknown) => void): unknown; close?(): void }): MessagePortLike {
  return {
    postMessage: (message, transfer) => target.postMessage(message, transfer as never),
    addEventListener: (_type, listener) => void target.on("message", (data) => listener({ data })),
    close: () => target.close?.(),
  };
}

function startNodeThread(module: URL): ThreadHandle {
  const worker = new Worker(module);
  let terminating = false;
  const failed = new Promise<Error>((resolve) => {
    worker.once("error", (err) => resolve(err instanceof Error ? err : new Error(String(err))));
    // A message that could not be read is lost, and whoever waits on it would wait forever.
    worker.once("messageerror", () => resolve(new Error("a message from the thread could not be read")));
    worker.once("exit", (code) => {
      if (!terminating) resolve(new Error(code === 0 ? "thread ended on its own" : `thread exited with code ${code}`));
    });
  });
  return {
    port: emitterPort(worker),
    failed,
    terminate: async () => {
      terminating = true;
      await worker.terminate();
    },
  };
}

/** Smaller files are written buffered by nodeDirectFileSystem: not worth a staging copy. */
const DIRECT_MIN_BYTES = 64 * 1024;

/**
 * nodeFileSystem, but the log's segments, and files written whole of DIRECT_MIN_BYTES or more
 * (archive objects, large checkpoints), are written with O_DIRECT where the file system allows
 * (node_direct_io.ts says why); elsewhere, and for everything else, the same as nodeFileSystem.
 */
export const nodeDirectFileSystem: FileSystem = {
  ...nodeFileSystem,
  async writeFileAtomic(path, data, options) {
    const parts = data instanceof Uint8Array ? [data] : [...data];
    let bytes = 0;
    for (const part of parts) bytes += part.byteLength;
    const tmp = `${path}.${process.pid}.${tmpCounter++}.tmp`;
    const file = bytes >= DIRECT_MIN_BYTES ? await openDirectAppend(tmp, { blocking: false, whole: true }) : undefined;
    if (!file) return nodeFileSystem.writeFileAtomic(path, parts, options);
    await writeWhole(file, parts, options?.sync === true);
    await fsp.rename(tmp, path);
  },
  async openAppend(path, options) {
    return (await openDirectAppend(path, { blocking: options?.blocking === true })) ?? nodeFileSystem.openAppend(path, options);
  },
};

export const nodePlatform: Platform = {
  name: "node",
  fs: nodeFileSystem,
  directFs: nodeDirectFileSystem,
  http: nodeHttpHost,
  env: (name) => process.env[name],
  args: () => process.argv.slice(2),
  onShutdownSignal(handler) {
    const onSignal = (signal: string) => handler(signal);
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    return () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    };
  },
  exit: (code) => process.exit(code),
  memoryRss: () => process.memoryUsage.rss(),
  cwd: () => process.cwd(),
  async readStdin() {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      total += chunk.byteLength;
    }
    return concatChunks(chunks, total);
  },
  cpuCount: () => os.availableParallelism(),
  startThread: startNodeThread,
  parentPort: () => (nodeParentPort ? emitterPort(nodeParentPort) : undefined),
  afterPendingMessages: (run) => void setImmediate(run),
  // Read by V8 whenever it sets a heap's next limit, so setting it at run time works, for
  // threads started later too (a trace with --trace-gc-nvp shows the fewer collections).
  setHeapGrowthPercent: (percent) => v8.setFlagsFromString(`--heap-growing-percent=${percent}`),
  writeStdout(text) {
    if (stdoutGone) return Promise.resolve(false);
    // The error also arrives as an 'error' event, which would crash the process unheard.
    if (process.stdout.listenerCount("error") === 0) process.stdout.on("error", () => {});
    return new Promise((resolve, reject) => {
      process.stdout.write(text, (err) => {
        if (!err) return resolve(true);
        if ((err as NodeJS.ErrnoException).code !== "EPIPE") return reject(err);
        stdoutGone = true;
        resolve(false);
      });
    });
  },
};

