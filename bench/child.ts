/**
 * Servers under test as child processes: start one, learn its port from what it prints, read
 * its CPU time and peak memory from /proc, and stop it. Every child started here is killed
 * when the bench exits, however it exits (normal end, error, Ctrl-C), and the bench's temp
 * directory is removed with it; a tiny `sh` watcher kills it even if the bench itself is
 * SIGKILLed (no exit handler runs then), so no nats-server or pipeline process is orphaned.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import process from "node:process";
import { ticksPerSecond } from "./machine.ts";

export interface ChildOptions {
  name: string;
  /** The executable. Defaults to this Node (`process.execPath`), with `nodeFlags` first. */
  command?: string;
  /** Arguments to `node` (script first), e.g. `["dist/app/main.js", "run", "--port", "0"]`. */
  args: string[];
  /** Node flags before the script, e.g. `["--cpu-prof"]` (ignored with another `command`). */
  nodeFlags?: string[];
  /**
   * Finds the listening port in one line of the child's stdout or stderr; the child counts as
   * started at the first line that yields a number (a process without a port returns 0 on
   * its ready line).
   */
  portFrom(line: string): number | undefined;
  startTimeoutMs?: number;
}

export interface ServerChild {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  /** Log lines by level (JSON-lines logs), e.g. `{ info: 3, warn: 1 }`. */
  readonly logLevels: Record<string, number>;
  /** The last lines the child wrote (stdout and stderr), for error reports. */
  tail(): string[];
  /** CPU time (user + system, all threads) so far, in ms; undefined where /proc is missing. */
  cpuMs(): number | undefined;
  /** Times so far of each of its threads, by thread id (the main thread's is the pid); undefined where /proc is missing. */
  threadTimes(): Map<number, ThreadTimes> | undefined;
  /** Peak resident memory so far (bytes); undefined where /proc is missing. */
  peakRssBytes(): number | undefined;
  /** Whether it is still running. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: string | null }>;
}

/** One thread's times so far (ms). */
export interface ThreadTimes {
  /** On a CPU (user + system). */
  cpuMs: number;
  /**
   * Runnable but waiting for a CPU (the scheduler's run-queue wait, /proc/<pid>/task/<tid>/schedstat);
   * undefined where the kernel does not keep it.
   */
  waitMs?: number;
}

export class ChildStartError extends Error {}

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let cleanupInstalled = false;

function killAllNow(): void {
  for (const child of live) child.kill("SIGKILL");
  live.clear();
  // Retries: a child killed a moment ago may still be finishing a write in its data dir.
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
  tempDirs.clear();
}

/** Kills children and removes registered temp dirs on exit, error and Ctrl-C (once per process). */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", killAllNow);
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nbench: ${signal}, stopping servers and removing temp data\n`);
    killAllNow();
    process.exit(130);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("uncaughtException", (err) => {
    process.stderr.write(`bench failed: ${err.stack ?? err}\n`);
    killAllNow();
    process.exit(1);
  });
}

/** Removes `dir` when the bench exits, unless `release`d first. */
export function removeOnExit(dir: string): { release(): void } {
  tempDirs.add(dir);
  return { release: () => void tempDirs.delete(dir) };
}

export function startChild(options: ChildOptions): Promise<ServerChild> {
  installCleanup();
  const child = options.command
    ? spawn(options.command, options.args, { stdio: ["ignore", "pipe", "pipe"] })
    : spawn(process.execPath, [...(options.nodeFlags ?? []), ...options.args], { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  watchForOrphan(child);
  const lines: string[] = [];
  const logLevels: Record<string, number> = {};
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise<ServerChild>((resolve, reject) => {
    let started = false;
    const timer = setTimeout(() => fail(`did not start within ${options.startTimeoutMs ?? 15_000} ms`), options.startTimeoutMs ?? 15_000);
    const fail = (why: string) => {
      if (started) return;
      started = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new ChildStartError(`${options.name} ${why}; last output:\n${lines.slice(-20).join("\n")}`));
    };
    const onLine = (line: string) => {
      lines.push(line);
      if (lines.length > 200) lines.splice(0, 100);
      const level = /"level":"(\w+)"/.exec(line)?.[1];
      if (level) logLevels[level] = (logLevels[level] ?? 0) + 1;
      if (started) return;
      const port = options.portFrom(line);
      if (port === undefined) return;
      started = true;
      clearTimeout(timer);
      resolve(handle(child, options.name, port, lines, logLevels, exited));
    };
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        const parts = (partial + chunk).split("\n");
        partial = parts.pop()!;
        for (const p of parts) onLine(p);
      });
    }
    child.once("error", (err) => fail(`could not be spawned: ${err.message}`));
    void exited.then(({ code, signal }) => fail(`exited early (code ${code}, signal ${signal})`));
  });
}

/** Kills `child` once this bench process is gone, even by SIGKILL (when no exit handler runs). */
function watchForOrphan(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill -9 ${child.pid} 2>/dev/null`;
  const watcher = spawn("sh", ["-c", script], { stdio: "ignore", detached: true });
  watcher.on("error", () => {}); // no sh: the exit handlers still cover every normal exit
  watcher.unref();
  child.once("exit", () => {
    try {
      watcher.kill("SIGKILL");
    } catch {
      // already gone
    }
  });
}

/** utime + stime (ms) of a /proc `stat` line (the command name may hold spaces: fields follow its ")"). */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

/** The run-queue wait (ms) of a schedstat file ("<on-cpu ns> <run-queue wait ns> <timeslices>"); undefined if absent. */
function runQueueWaitMs(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const waitNs = Number(text.split(" ")[1]);
  return Number.isFinite(waitNs) ? waitNs / 1e6 : undefined;
}

function handle(
  child: ChildProcess,
  name: string,
  port: number,
  lines: string[],
  logLevels: Record<string, number>,
  exited: Promise<{ code: number | null; signal: string | null }>,
): ServerChild {
  const pid = child.pid!;
  return {
    name,
    pid,
    port,
    logLevels,
    tail: () => lines.slice(-20),
    alive: () => child.exitCode === null && child.signalCode === null,
    cpuMs() {
      try {
        return statCpuMs(readFileSync(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return undefined;
      }
    },
    threadTimes() {
      try {
        const out = new Map<number, ThreadTimes>();
        for (const tid of readdirSync(`/proc/${pid}/task`)) {
          try {
            const cpuMs = statCpuMs(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8"));
            const waitMs = runQueueWaitMs(`/proc/${pid}/task/${tid}/schedstat`);
            out.set(Number(tid), waitMs === undefined ? { cpuMs } : { cpuMs, waitMs });
          } catch {
            // the thread ended between the listing and the read
          }
        }
        return out;
      } catch {
        return undefined;
      }
    },
    peakRssBytes() {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
        return kb === undefined ? undefined : Number(kb) * 1024;
      } catch {
        return undefined;
      }
    },
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
}
