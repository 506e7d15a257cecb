/**
 * A real nats-server with JetStream for tests (DESIGN.md §8): the pinned binary from
 * scripts/nats-server.sh on free loopback ports, its store in a temp dir, every write synced
 * (`sync_interval: always`). Runs on Node and Deno through node:child_process.
 *
 * No orphans: every server started here is killed when this process exits, and a tiny
 * `sh` watcher kills it too if this process dies without running exit handlers (SIGKILL).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeDir } from "./tmp.ts";

export interface NatsServerOptions {
  /** Require user/password or a token. Defaults to no auth. */
  auth?: { user: string; password: string } | { token: string };
  /** Largest message payload. Defaults to 8 MiB. */
  maxPayload?: number;
  /** How long start() waits for the server to become healthy (ms). Defaults to 20 000. */
  startTimeoutMs?: number;
}

export interface NatsServerHandle {
  /** e.g. "nats://127.0.0.1:41234" */
  readonly url: string;
  readonly port: number;
  /** The PID of the running server (the last one started, after restart()). */
  readonly pid: number;
  /** The JetStream store directory; it survives stop() and restart(). */
  readonly storeDir: string;
  /** SIGTERM (graceful), then SIGKILL after `timeoutMs`. Resolves once the process is gone. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL: a crash. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and store dir (stopping it first if running). */
  restart(): Promise<void>;
  /** Stops the server and deletes its temp dir. */
  cleanup(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));
/** Repo root, from test/helpers (sources, Deno) or dist/test/helpers (compiled, Node). */
const repoRoot = resolve(here, here.includes(`${join("dist", "test")}`) ? "../../.." : "../..");
let binary: Promise<string> | undefined;
const running = new Set<ChildProcess>();
/** Temp dirs of servers not cleaned up yet: removed on exit too. */
const tempDirs = new Set<string>();
let exitHookInstalled = false;

/** The pinned nats-server binary, installed by the script when missing; resolved once per process. */
export function natsServerBinary(): Promise<string> {
  binary ??= new Promise<string>((resolveBin, reject) => {
    const script = join(repoRoot, "scripts", "nats-server.sh");
    execFile("bash", [script], { timeout: 15 * 60_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`scripts/nats-server.sh failed: ${stderr || error.message}`, { cause: error }));
      else resolveBin(stdout.trim().split("\n").at(-1)!);
    });
  });
  return binary;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = await natsServerBinary();
  const dir = await makeTempDir("tw-nats-");
  tempDirs.add(dir);
  const storeDir = join(dir, "jetstream");
  const port = await freePort();
  const httpPort = await freePort();
  const configFile = join(dir, "nats.conf");
  await writeFile(configFile, config(port, httpPort, storeDir, options));
  installExitHook();

  let child: ChildProcess | undefined;
  let log = "";
  const startTimeoutMs = options.startTimeoutMs ?? 20_000;

  async function start(): Promise<void> {
    log = "";
    const proc = spawn(bin, ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    running.add(proc);
    proc.stderr!.on("data", (chunk: Uint8Array) => {
      log = (log + chunk.toString()).slice(-16_384);
    });
    proc.once("exit", () => running.delete(proc));
    watchForOrphan(proc);
    try {
      await waitHealthy(proc, httpPort, startTimeoutMs);
    } catch (error) {
      await signalAndWait(proc, "SIGKILL", 5_000);
      throw new Error(`nats-server did not start: ${(error as Error).message}\n${log}`, { cause: error });
    }
  }

  async function stop(timeoutMs = 5_000): Promise<void> {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    if (!(await signalAndWait(proc, "SIGTERM", timeoutMs))) await signalAndWait(proc, "SIGKILL", 5_000);
  }

  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    get pid() {
      return child?.pid ?? -1;
    },
    storeDir,
    stop,
    async kill() {
      if (child) await signalAndWait(child, "SIGKILL", 5_000);
    },
    async restart() {
      await stop();
      await start();
    },
    async cleanup() {
      await stop();
      await removeDir(dir);
      tempDirs.delete(dir);
    },
  };
}

function config(port: number, httpPort: number, storeDir: string, options: NatsServerOptions): string {
  const lines = [
    `listen: "127.0.0.1:${port}"`,
    `http: "127.0.0.1:${httpPort}"`,
    `max_payload: ${options.maxPayload ?? 8 * 1024 * 1024}`,
    // Every write synced before the ack: see DESIGN.md §8 (Jepsen 2025).
    `jetstream { store_dir: ${JSON.stringify(storeDir)}, sync_interval: always }`,
  ];
  const auth = options.auth;
  if (auth && "token" in auth) lines.push(`authorization { token: ${JSON.stringify(auth.token)} }`);
  else if (auth) lines.push(`authorization { user: ${JSON.stringify(auth.user)}, password: ${JSON.stringify(auth.password)} }`);
  return `${lines.join("\n")}\n`;
}

/** A port free on the loopback interface right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

/** Polls the monitor endpoint until JetStream reports healthy. */
async function waitHealthy(proc: ChildProcess, httpPort: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`exited (${proc.exitCode ?? proc.signalCode})`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz?js-enabled-only=true`);
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not healthy after ${timeoutMs} ms (${last})`);
}

/** Sends `signal`; resolves true once the process has exited, false after `timeoutMs`. */
function signalAndWait(proc: ChildProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolveExit) => {
    const timer = setTimeout(() => {
      proc.off("exit", onExit);
      resolveExit(false);
    }, timeoutMs);
    const onExit = () => {
      clearTimeout(timer);
      resolveExit(true);
    };
    proc.once("exit", onExit);
    proc.kill(signal);
  });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const proc of running) proc.kill("SIGKILL");
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Kills the server once this process is gone (covers a SIGKILL'd test run). */
function watchForOrphan(proc: ChildProcess): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${proc.pid} 2>/dev/null; do sleep 1; done; kill -9 ${proc.pid} 2>/dev/null`;
  const watcher = spawn("sh", ["-c", script], { stdio: "ignore", detached: true });
  watcher.unref();
  proc.once("exit", () => {
    try {
      watcher.kill("SIGKILL");
    } catch {
      // already gone
    }
  });
}

/**
 * Runs `body` while stray uncaught ECONNRESET socket errors are ignored. Why: when the server
 * refuses a connection (bad credentials), nats.js's Node transport removes every socket
 * listener and then destroys the socket; Node emits nothing after destroy(), but Deno's
 * node:net compat can still emit the read ECONNRESET, which then has no listener and would
 * crash the test process. The connect() itself rejects properly on both runtimes.
 */
export async function tolerateSocketResets<T>(body: () => Promise<T>): Promise<T> {
  const guard = (error: unknown) => {
    if ((error as { code?: string } | undefined)?.code !== "ECONNRESET") throw error;
  };
  process.on("uncaughtException", guard);
  try {
    return await body();
  } finally {
    process.off("uncaughtException", guard);
  }
}
