/**
 * A closed-loop HTTP/1.1 load generator over raw keep-alive TCP sockets: each connection sends
 * one pre-built request, waits for the whole response, records its latency and status, and
 * sends the next, until the phase's deadline.
 *
 * Why not `node:http` (or `fetch`): the generator shares this machine's two cores with the
 * server under test, and the `node:http` client spends several times more CPU per request than
 * the server's own parse-only path, so for small requests it would measure itself. Requests
 * here are written as one pre-encoded Buffer, and responses are framed by reading only the
 * status line and Content-Length / chunked encoding.
 */
import net from "node:net";
import { LatencyRecorder, type LatencySummary } from "./latency.ts";

export interface LoadSpec {
  host: string;
  port: number;
  /** Request path, e.g. `/v1/streams/bench/events`. */
  path: string;
  contentType: string;
  /** Distinct bodies, sent in rotation so the server cannot cache one. */
  bodies: Uint8Array[];
  /** Events in each body: a 202 counts this many accepted events. */
  eventsPerBody: number;
  /** Keep-alive connections, each with one request in flight. */
  connections: number;
}

export interface PhaseResult {
  /** From the first request of the phase to the last response. */
  elapsedMs: number;
  /** Responses received (any status). */
  responses: number;
  accepted202: number;
  acceptedEvents: number;
  /** Count by HTTP status, e.g. `{ "202": 9000, "503": 12 }`. */
  statuses: Record<string, number>;
  /** Connection errors, resets and timeouts (requests without a response). */
  errors: number;
  /** Per-request latency (send → full response), all statuses. */
  latency: LatencySummary;
  /** CPU this generator process spent during the phase (ms, user + system). */
  generatorCpuMs: number;
}

const CRLF2 = Buffer.from("\r\n\r\n");
/** How long a phase waits for outstanding responses after its deadline before giving up on them. */
const straggleMs = 30_000;

interface Phase {
  deadline: number;
  outstanding: number;
  done(): void;
}

class Connection {
  #socket: net.Socket | undefined;
  #pending: Buffer | undefined;
  #sentAt = 0;
  #inFlight = false;
  constructor(readonly load: HttpLoad) {}

  get inFlight(): boolean {
    return this.#inFlight;
  }

  send(): void {
    if (!this.#socket || this.#socket.destroyed) this.#connect();
    this.#inFlight = true;
    this.#sentAt = performance.now();
    this.#socket!.write(this.load.nextRequest());
  }

  /** Drops the connection without counting an error (the next send reconnects). */
  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#inFlight = false;
    socket?.destroy();
  }

  #connect(): void {
    const socket = net.connect({ host: this.load.spec.host, port: this.load.spec.port, noDelay: true });
    this.#pending = undefined;
    socket.on("data", (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on("error", () => {}); // "close" follows; counted there
    socket.on("close", () => {
      if (this.#socket !== socket) return; // replaced or closed on purpose
      this.#socket = undefined;
      if (this.#inFlight) {
        this.#inFlight = false;
        this.load.onError(this);
      }
    });
    this.#socket = socket;
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    let buf = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    for (;;) {
      const frame = responseFrame(buf);
      if (frame === undefined) break;
      if (frame === "unframed") {
        socket.destroy(); // a response we cannot delimit: drop the connection
        return;
      }
      const latencyMs = performance.now() - this.#sentAt;
      this.#inFlight = false;
      buf = buf.subarray(frame.length);
      if (frame.close) {
        this.#socket = undefined;
        socket.destroy();
      }
      this.load.onResponse(this, frame.status, latencyMs);
      if (frame.close) return;
    }
    this.#pending = buf.byteLength > 0 ? buf : undefined;
  }
}

interface Frame {
  status: number;
  length: number;
  close: boolean;
}

/** Frames one response at the start of `buf`: undefined if incomplete. */
export function responseFrame(buf: Buffer): Frame | "unframed" | undefined {
  const headerEnd = buf.indexOf(CRLF2);
  if (headerEnd < 0) return undefined;
  const head = buf.toString("latin1", 0, headerEnd).toLowerCase();
  const status = Number(head.slice(9, 12));
  const close = /\r\nconnection:\s*close/.test(head);
  const bodyStart = headerEnd + 4;
  const cl = /\r\ncontent-length:\s*(\d+)/.exec(head);
  if (cl) {
    const length = bodyStart + Number(cl[1]);
    return buf.byteLength >= length ? { status, length, close } : undefined;
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
    let at = bodyStart;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
      if (Number.isNaN(size)) return "unframed";
      if (size === 0) {
        const end = buf.indexOf(CRLF2, lineEnd); // no trailers are expected
        return end < 0 ? undefined : { status, length: end + 4, close };
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.byteLength) return undefined;
    }
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, length: bodyStart, close };
  return "unframed";
}

export class HttpLoad {
  readonly #requests: Buffer[];
  readonly #connections: Connection[];
  #next = 0;
  #phase: Phase | undefined;
  #result!: Omit<PhaseResult, "elapsedMs" | "latency" | "generatorCpuMs">;
  #latency = new LatencyRecorder();

