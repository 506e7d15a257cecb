/**
 * What the runtime needs from its host, and nothing more. `node.ts` and `deno.ts` implement it;
 * they are the only files that touch `node:*` modules or the `Deno` global.
 */
import type { UpgradeWebSocket } from "hono/ws";
import type { DirectRoute } from "../http/direct_route.ts";

/** An open file for appending (the transport's durable log). */
export interface AppendFile {
  /** Appends all chunks in order; resolves when the OS has them (not yet synced). */
  write(chunks: Uint8Array[]): Promise<void>;
  /** Flushes file data to stable storage (fdatasync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface FileSystem {
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Writes through a temporary file and a rename, so readers see the old or the new bytes (parts: one after the other). */
  writeFileAtomic(path: string, data: Uint8Array | readonly Uint8Array[], options?: { sync?: boolean }): Promise<void>;
  /**
   * Opens `path` for appending. With `blocking`, writes and syncs run on the calling thread
   * instead of the runtime's I/O pool: no hand-off and wake-up per call (on a busy 2-core
   * machine a pool thread can wait milliseconds for a core), at the cost of the thread's time
   * while the disk syncs. For a thread that owns the log, not one that serves requests.
   */
  openAppend(path: string, options?: { blocking?: boolean }): Promise<AppendFile>;
  mkdirp(path: string): Promise<void>;
  /** Names in a directory; [] when it does not exist. */
  readDir(path: string): Promise<string[]>;
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

export interface HttpServer {
  readonly port: number;
  /** Stops accepting connections and closes them. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** 0 picks a free port (see HttpServer.port). */
  port: number;
  hostname?: string;
  /** A Web-standard fetch handler (Hono's `app.fetch`); it serves every route, direct ones too. */
  fetch: (request: Request, env?: unknown) => Response | Promise<Response>;
  /**
   * Routes the adapter may answer from its server's own request instead of through `fetch`
   * (runtime/http/direct_route.ts). Node's does; Deno's leaves them to `fetch`.
   */
  direct?: readonly DirectRoute[];
  /** WebSocket frames larger than this close the socket with 1009. */
  maxWebSocketPayload: number;
}

/** HTTP and WebSocket serving, the one place Hono meets the host runtime. */
export interface HttpHost {
  /** Hono's WebSocket upgrade helper for this runtime. */
  readonly upgradeWebSocket: UpgradeWebSocket<any>;
  serve(options: ServeOptions): Promise<HttpServer>;
  /**
   * The request body, at most `maxBytes` (else BodyTooLargeError from runtime/http/body.ts).
   * `env` is what the server passed to fetch (Hono's `c.env`): adapters may read the body from
   * the native request in it, which is much cheaper than the Web-standard stream.
   */
  readBody(request: Request, env: unknown, maxBytes: number): Promise<Uint8Array>;
  /**
   * Flow control on a WebSocket (`WSContext.raw`): stop reading frames from the peer until
   * resume(). Returns false where the runtime offers no such control (the caller then
   * refuses frames beyond its bound instead).
   */
  pauseWebSocket(raw: unknown): boolean;
  resumeWebSocket(raw: unknown): void;
}

/** What messaging between threads needs of a port (a MessagePort; a worker's own port). */
export interface MessagePortLike {
  /** Structured clone: the receiving side owns what it gets (the thread bridge relies on it). */
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  start?(): void;
  close?(): void;
}

/** A thread of this process running a module (platform.startThread). */
export interface ThreadHandle {
  /** Messages to the thread and from it (its parentPort()). */
  readonly port: MessagePortLike;
  /** Settles when the thread fails (an uncaught error, a message from it that cannot be read, on Node an exit nobody asked for): never after terminate(). */
  readonly failed: Promise<Error>;
  /** Ends the thread at once. */
  terminate(): Promise<void>;
}

export interface Platform {
  readonly name: "node" | "deno";
  readonly fs: FileSystem;
  /**
   * The same file system, but appended files and large whole files are written around the page
   * cache (O_DIRECT) where the host allows: for data written once and not read back soon (the
   * log, the archive). Absent where the runtime cannot (Deno): use `fs`.
   */
  readonly directFs?: FileSystem;
  readonly http: HttpHost;
  env(name: string): string | undefined;
  args(): string[];
  /** Calls `handler` once per SIGTERM/SIGINT; returns an unsubscribe function. */
  onShutdownSignal(handler: (signal: string) => void): () => void;
  exit(code: number): never;
  /** Resident set size in bytes. */
  memoryRss(): number;
  cwd(): string;
  /** All of standard input, until it ends. */
  readStdin(): Promise<Uint8Array>;
  /**
   * Writes to standard output; resolves once the runtime has taken the text (backpressure):
   * true, or false when the reader has gone (broken pipe, e.g. `| head`), so callers stop.
   */
  writeStdout(text: string): Promise<boolean>;
  /** CPUs this process may use. */
  cpuCount(): number;
  /** Starts `module` (a module URL) on a thread of its own; see ThreadHandle. */
  startThread(module: URL): ThreadHandle;
  /** In a thread started by startThread: its port to the starting thread; else undefined. */
  parentPort(): MessagePortLike | undefined;
  /**
   * Runs `run` once the I/O callbacks and port messages already waiting have been handled
   * (setImmediate): later than a microtask, without a timer's delay.
   */
  afterPendingMessages(run: () => void): void;
  /**
   * How far V8's old generation may grow past what survived a full collection before the next
   * one starts, in percent (V8's --heap-growing-percent; 0: V8 chooses, as it does by default),
   * for every thread of the process. Absent where the runtime takes V8 flags only on its
   * command line (Deno: `--v8-flags=--heap-growing-percent=N`).
   */
  setHeapGrowthPercent?(percent: number): void;
}
