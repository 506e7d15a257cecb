/**
 * The pipeline over a real nats-server as six OS processes — ingest (+ trends edge), decode,
 * two aggregate instances, detect, persist — fed the same input as an embedded run: the same
 * archived window totals and the same trend signals come out. Then the faults: an aggregate
 * killed with SIGKILL mid-stream and restarted, and nats-server restarted mid-stream while
 * clients retry with their Idempotency-Key — 0 events lost, 0 counted twice. A poison message
 * is dead-lettered without stalling its partition, and a plain NATS client receives signals.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { decode } from "@msgpack/msgpack";
import { startNatsServer, type NatsServerHandle } from "../helpers/nats_server.ts";
import { freePort, spawnCli, type CliProcess } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { poisson, prng, T0, tally, windowEvents, type TestEvent, type WindowTotals } from "../helpers/events.ts";
import { encodeBody } from "../helpers/events.ts";
import { archivedSignals, diffTotals, finalWindows, rawSummary, readArchive, sumCounts, type SignalRecord } from "../helpers/archive.ts";
import { startTestPipeline } from "../helpers/pipeline.ts";
import { postEvents } from "../helpers/edge_client.ts";
import { waitFor } from "../helpers/wait.ts";

const WINDOW_MS = 1000;
const STREAM = "surge";
const BACKGROUND = Array.from({ length: 8 }, (_, i) => `bg${i}`);
const HOT = ["hot-a", "hot/b é"];
const SURGE_FROM = 18;
const TOTAL_WINDOWS = 24;
const FLAGS = { "window-ms": "1000", "max-out-of-order-ms": "0", "idle-timeout-ms": "600000", "detect-warmup": "5" };

function traffic(seed: number): TestEvent[][] {
  const random = prng(seed);
  const out: TestEvent[][] = [];
  for (let w = 0; w < TOTAL_WINDOWS; w++) {
    const surging = w >= SURGE_FROM && w < SURGE_FROM + 3;
    const counts: Record<string, number> = {};
    for (const k of BACKGROUND) counts[k] = poisson(random, 20);
    for (const k of HOT) counts[k] = surging ? 200 : poisson(random, 20);
    out.push(windowEvents(T0 + w * WINDOW_MS, WINDOW_MS, counts));
  }
  return out;
}

interface Deployment {
  base: string;
  dataDir: string;
  procs: Map<string, CliProcess>;
  start(name: string): void;
  /** SIGTERM in pipeline order (each drains before the next stops); asserts exit 0. */
  stopAll(): Promise<void>;
}

async function deploy(server: NatsServerHandle): Promise<Deployment> {
  const dataDir = await makeTempDir("tw-nats-e2e-");
  const port = await freePort();
  const common = ["--nats", server.url, "--data-dir", dataDir, "--log-level", "warn", "--ack-wait-ms", "4000", "--shutdown-timeout-ms", "20000"];
  for (const [k, v] of Object.entries(FLAGS)) common.push(`--${k}`, v);
  const roles: Record<string, string[]> = {
    persist: ["--actors", "persist"],
    detect: ["--actors", "detect"],
    "aggregate-0": ["--actors", "aggregate", "--instance", "0", "--instances", "2"],
    "aggregate-1": ["--actors", "aggregate", "--instance", "1", "--instances", "2"],
    decode: ["--actors", "decode"],
    ingest: ["--actors", "ingest,trends", "--port", String(port), "--host", "127.0.0.1"],
  };
  const procs = new Map<string, CliProcess>();
  const start = (name: string) => procs.set(name, spawnCli(["run", ...roles[name]!, ...common]));
  for (const name of Object.keys(roles)) start(name);
  const base = `http://127.0.0.1:${port}`;
  await waitFor("the ingest process to be ready", async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000 });
  return {
    base,
    dataDir,
    procs,
    start,
    async stopAll() {
      for (const name of ["ingest", "decode", "aggregate-0", "aggregate-1", "detect", "persist"]) {
        const p = procs.get(name)!;
        p.kill("SIGTERM");
        const exit = await p.exited;
        assert.equal(exit, { code: 0, signal: null }, `${name} exits 0 on SIGTERM; stderr:\n${p.stderr().slice(-2000)}`);
      }
    },
  };
}

