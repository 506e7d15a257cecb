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
import { settle, SimulatedClock } from "../../runtime/core/clock.ts";
import type { ConsumeOptions, Delivery, StreamSpec, Transport } from "../../runtime/transport/transport.ts";
import type { MessagePortLike } from "../../runtime/platform/platform.ts";
import { syncCountingFs } from "../helpers/counting_fs.ts";
import { currentPlatform } from "../../runtime/platform/current.ts";
import { transportConformance, waitFor } from "./transport.ts";

function bridged(wrapPort: (port: MessagePort) => MessagePortLike = (port) => port) {
  const owner = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" });
  const channel = new MessageChannel();
  const served = servePortTransport(channel.port1, owner);
  const transport = new PortTransport(wrapPort(channel.port2));
  return {
    transport,
    owner,
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
async function acked(t: Transport, filter: string, group = "g", options: ConsumeOptions = {}): Promise<Delivery[]> {
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

test("a delivery the other side holds unsettled keeps no decoded value on the owner's side", async () => {
  // The test command runs both runtimes with gc exposed (scripts/test.mjs).
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.type(gc, "function", "gc is not exposed: run through scripts/test.mjs");
  const { transport: member, owner, cleanup } = bridged();
  try {
    await owner.ensureStreams([{ name: "V", subjects: ["v.>"] }]);
    const held: Delivery[] = [];
    await member.consume("v.>", "g", (d) => void held.push(d)); // never settled
    const values: WeakRef<object>[] = [];
    // Made in a function of its own, so that no variable of this test's frame holds one.
    const publishOne = (i: number) => {
      const value = { rows: Array.from({ length: 100 }, (_, j) => ({ key: `k${j}`, n: i })) };
      values.push(new WeakRef(value));
      return owner.publish("v.1", new TextEncoder().encode(`m${i}`), { value });
    };
    await Promise.all(Array.from({ length: 20 }, (_, i) => publishOne(i)));
    await waitFor(() => held.length === 20, 5000, "20 deliveries held on the member's side");
    assert.ok(held.every((d) => d.value !== undefined), "the member got each value (its own clone)");
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc!();
    const alive = values.filter((r) => r.deref() !== undefined).length;
    assert.is(alive, 0, `${alive} of 20 values are still reachable on the owner's side`);
  } finally {
    await member.close();
    await cleanup();
  }
});

test("a log that flushes on its own thread (blockingIo) still shares one flush among the publishes waiting as port messages", async () => {
  const platform = await currentPlatform();
  // MemoryFileSystem's calls settle at once: the flush takes its thread, as a blocking one does.
  const counting = syncCountingFs(new MemoryFileSystem());
  const owner = new InProcessTransport({ fs: counting.fs, dir: "data/.log", blockingIo: { deferFlush: (flush) => platform.afterPendingMessages(flush) } });
  const channel = new MessageChannel();
  const served = servePortTransport(channel.port1, owner);
  const member = new PortTransport(channel.port2);
  try {
    await member.ensureStreams([{ name: "G", subjects: ["g.>"] }]);
    const before = counting.syncs();
    const acks = await Promise.all(Array.from({ length: 64 }, (_, i) => member.publish("g.1", new TextEncoder().encode(`m${i}`))));
    assert.is(new Set(acks.map((a) => a.seq)).size, 64);
    // Flushed a microtask after each message instead, each publish took a sync of its own (64).
    const syncs = counting.syncs() - before;
    assert.ok(syncs <= 4, `64 publishes over the port took ${syncs} syncs`);
  } finally {
    await member.close();
    await served.close();
    await owner.close();
  }
});

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

test("an error crosses with its causes (a failed log write's reason is its cause)", async () => {
  const channel = new MessageChannel();
  const failing = {
    publish: async () => {
      throw new TransportUnavailableError("durable log write failed; restart to recover", undefined, { cause: new Error("ENOSPC: no space left on device") });
    },
  } as unknown as Transport;
  const served = servePortTransport(channel.port1, failing);
  const transport = new PortTransport(channel.port2);
  try {
    let caught: unknown;
    await transport.publish("x.y", new Uint8Array([1])).catch((e) => (caught = e));
    assert.instance(caught, TransportUnavailableError);
    assert.match(String(((caught as Error).cause as Error | undefined)?.message), /ENOSPC/);
  } finally {
    await transport.close();
    await served.close();
  }
});

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

test("an ack after the member's stop still counts, as with the transport itself (an actor stops its inputs, then drains and acknowledges)", async () => {
  for (const through of ["directly", "across the port"]) {
    const clock = new SimulatedClock(0);
    const owner = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log", clock });
    const channel = new MessageChannel();
    const served = servePortTransport(channel.port1, owner);
    const transport = through === "directly" ? owner : new PortTransport(channel.port2);
    try {
      await transport.ensureStreams([{ name: "A", subjects: ["a.>"] }]);
      await transport.publish("a.1", new Uint8Array([1]));
      const held: Delivery[] = [];
      const first = await transport.consume("a.>", "g", (d) => void held.push(d), { ackWaitMs: 1000 });
      await waitFor(() => held.length === 1, 5000, "the first delivery");
      await first.stop();
      held[0]!.ack();
      const got = await acked(transport, "a.>", "g", { ackWaitMs: 1000 });
      await settle(10);
      await clock.advance(5000); // well past the ack wait: an unsettled message would be due again
      await transport.publish("a.2", new Uint8Array([2]));
      await waitFor(() => got.length >= 1, 5000, "the message after it");
      await settle(10);
      assert.equal(got.map((d) => d.seq), [2], `${through}: the acknowledged message is not delivered again`);
    } finally {
      if (transport !== owner) await transport.close();
      await served.close();
      await owner.close();
      channel.port2.close();
    }
  }
});

test("a publish under way when the owner stops serving is still answered; a later call fails as unavailable", async () => {
  const owner = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" });
  const channel = new MessageChannel();
  let served!: { close(): Promise<void> };
  let closing: Promise<void> | undefined;
  // The owner stops serving while the publish is being made durable.
  const publish = owner.publish.bind(owner);
  owner.publish = (...args) => {
    const stored = publish(...args);
    closing ??= served.close();
    return stored;
  };
  served = servePortTransport(channel.port1, owner);
  const transport = new PortTransport(channel.port2);
  try {
    await transport.ensureStreams([{ name: "C", subjects: ["c.>"] }]);
    const ack = await transport.publish("c.1", new Uint8Array([1]));
    assert.is(ack.seq, 1, "answered with its ack, not left to fail as 'nothing stored'");
    await closing;
  } finally {
    channel.port2.close();
    await owner.close();
  }
  const owner2 = new InProcessTransport({ fs: new MemoryFileSystem(), dir: "data/.log" });
  const channel2 = new MessageChannel();
  const served2 = servePortTransport(channel2.port1, owner2);
  const transport2 = new PortTransport(channel2.port2);
  try {
    await transport2.ensureStreams([{ name: "C", subjects: ["c.>"] }]);
    const outcome = (p: Promise<unknown>) => p.then(() => "stored", (e: unknown) => e);
    const closed = served2.close();
    const whileClosing = outcome(transport2.publish("c.1", new Uint8Array([1])));
    await closed;
    const afterwards = outcome(transport2.publish("c.2", new Uint8Array([2])));
    assert.instance(await whileClosing, TransportUnavailableError);
    assert.instance(await afterwards, TransportUnavailableError, "failed at once, not left waiting for an answer");
  } finally {
    channel2.port2.close();
    await owner2.close();
  }
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
