/**
 * The Deno platform adapter: files, HTTP/WebSocket serving (Deno.serve with a WebSocket helper
 * after Hono's Deno one), signals and process control. The `Deno` global is read through
 * `globalThis` so this file also type-checks under tsc (Node never loads it).
 */
import { defineWebSocketHelper, WSContext } from "hono/ws";
import { readWebBody } from "../http/body.ts";
import { problem } from "../http/problem.ts";
import { concatBytes } from "../bytes.ts";
import type { AppendFile, FileSystem, HttpHost, HttpServer, MessagePortLike, Platform, ServeOptions, ThreadHandle } from "./platform.ts";
import * as zlib from "node:zlib";
import { setImmediate } from "node:timers";
import { useNativeCrc32 } from "../transport/log_crc32.ts";

// The durable log checksums every record it writes and reads: Deno's node:zlib CRC-32, not the portable one.
useNativeCrc32((zlib as { crc32?: unknown }).crc32); // absent in Deno 2.0: the portable one then

// deno-lint-ignore no-explicit-any
const Deno = (globalThis as any).Deno;

let tmpCounter = 0;
const utf8 = new TextEncoder();

function isNotFound(err: unknown): boolean {
  return err instanceof Deno.errors.NotFound;
}

export const denoFileSystem: FileSystem = {
  async readFile(path) {
    try {
      return await Deno.readFile(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  async writeFileAtomic(path, data, options) {
    const tmp = `${path}.${Deno.pid}.${tmpCounter++}.tmp`;
    const file = await Deno.open(tmp, { write: true, create: true, truncate: true });
    try {
      for (const part of data instanceof Uint8Array ? [data] : data) {
        let off = 0;
        while (off < part.byteLength) off += await file.write(part.subarray(off));
      }
      if (options?.sync) await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  },
  async openAppend(path, options): Promise<AppendFile> {
    const file = await Deno.open(path, { append: true, create: true });
    const blocking = options?.blocking === true;
    return {
      async write(chunks) {
        // One write for the group: concatenating is cheaper than a syscall per chunk.
        const buf = concatBytes(chunks);
        let off = 0;
        while (off < buf.byteLength) off += blocking ? file.writeSync(buf.subarray(off)) : await file.write(buf.subarray(off));
      },
      sync: blocking ? async () => file.syncDataSync() : () => file.syncData(),
      close: async () => file.close(),
    };
  },
  async mkdirp(path) {
    await Deno.mkdir(path, { recursive: true });
  },
  async readDir(path) {
    const names: string[] = [];
    try {
      for await (const entry of Deno.readDir(path)) names.push(entry.name);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return names;
  },
  async remove(path) {
    try {
      await Deno.remove(path, { recursive: true });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  },
  async exists(path) {
    try {
      await Deno.stat(path);
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  },
};

/**
 * Hono's Deno WebSocket helper (hono/deno's upgradeWebSocket) with the Upgrade header's value
 * matched case-insensitively, as RFC 6455 §4.2.1 asks: hono/deno compares it exactly, so a
 * client sending `Upgrade: WebSocket` (iOS's, Cloudflare's) fell through to a 404 on Deno
 * (@hono/node-server lowercases it, and Deno.upgradeWebSocket itself does). And a handshake
 * Deno.upgradeWebSocket refuses (it throws) is answered 400, not 500. The rest as Hono's.
 */
const upgradeWebSocket = defineWebSocketHelper(async (c, events, options) => {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") return;
  const subprotocol = c.req.header("sec-websocket-protocol")?.split(",")[0]?.trim();
  let upgraded;
  try {
    upgraded = Deno.upgradeWebSocket(c.req.raw, { ...(subprotocol ? { protocol: subprotocol } : {}), ...options });
  } catch (err) {
    // A malformed handshake (no Sec-WebSocket-Key, say) is the client's error, not a 500.
    return problem({ title: "Invalid WebSocket handshake", status: 400, detail: err instanceof Error ? err.message : String(err) });
  }
  const { response, socket } = upgraded;
  const ws = new WSContext({
    close: (code, reason) => socket.close(code, reason),
    get protocol() {
      return socket.protocol;
    },
    raw: socket,
    get readyState() {
      return socket.readyState;
    },
    url: socket.url ? new URL(socket.url) : null,
    send: (source) => socket.send(source),
  });
  socket.onopen = (evt: Event) => events.onOpen?.(evt, ws);
  socket.onmessage = (evt: MessageEvent) => events.onMessage?.(evt, ws);
  socket.onclose = (evt: CloseEvent) => events.onClose?.(evt, ws);
  socket.onerror = (evt: Event) => events.onError?.(evt, ws);
  return response as Response;
});

export const denoHttpHost: HttpHost = {
  upgradeWebSocket,
  serve(options: ServeOptions): Promise<HttpServer> {
    return new Promise((resolve) => {
      const controller = new AbortController();
      const server = Deno.serve(
        {
          port: options.port,
          hostname: options.hostname ?? "0.0.0.0",
          signal: controller.signal,
          onListen: ({ port }: { port: number }) => {
            resolve({
              port,
              close: async () => {
                controller.abort();
                await server.finished;
              },
            });
          },
        },
        (request: Request, info: unknown) => options.fetch(request, info),
      );
    });
  },
  readBody: (request, _env, maxBytes) => readWebBody(request, maxBytes),
  // Deno's WebSocket has no read flow control; callers bound in-flight frames instead.
  pauseWebSocket: () => false,
  resumeWebSocket: () => {},
};

function startDenoThread(module: URL): ThreadHandle {
  const worker = new Worker(module.href, { type: "module" });
  let terminated = false;
  const failed = new Promise<Error>((resolve) => {
    worker.addEventListener("error", (event: ErrorEvent) => {
      // Handled here: an uncaught error in the thread must not end this one unheard.
      event.preventDefault();
      if (!terminated) resolve(event.error instanceof Error ? event.error : new Error(event.message));
    });
    // A message that could not be read is lost, and whoever waits on it would wait forever.
    worker.addEventListener("messageerror", () => {
      if (!terminated) resolve(new Error("a message from the thread could not be read"));
    });
  });
  return {
    port: worker as unknown as MessagePortLike,
    failed,
    terminate: async () => {
      terminated = true;
      worker.terminate();
    },
  };
}

/** Inside a Worker the global scope is the port to the parent; on the main thread there is none. */
function denoParentPort(): MessagePortLike | undefined {
  const scope = globalThis as unknown as { WorkerGlobalScope?: unknown; postMessage?: unknown };
  if (typeof scope.WorkerGlobalScope === "undefined" || typeof scope.postMessage !== "function") return undefined;
  const self = globalThis as unknown as MessagePortLike;
  return { postMessage: (m, t) => self.postMessage(m, t), addEventListener: (type, l) => self.addEventListener(type, l), close: () => {} };
}

export const denoPlatform: Platform = {
  name: "deno",
  fs: denoFileSystem,
  http: denoHttpHost,
  env: (name) => Deno.env.get(name),
  args: () => [...Deno.args],
  onShutdownSignal(handler) {
    const onTerm = () => handler("SIGTERM");
    const onInt = () => handler("SIGINT");
    Deno.addSignalListener("SIGTERM", onTerm);
    Deno.addSignalListener("SIGINT", onInt);
    return () => {
      Deno.removeSignalListener("SIGTERM", onTerm);
      Deno.removeSignalListener("SIGINT", onInt);
    };
  },
  exit: (code): never => {
    Deno.exit(code);
    throw new Error("unreachable");
  },
  memoryRss: () => Deno.memoryUsage().rss,
  cwd: () => Deno.cwd(),
  readStdin: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
  cpuCount: () => navigator.hardwareConcurrency,
  startThread: startDenoThread,
  parentPort: denoParentPort,
  afterPendingMessages: (run) => void setImmediate(run),
  async writeStdout(text) {
    const bytes = utf8.encode(text);
    try {
      for (let done = 0; done < bytes.length; ) done += await Deno.stdout.write(bytes.subarray(done));
      return true;
    } catch (err) {
      if (err instanceof Deno.errors.BrokenPipe) return false;
      throw err;
    }
  },
};