/** Waits until every durable consumer of the pipeline has processed and acknowledged all it had. */
async function drained(url: string, procs: Map<string, CliProcess>): Promise<void> {
  const nc = await connect({ servers: url });
  let behind = "";
  try {
    const jsm = await jetstreamManager(nc);
    await waitFor(
      "every pipeline consumer to drain",
      async () => {
        const lagging: string[] = [];
        for (const stream of ["TW_RAW", "TW_EVENTS", "TW_AGG", "TW_TRENDS", "TW_DLQ"]) {
          for await (const ci of jsm.consumers.list(stream)) {
            if (ci.config.inactive_threshold) continue; // live followers
            if (ci.num_pending > 0 || ci.num_ack_pending > 0) lagging.push(`${stream}/${ci.name}: ${ci.num_pending} pending, ${ci.num_ack_pending} unacked, ${ci.num_redelivered} redelivered`);
          }
        }
        behind = lagging.join("; ");
        return lagging.length === 0;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  } catch (err) {
    const logs = [...procs].map(([n, p]) => `--- ${n}\n${p.stderr().split("\n").filter((l) => /warn|error/.test(l)).slice(-8).join("\n")}`).join("\n");
    throw new Error(`${(err as Error).message}; still behind: ${behind}\n${logs}`);
  } finally {
    await nc.close();
  }
}

/** POSTs a window's events, retrying 503s with the same Idempotency-Key until accepted. */
async function postWithRetry(base: string, events: TestEvent[], key: string, seen503: { n: number }): Promise<number> {
  const { body, contentType } = encodeBody("json", events);
  for (let attempt = 0; attempt < 400; attempt++) {
    const res = await fetch(`${base}/v1/streams/${STREAM}/events`, { method: "POST", headers: { "content-type": contentType, "idempotency-key": key }, body }).catch(() => undefined);
    if (res?.status === 202) return ((await res.json()) as { accepted: number }).accepted;
    if (res) {
      const text = await res.text();
      assert.is(res.status, 503, `only 503 while NATS is down, got ${res.status}: ${text}`);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      seen503.n++;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`window ${key} never accepted`);
}

function signalSet(signals: SignalRecord[]): string[] {
  return signals.map((s) => `${s.key}@${s.windowStart - T0}:${s.direction}`).sort();
}

test("six processes over JetStream give the same windows and signals as the embedded pipeline; plain NATS clients get signals", async () => {
  const input = traffic(7);
  const expected = new Map<string, WindowTotals>();
  for (const events of input) tally(expected, STREAM, events, WINDOW_MS);

  const embedded = await startTestPipeline(FLAGS);
  for (const events of input) await postEvents(embedded.base, STREAM, "json", events);
  await embedded.stop();
  const embeddedSignals = signalSet(await archivedSignals(embedded.dataDir, STREAM));
  assert.ok(embeddedSignals.some((s) => s.startsWith("hot-a@18000:up")), `embedded run detects the surge: ${embeddedSignals}`);

  const server = await startNatsServer();
  const nc = await connect({ servers: server.url });
  const plain: { subject: string; body: SignalRecord }[] = [];
  const plainJson: SignalRecord[] = [];
  nc.subscribe("tw.trends.>", { callback: (_e, m) => void plain.push({ subject: m.subject, body: (decode(m.data) as { body: SignalRecord }).body }) });
  nc.subscribe("tw.json.trends.>", { callback: (_e, m) => void plainJson.push(JSON.parse(new TextDecoder().decode(m.data))) });
  const d = await deploy(server);
  try {
    for (const events of input) {
      const { accepted } = await postEvents(d.base, STREAM, "json", events);
      assert.is(accepted, events.length);
    }
    // Poison: bytes that are no envelope at all, straight onto a partition subject.
    const js = (await import("@nats-io/jetstream")).jetstream(nc);
    await js.publish("tw.events.3", new TextEncoder().encode("not a message"));
    await waitFor("plain subscribers to receive the surge signals", () => HOT.every((k) => plain.some((p) => p.body.key === k && p.body.direction === "up")), { timeoutMs: 30_000 });
    await d.stopAll();

    const { totals } = await finalWindows(d.dataDir, [STREAM]);
    assert.equal(diffTotals(expected, totals), [], "archived windows equal the offline recount");
    const raw = await rawSummary(d.dataDir, STREAM);
    assert.is(raw.events, sumCounts(expected));
    assert.equal(raw.repeated, []);
    assert.equal(signalSet(await archivedSignals(d.dataDir, STREAM)), embeddedSignals, "the same trend signals as the embedded run");
    const dead = await readArchive<{ entry: { stage: string; reason: string; subject: string } }>(d.dataDir, "dlq");
    const entries = dead.flatMap((o) => o.records.map((r) => r.entry));
    assert.ok(entries.some((e) => e.stage === "aggregate" && e.subject === "tw.events.3" && /undecodable/.test(e.reason)), `poison dead-lettered: ${JSON.stringify(entries)}`);
    // Subscribers: subjects carry the encoded key; the JSON copy equals the MessagePack body.
    const hot = plain.find((p) => p.body.key === "hot/b é")!;
    assert.is(hot.subject, `tw.trends.${STREAM}.hot~2Fb~20~C3~A9`);
    assert.ok(plainJson.some((j) => j.key === hot.body.key && j.windowStart === hot.body.windowStart && j.observed === hot.body.observed));
  } finally {
    for (const p of d.procs.values()) p.kill("SIGKILL");
    await nc.close();
    await server.cleanup();
    await removeDir(d.dataDir);
    await removeDir(embedded.dataDir);
  }
});

test("SIGKILL of an aggregate and a nats-server restart mid-stream: 0 events lost, 0 counted twice", async () => {
  const input = traffic(11);
  const expected = new Map<string, WindowTotals>();
  for (const events of input) tally(expected, STREAM, events, WINDOW_MS);
  const server = await startNatsServer();
  const d = await deploy(server);
  const seen503 = { n: 0 };
  try {
    let accepted = 0;
    for (let w = 0; w < TOTAL_WINDOWS; w++) {
      if (w === 6) d.procs.get("aggregate-0")!.kill("SIGKILL");
      if (w === 9) {
        assert.equal(await d.procs.get("aggregate-0")!.exited, { code: null, signal: "SIGKILL" });
        d.start("aggregate-0");
      }
      if (w === 14) {
        await server.stop();
        // While NATS is down, ingest refuses quickly with 503; the client retries the same key.
        const during = postWithRetry(d.base, input[w]!, `w-${w}`, seen503);
        await waitFor("a 503 while NATS is down", () => seen503.n > 0, { timeoutMs: 15_000 });
        await server.restart();
        accepted += await during;
        continue;
      }
      accepted += await postWithRetry(d.base, input[w]!, `w-${w}`, seen503);
    }
    assert.ok(seen503.n > 0);
    assert.is(accepted, sumCounts(expected));
    // Recovery: after the faults, the pipeline catches up on its own.
    await drained(server.url, d.procs);
    await d.stopAll();
    const { totals } = await finalWindows(d.dataDir, [STREAM]);
    assert.equal(diffTotals(expected, totals), [], "every window equals the offline recount");
    const raw = await rawSummary(d.dataDir, STREAM);
    assert.is(raw.events, sumCounts(expected), "each accepted request archived once");
    assert.equal(raw.repeated, []);
  } finally {
    for (const p of d.procs.values()) p.kill("SIGKILL");
    await server.cleanup();
    await removeDir(d.dataDir);
  }
});

test.run();
