/**
 * The transport conformance suite through the thread bridge (runtime/transport/port_transport.ts):
 * a PortTransport talking over a MessageChannel to the in-process transport it serves — the
 * same messages a worker thread exchanges, here within one thread. Then what only the bridge
 * does: decoded values cross as clones (views compacted), errors keep their class, and a
 * vanished owner fails calls instead of leaving them hanging.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MemoryFileSystem } from "../../runtime/platform/memory_fs.ts";
import { InProcessTransport } from "../../runtime/transport/in_process.ts";
import { PortTransport, servePortTransport } from "../../runtime/transport/port_transport.ts";
import { BackpressureError, TransportUnavailableError } from "../../runtime/core/errors.ts";
import type { ConsumeOptions, Delivery, StreamSpec } from "../../runtime/transport/transport.ts";
import type { MessagePortLike } from "../../runtime/platform/platform.ts";
import { transportConformance, waitFor } from "./transport.ts";

function bridged(wrapPort: (port: MessagePort) => MessagePortLike = (port) => port) {
  const owner = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" });
  const channel = new MessageChannel();
  const served = servePortTransport(channel.port1, owner);
  const transport = new PortTransport(wrapPort(channel.port2));
  return {
    transport,
    cleanup: async () => {
      await served.close();
      await owner.close();
    },
  };
}

/** Runs `body` with a bridged transport and `stream` ensured, closing everything after (also on failure). */
async function withBridge(stream: StreamSpec, body: (t: PortTransport) => Promise<void>, wrapPort?: (port: MessagePort) => MessagePortLike): Promise<void> {
  const { transport, cleanup } = bridged(wrapPort);
  try {
    await transport.ensureStreams([stream]);
    await body(transport);
  } finally {
    await transport.close();
    await cleanup();
  }
}

/** The deliveries of `filter` to group `group`, each acknowledged. */
async function acked(t: PortTransport, filter: string, group = "g", options: ConsumeOptions = {}): Promise<Delivery[]> {
  const got: Delivery[] = [];
  await t.consume(filter, group, (d) => {
    got.push(d);
    d.ack();
  }, options);
  return got;
}

transportConformance("in-process transport across a message port", async () => {
  const { transport, cleanup } = bridged();
  return { transport, cleanup };
});

test("a published value crosses as a clone, typed-array views cut to their range", () =>
  withBridge({ name: "V", subjects: ["v.>"] }, async (transport) => {
    const pool = new Float64Array(1000).map((_, i) => i);
    const value = { kind: "batch", keys: ["a", "b"], ts: pool.subarray(10, 12), nested: [{ body: new Uint8Array(8192).subarray(0, 3) }] };
    await transport.publish("v.1", new TextEncoder().encode("bytes"), { value });
    const got = await acked(transport, "v.>");
    await waitFor(() => got.length === 1, 5000, "the delivery");
    const v = got[0]!.value as typeof value;
    assert.is.not(v, value);
    assert.equal(v.keys, ["a", "b"]);
    assert.equal([...v.ts], [10, 11]);
    assert.is(v.ts.buffer.byteLength, 16, "only the view's range was copied");
    assert.is(v.nested[0]!.body.buffer.byteLength, 3);
    assert.is(new TextDecoder().decode(got[0]!.data), "bytes");
  }));

test("a value that cannot be cloned is dropped, the bytes still arrive", () =>
  withBridge({ name: "F", subjects: ["f.>"] }, async (transport) => {
    await transport.publish("f.1", new Uint8Array([1, 2, 3]), { value: { fn: () => 1 } });
    const got = await acked(transport, "f.>");
    await waitFor(() => got.length === 1, 5000, "the delivery");
    assert.is(got[0]!.value, undefined);
    assert.equal([...got[0]!.data], [1, 2, 3]);
  }));