  constructor(readonly spec: LoadSpec) {
    this.#requests = spec.bodies.map((body) =>
      Buffer.concat([
        Buffer.from(
          `POST ${spec.path} HTTP/1.1\r\nHost: ${spec.host}:${spec.port}\r\nContent-Type: ${spec.contentType}\r\nContent-Length: ${body.byteLength}\r\nConnection: keep-alive\r\n\r\n`,
          "latin1",
        ),
        body,
      ]),
    );
    this.#connections = Array.from({ length: spec.connections }, () => new Connection(this));
  }

  nextRequest(): Buffer {
    const r = this.#requests[this.#next]!;
    this.#next = (this.#next + 1) % this.#requests.length;
    return r;
  }

  /** Drives every connection for `durationMs` (a warm-up is a phase whose result is ignored). */
  async run(durationMs: number): Promise<PhaseResult> {
    if (this.#phase) throw new Error("a phase is already running");
    this.#result = { responses: 0, accepted202: 0, acceptedEvents: 0, statuses: {}, errors: 0 };
    this.#latency = new LatencyRecorder();
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let last = start;
    await new Promise<void>((resolve) => {
      const straggler = setTimeout(() => {
        for (const c of this.#connections) {
          if (c.inFlight) this.#result.errors++;
          c.close(); // reconnected by the next phase
        }
        finish();
      }, durationMs + straggleMs);
      const finish = () => {
        clearTimeout(straggler);
        last = performance.now();
        this.#phase = undefined;
        resolve();
      };
      this.#phase = { deadline: start + durationMs, outstanding: this.#connections.length, done: finish };
      for (const c of this.#connections) c.send();
    });
    const cpu = process.cpuUsage(cpu0);
    return { ...this.#result, elapsedMs: last - start, latency: this.#latency.summary(), generatorCpuMs: (cpu.user + cpu.system) / 1000 };
  }

  onResponse(conn: Connection, status: number, latencyMs: number): void {
    const phase = this.#phase;
    if (!phase) return;
    const r = this.#result;
    r.responses++;
    r.statuses[status] = (r.statuses[status] ?? 0) + 1;
    if (status === 202) {
      r.accepted202++;
      r.acceptedEvents += this.spec.eventsPerBody;
    }
    this.#latency.add(latencyMs);
    this.#continue(conn, phase);
  }

  onError(conn: Connection): void {
    const phase = this.#phase;
    if (!phase) return;
    this.#result.errors++;
    // Back off a little so a refused port does not spin the loop.
    setTimeout(() => this.#continue(conn, phase), 20);
  }

  #continue(conn: Connection, phase: Phase): void {
    if (this.#phase !== phase) return;
    if (performance.now() < phase.deadline) conn.send();
    else if (--phase.outstanding === 0) phase.done();
  }

  close(): void {
    for (const c of this.#connections) c.close();
  }
}
