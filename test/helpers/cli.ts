/**
 * Running the real `trendwire` CLI as a child process from a test, on the runtime the test runs
 * on: `node dist/app/main.js` under Node (tests run compiled from dist/), `deno run -A
 * app/main.ts` under Deno (from the sources). Also a free TCP port for it to listen on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const isDeno = "Deno" in globalThis;

/** The repository root: the nearest directory above this module holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json"))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** A port that was free a moment ago (listen on 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface CliProcess {
  /** Sends a signal to the process. */
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code, or the signal that ended the process. */
  exited: Promise<{ code: number | null; signal: string | null }>;
}

interface DenoChild {
  stdout: ReadableStream<Uint8Array>;
  stderr: ReadableStream<Uint8Array>;
  status: Promise<{ code: number; signal: string | null }>;
  kill(signal: string): void;
}
interface DenoApi {
  execPath(): string;
  Command: new (cmd: string, options: { args: string[]; cwd: string; env: Record<string, string>; clearEnv: boolean; stdin: "null"; stdout: "piped"; stderr: "piped" }) => { spawn(): DenoChild };
}

/** The environment without TW_* variables, so only the test's flags configure the CLI. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("TW_")) env[k] = v;
  return env;
}

/**
 * Spawns `trendwire <args…>`. On Deno through Deno.Command: Deno's node:child_process reports a
 * child that handled SIGTERM and exited 0 as killed by SIGTERM, before it has even exited.
 */
export function spawnCli(args: string[]): CliProcess {
  const root = repoRoot();
  let out = "";
  let err = "";
  if (isDeno) {
    const Deno = (globalThis as unknown as { Deno: DenoApi }).Deno;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", join(root, "app/main.ts"), ...args],
      cwd: root,
      env: cleanEnv(),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const drain = async (stream: ReadableStream<Uint8Array>, add: (s: string) => void) => {
      const decoder = new TextDecoder();
      for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>) add(decoder.decode(chunk, { stream: true }));
    };
    const drained = Promise.all([drain(child.stdout, (s) => (out += s)), drain(child.stderr, (s) => (err += s))]);
    const exited = Promise.all([child.status, drained]).then(([status]) => ({ code: status.signal ? null : status.code, signal: status.signal }));
    return {
      kill: (signal) => {
        try {
          child.kill(signal);
        } catch {
          // already exited
        }
      },
      stdout: () => out,
      stderr: () => err,
      exited,
    };
  }
  const child: ChildProcess = spawn(process.execPath, [join(root, "dist/app/main.js"), ...args], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.setEncoding("utf8");
  child.stderr!.setEncoding("utf8");
  child.stdout!.on("data", (d: string) => (out += d));
  child.stderr!.on("data", (d: string) => (err += d));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  return { kill: (signal) => void child.kill(signal), stdout: () => out, stderr: () => err, exited };
}
