/**
 * NatsTransport against a real nats-server (test/helpers/nats_server.ts): availability,
 * backpressure, de-duplication, holding, errors, and what other NATS clients see. The
 * Transport contract itself is covered by test/conformance/nats.test.ts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { BackpressureError, TransportUnavailableError } from "../../core/errors.ts";
import { FilterSpansStreamsError, NoStreamError } from "../in_process_errors.ts";
import type { Delivery } from "../transport.ts";
import { startNatsServer, tolerateSocketResets, type NatsServerHandle } from "../../../test/helpers/nats_server.ts";
import { waitFor } from "../../../test/helpers/wait.ts";
import { NatsTransport, NatsAuthError, StreamFullError, streamReport, type NatsTransportOptions } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const quiet = { log: () => {} };
let shared: Promise<NatsServerHandle> | undefined;
let n = 0;

function server(): Promise<NatsServerHandle> {
  shared ??= startNatsServer();
  return shared;
}

function unique(): { name: string; prefix: string } {
  const id = `${Date.now().toString(36)}${(n++).toString(36)}`;
  return { name: `T_${id}`, prefix: `t.${id}` };
}

async function withTransport(body: (t: NatsTransport, url: string) => Promise<void>, options: NatsTransportOptions = {}): Promise<void> {
  const { url } = await server();
  const t = await NatsTransport.connect({ servers: url, ...quiet, ...options });
  try {
    await body(t, url);
  } finally {
    await t.close();
  }
}

test("while the server is down publish fails fast; after a restart publishing, consuming and de-duplication resume", async () => {
  const srv = await startNatsServer();
  const t = await NatsTransport.connect({ servers: srv.url, publishTimeoutMs: 10_000, reconnectTimeWaitMs: 100, reconnectJitterMs: 50, ...quiet });
  try {
    await t.ensureStreams([{ name: "RESTART", subjects: ["restart.>"] }]);
    // A group that never reads keeps the messages stored: the server rebuilds its de-duplication
    // ids after a restart from the messages still in the stream (see streams.ts).
    await t.ensureConsumer("restart.>", "lagging");
    const got: string[] = [];
    await t.consume("restart.>", "g", (d) => void (got.push(dec.decode(d.data)), d.ack()));
    const a = await t.publish("restart.x", enc.encode("a"), { msgId: "id-a" });
    await t.publish("restart.x", enc.encode("b"), { msgId: "id-b" });
    await waitFor("a and b", () => got.length === 2);

    await srv.stop();
    const started = Date.now();
    const error = await t.publish("restart.x", enc.encode("lost"), { msgId: "id-lost" }).catch((e) => e);
    const took = Date.now() - started;
    assert.instance(error, TransportUnavailableError);
    assert.ok(took < 5_000, `rejected after ${took} ms, publishTimeoutMs is 10 000`);

    await srv.restart();
    await waitFor("the reconnect", () => t.connected);
    const again = await t.publish("restart.x", enc.encode("a"), { msgId: "id-a" });
    assert.is(again.duplicate, true, "the msgId is remembered across the server restart");
    assert.is(again.seq, a.seq);
    const other = await NatsTransport.connect({ servers: srv.url, ...quiet });
    const fromOther = await other.publish("restart.x", enc.encode("b"), { msgId: "id-b" });
    await other.close();
    assert.is(fromOther.duplicate, true, "and by another connection");
    await t.publish("restart.x", enc.encode("c"), { msgId: "id-c" });
    await waitFor("c after the restart", () => got.includes("c"), { timeoutMs: 15_000 });
    assert.equal(got, ["a", "b", "c"], "acked messages are not delivered again, the duplicate not at all");
    assert.ok(t.stats().reconnects >= 1);
  } finally {
    await t.close();
    await srv.cleanup();
  }
});

test("a full stream (tiny maxBytes, nothing acked) rejects publishes with BackpressureError; acking makes room", () =>
  withTransport(async (t) => {
    const s = unique();
    await t.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`], maxBytes: 4096 }]);
    await t.ensureConsumer(`${s.prefix}.>`, "slow");
    let stored = 0;
    let error: unknown;
    for (let i = 0; i < 20 && !error; i++) {
      try {
        await t.publish(`${s.prefix}.x`, new Uint8Array(1000));
        stored++;
      } catch (e) {
        error = e;
      }
    }
    assert.instance(error, BackpressureError);
    assert.instance(error, StreamFullError);
    assert.ok((error as Error).cause, "the JetStream error is the cause");
    assert.ok(stored >= 1 && stored <= 4, `${stored} stored`);
    let acked = 0;
    await t.consume(`${s.prefix}.>`, "slow", (d) => void (d.ack(), acked++));
    await waitFor("the backlog acked", () => acked === stored);
    await waitFor("room again", () => t.publish(`${s.prefix}.x`, new Uint8Array(1000)).then(() => true, () => false));
  }));

test("messages published before any consumer wait for the first group (holding consumer), not with holdUntilConsumed false", async () => {
  await withTransport(async (t) => {
    const s = unique();
    await t.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`] }]);
    await t.publish(`${s.prefix}.x`, enc.encode("early"));
    const got: string[] = [];
    await t.consume(`${s.prefix}.>`, "late", (d) => void (got.push(dec.decode(d.data)), d.ack()));
    await waitFor("the early message", () => got.length === 1);
    const report = await streamReport(t);
    const stream = report.streams.find((x) => x.name === s.name)!;
    assert.equal(stream.consumers.map((c) => c.name), ["late"], "the holding consumer is gone");
  });
  await withTransport(async (t) => {
    const s = unique();
    await t.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`] }]);
    await t.publish(`${s.prefix}.x`, enc.encode("dropped"));
    const c = await t.consume(`${s.prefix}.>`, "late", (d) => d.ack());
    assert.is(await c.pending(), 0, "plain interest retention drops what nobody was interested in");
  }, { holdUntilConsumed: false });
});

test("a consumer deleted behind the transport's back is recreated and delivery resumes", () =>
  withTransport(async (t, url) => {
    const s = unique();
    await t.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`] }]);
    const got: string[] = [];
    await t.consume(`${s.prefix}.>`, "victim", (d) => void (got.push(dec.decode(d.data)), d.ack()));
    await t.publish(`${s.prefix}.x`, enc.encode("1"));
    await waitFor("the first message", () => got.length === 1);
    const nc = await connect({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(s.name, "victim");
      await waitFor("the consumer recreated", () => jsm.consumers.info(s.name, "victim").then(() => true, () => false));
    } finally {
      await nc.close();
    }
    await t.publish(`${s.prefix}.x`, enc.encode("2"));
    await waitFor("delivery after the recreation", () => got.includes("2"));
    assert.ok(t.stats().consumerRestarts >= 1);
  }));

test("publishing to a subject no stream captures fails with NoStreamError; a filter over two streams with FilterSpansStreamsError", () =>
  withTransport(async (t) => {
    const a = unique();
    const b = unique();
    const error = await t.publish(`nowhere.${a.prefix}`, enc.encode("x")).catch((e) => e);
    assert.instance(error, NoStreamError);
    await t.ensureStreams([{ name: a.name, subjects: [`span.${a.prefix}.>`] }, { name: b.name, subjects: [`span.${b.prefix}.>`] }]);
    const spans = await t.consume("span.>", "wide", () => {}).catch((e) => e);
    assert.instance(spans, FilterSpansStreamsError);
  }));

test("a plain NATS subscriber on tw.trends.> sees what the transport publishes, headers included", () =>
  withTransport(async (t, url) => {
    await t.ensureStreams([{ name: "TW_TRENDS_TEST", subjects: ["tw.trends.>"] }]);
    const nc = await connect({ servers: url });
    try {
      const seen: { subject: string; text: string; kind?: string }[] = [];
      const sub = nc.subscribe("tw.trends.>", {
        callback: (_err, msg) => void seen.push({ subject: msg.subject, text: msg.string(), kind: msg.headers?.get("x-kind") }),
      });
      await nc.flush();
      const ack = await t.publish("tw.trends.web.home", enc.encode("up"), { headers: { "x-kind": "signal" } });
      assert.is(ack.stream, "TW_TRENDS_TEST");
      await waitFor("the core subscriber", () => seen.length === 1);
      assert.equal(seen[0], { subject: "tw.trends.web.home", text: "up", kind: "signal" });
      sub.unsubscribe();
    } finally {
      await nc.close();
    }
  }));

test("streamReport shows a stream's messages and its consumers' backlog", () =>
  withTransport(async (t) => {
    const s = unique();
    await t.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`] }]);
    await t.ensureConsumer(`${s.prefix}.>`, "reader");
    for (let i = 0; i < 3; i++) await t.publish(`${s.prefix}.x`, enc.encode(`m${i}`));
    const held: Delivery[] = [];
    const c = await t.consume(`${s.prefix}.>`, "reader", (d) => void held.push(d), { maxAckPending: 1 });
    await waitFor("one delivery", () => held.length === 1);
    const report = await t.streamReport();
    const stream = report.streams.find((x) => x.name === s.name)!;
    assert.is(stream.messages, 3);
    assert.is(stream.firstSeq, 1);
    assert.is(stream.lastSeq, 3);
    assert.ok(stream.bytes > 0);
    assert.equal(stream.consumers.map((x) => [x.name, x.numPending, x.numAckPending, x.lastDeliveredSeq]), [["reader", 2, 1, 1]]);
    assert.is(await c.pending(), 3);
  }));

test("after close() publish and consume reject with TransportUnavailableError", async () => {
  const { url } = await server();
  const t = await NatsTransport.connect({ servers: url, ...quiet });
  await t.close();
  assert.instance(await t.publish("t.closed", enc.encode("x")).catch((e) => e), TransportUnavailableError);
  assert.instance(await t.consume("t.>", "g", () => {}).catch((e) => e), TransportUnavailableError);
});

test("user/password and token auth connect; wrong credentials fail with NatsAuthError", () => tolerateSocketResets(async () => {
  const withUser = await startNatsServer({ auth: { user: "tw", password: "s3cret" } });
  const withToken = await startNatsServer({ auth: { token: "t0ken" } });
  try {
    for (const [url, good] of [[withUser.url, { user: "tw", pass: "s3cret" }], [withToken.url, { token: "t0ken" }]] as const) {
      const t = await NatsTransport.connect({ servers: url, ...good, ...quiet });
      await t.ensureStreams([{ name: "AUTH", subjects: ["auth.>"] }]);
      assert.is((await t.publish("auth.x", enc.encode("ok"))).seq, 1);
      await t.close();
    }
    const badUser = await NatsTransport.connect({ servers: withUser.url, user: "tw", pass: "wrong", ...quiet }).catch((e) => e);
    assert.instance(badUser, NatsAuthError);
    assert.ok((badUser as Error).cause, "the nats.js error is the cause");
    const badToken = await NatsTransport.connect({ servers: withToken.url, token: "nope", ...quiet }).catch((e) => e);
    assert.instance(badToken, NatsAuthError);
    const refused = await NatsTransport.connect({ servers: "nats://127.0.0.1:1", connectTimeoutMs: 2000, ...quiet }).catch((e) => e);
    assert.instance(refused, TransportUnavailableError);
  } finally {
    await withUser.cleanup();
    await withToken.cleanup();
  }
}));

test("the shared nats-server stops", async () => {
  if (shared) await (await shared).cleanup();
});

test.run();
