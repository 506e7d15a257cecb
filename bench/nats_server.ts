/**
 * A real nats-server for the JetStream pipeline bench: the pinned binary printed by
 * `scripts/nats-server.sh` (which installs it when missing), on free loopback ports, with a
 * generated config — its store in the bench's temp dir, every write synced
 * (`sync_interval: always`, as deployments run it; DESIGN.md §8), `max_payload: 8MB` — and its
 * HTTP monitoring port open, which the bench reads (`/jsz`) to know when the pipeline drained.
 * It runs as a bench child: killed however the bench exits.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startChild, type ServerChild } from "./child.ts";

export interface BenchNatsServer {
  /** e.g. `nats://127.0.0.1:41234` */
  readonly url: string;
  /** The HTTP monitoring port (`/jsz`, `/healthz`, `/varz`). */
  readonly monitorPort: number;
  readonly child: ServerChild;
  readonly version: string;
}

export class NatsServerError extends Error {}

let binary: Promise<{ path: string; version: string }> | undefined;

/** The pinned nats-server binary (installed by the script if missing) and its version; once per process. */
export function natsServerBinary(repoRoot: string): Promise<{ path: string; version: string }> {
  binary ??= new Promise((resolve, reject) => {
    execFile("bash", [path.join(repoRoot, "scripts/nats-server.sh")], { timeout: 15 * 60_000 }, (error, stdout, stderr) => {
      if (error) return reject(new NatsServerError(`scripts/nats-server.sh failed: ${stderr || error.message}`, { cause: error }));
      const bin = stdout.trim().split("\n").at(-1)!;
      execFile(bin, ["--version"], (err, out) => resolve({ path: bin, version: err ? "unknown" : out.trim().replace(/^nats-server:\s*/, "") }));
    });
  });
  return binary;
}

/** A port free on the loopback interface right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startNatsServer(options: { repoRoot: string; dir: string }): Promise<BenchNatsServer> {
  const bin = await natsServerBinary(options.repoRoot);
  mkdirSync(options.dir, { recursive: true });
  const port = await freePort();
  const monitorPort = await freePort();
  const configFile = path.join(options.dir, "nats-server.conf");
  writeFileSync(
    configFile,
    [
      `listen: "127.0.0.1:${port}"`,
      `http: "127.0.0.1:${monitorPort}"`,
      "max_payload: 8MB",
      `jetstream { store_dir: ${JSON.stringify(path.join(options.dir, "store"))}, sync_interval: always }`,
      "",
    ].join("\n"),
  );
  const child = await startChild({
    name: "nats-server",
    command: bin.path,
    args: ["-c", configFile],
    portFrom: (line) => (line.includes("Server is ready") ? port : undefined),
  });
  // "Server is ready" precedes nothing JetStream needs, but wait for its health check anyway.
  const deadline = performance.now() + 20_000;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${monitorPort}/healthz?js-enabled-only=true`).then((r) => r.ok, () => false);
    if (ok) break;
    if (performance.now() > deadline || !child.alive()) {
      await child.stop(2_000);
      throw new NatsServerError(`nats-server did not become healthy; last output:\n${child.tail().join("\n")}`);
    }
    await sleep(25);
  }
  return { url: `nats://127.0.0.1:${port}`, monitorPort, child, version: bin.version };
}