test("a full stream's BackpressureError keeps its class and retry hint across the port", () =>
  withBridge({ name: "B", subjects: ["b.>"], maxBytes: 64 }, async (transport) => {
    // Unacknowledged bytes count once some group needs them.
    await (await transport.consume("b.>", "g", () => {})).stop();
    let caught: unknown;
    try {
      for (let i = 0; i < 10; i++) await transport.publish("b.x", new Uint8Array(40));
    } catch (err) {
      caught = err;
    }
    assert.instance(caught, BackpressureError);
    assert.type((caught as BackpressureError).retryAfterMs, "number");
  }));

test("an onDead that fails across the port is reported again, as the transport does directly", () =>
  withBridge({ name: "D", subjects: ["d.>"] }, async (transport) => {
    await transport.publish("d.1", new Uint8Array([1]));
    let calls = 0;
    await transport.consume("d.>", "g", (d) => d.term("poison"), {
      backoffMs: [20],
      onDead: async () => {
        if (++calls === 1) throw new Error("the dead-letter publish failed");
      },
    });
    await waitFor(() => calls >= 2, 5000, "a second report after the failed one");
  }));

test("what reaches a member stopped before it attached goes back to its group at once, not after the ack wait", () => {
  // Messages to the owner arrive late, as between busy threads: the stop overtakes the delivery.
  const slow = (port: MessagePort): MessagePortLike => ({
    postMessage: (m) => void setTimeout(() => port.postMessage(m), 5),
    addEventListener: (type, l) => port.addEventListener(type, l),
    start: () => port.start(),
    close: () => port.close(),
  });
  return withBridge({ name: "E", subjects: ["e.>"] }, async (transport) => {
    await transport.publish("e.1", new Uint8Array([1]));
    const first = await transport.consume("e.>", "g", () => {}, { ackWaitMs: 60_000 });
    await first.stop();
    const got = await acked(transport, "e.>", "g", { ackWaitMs: 60_000 });
    await waitFor(() => got.length === 1, 5000, "the next member gets the message well before the 60 s ack wait");
  }, slow);
});

test("when the owner is gone, calls in progress and later ones fail as unavailable", async () => {
  const channel = new MessageChannel();
  const transport = new PortTransport(channel.port2);
  // Nobody serves port1: the publish waits until the owner is declared gone.
  const inFlight = transport.publish("x.y", new Uint8Array(1));
  transport.disconnect(new TransportUnavailableError("the stages thread exited"));
  let caught: unknown;
  await inFlight.catch((e) => (caught = e));
  assert.instance(caught, TransportUnavailableError);
  let later: unknown;
  await transport.publish("x.y", new Uint8Array(1)).catch((e) => (later = e));
  assert.instance(later, TransportUnavailableError);
  channel.port1.close();
  channel.port2.close();
});

test("a value that cannot be unpacked is dropped on either side, the bytes still arrive", async () => {
  const owner = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" });
  const values = { pack: (v: unknown) => v, unpack: () => { throw new Error("cannot unpack this value"); } };
  const channel = new MessageChannel();
  const served = servePortTransport(channel.port1, owner, values);
  const transport = new PortTransport(channel.port2, values);
  try {
    await transport.ensureStreams([{ name: "U", subjects: ["u.>"] }]);
    const here: Delivery[] = [];
    await owner.consume("u.>", "owner-side", (d) => void (here.push(d), d.ack()));
    const there = await acked(transport, "u.>");
    const ack = await transport.publish("u.x", new Uint8Array([1]), { value: { any: 1 } });
    assert.is(ack.seq, 1);
    await waitFor(() => here.length === 1 && there.length === 1);
    assert.is(here[0]!.value, undefined, "published without its value");
    assert.is(there[0]!.value, undefined, "delivered without its value");
    assert.equal([...here[0]!.data], [1]);
    assert.equal([...there[0]!.data], [1]);
    // A value published on the owner's side crosses to a member here, which cannot unpack it.
    const direct = { direct: 1 };
    await owner.publish("u.x", new Uint8Array([2]), { value: direct });
    await waitFor(() => here.length === 2 && there.length === 2);
    assert.is(here[1]!.value, direct);
    assert.is(there[1]!.value, undefined, "delivered without its value");
    assert.equal([...there[1]!.data], [2]);
  } finally {
    await transport.close();
    await served.close();
    await owner.close();
  }
});

test.run();
