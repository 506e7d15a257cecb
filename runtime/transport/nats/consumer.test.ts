/**
 * The consumer member against a real nats-server: stall recovery by the watchdog (driven by a
 * simulated clock), and the dead-letter bookkeeping the server's max_deliver does not do.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { SimulatedClock } from "../../core/clock.ts";
import type { DeadLetter, Delivery } from "../transport.ts";
import { startNatsServer, type NatsServerHandle } from "../../../test/helpers/nats_server.ts";
import { waitFor } from "../../../test/helpers/wait.ts";
import { NatsTransport } from "./mod.ts";
import { ActorSystem } from "../../core/system.ts";
import { memoryLogger } from "../../core/log.ts";
import type { ActorBehaviour } from "../../core/actor.ts";
import { MemoryCheckpointStore } from "../../store/checkpoint_store.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
let shared: Promise<NatsServerHandle> | undefined;
let n = 0;

function server(): Promise<NatsServerHandle> {
  shared ??= startNatsServer();
  return shared;
}

async function setup(options: { clock?: SimulatedClock } = {}) {
  const { url } = await server();
  const t = await NatsTransport.connect({ servers: url, log: () => {}, ...options });
  const id = `${Date.now().toString(36)}${(n++).toString(36)}`;
  const stream = `C_${id}`;
  const prefix = `c.${id}`;
  await t.ensureStreams([{ name: stream, subjects: [`${prefix}.>`] }]);
  return { t, url, stream, prefix };
}

test("a consume() left without a pull request (its consumer deleted and recreated behind its back) is restarted within 5 s", async () => {
  const clock = new SimulatedClock(Date.now());
  const { t, url, stream, prefix } = await setup({ clock });
  try {
    const got: string[] = [];
    await t.consume(`${prefix}.>`, "stalled", (d) => void (got.push(dec.decode(d.data)), d.ack()));
    await t.publish(`${prefix}.x`, enc.encode("1"));
    await waitFor("the first message", () => got.length === 1);

    // Deleting the consumer ends the client's pull request (409); recreating it at once
    // leaves nats.js waiting for two missed heartbeats (10 s here) before it pulls again.
    const nc = await connect({ servers: url });
    try {
      const jsm = await jetstreamManager(nc);
      const { config } = await jsm.consumers.info(stream, "stalled");
      await jsm.consumers.delete(stream, "stalled");
      // The transport may be recreating it at the same moment; nats-server 2.12 can then fail
      // one of the two creates with a file-store error (the old consumer's directory is still
      // being removed). Either way the consumer must come back.
      await jsm.consumers.add(stream, config).catch(() => undefined);
      await waitFor("the consumer back", () => jsm.consumers.info(stream, "stalled").then(() => true, () => false));
    } finally {
      await nc.close();
    }
    await t.publish(`${prefix}.x`, enc.encode("2"));
    // Each probe moves the watchdog's clock one interval on. Within 5 s of real time only the
    // member's check() — run on the iterator's consumer_deleted status or by the watchdog,
    // whichever sees the stall — can bring the message, not nats.js's heartbeat recovery.
    await waitFor("delivery after the stall", async () => {
      await clock.advance(5000);
      return got.includes("2");
    }, { timeoutMs: 5000, intervalMs: 100 });
    assert.equal(got, ["1", "2"]);
    assert.ok(t.stats().consumerRestarts >= 1);
  } finally {
    await t.close();
  }
});

test("a delivery past maxDeliver after ack waits ran out goes to onDead with its data, then is acked", async () => {
  const { t, prefix } = await setup();
  try {
    const seen: number[] = [];
    const dead: DeadLetter[] = [];
    const c = await t.consume(`${prefix}.>`, "forgetful", (d) => void seen.push(d.deliveryCount), {
      ackWaitMs: 300, maxDeliver: 2, onDead: (x) => void dead.push(x),
    });
    const ack = await t.publish(`${prefix}.p`, enc.encode("never settled"), { headers: { k: "v" } });
    await waitFor("onDead", () => dead.length === 1);
    assert.equal(seen, [1, 2], "the handler saw it maxDeliver times");
    assert.is(dead[0].seq, ack.seq);
    assert.is(dead[0].deliveryCount, 2);
    assert.is(dec.decode(dead[0].data), "never settled");
    assert.is(dead[0].headers.k, "v");
    assert.is(dead[0].reason, "max deliveries (2) reached");
    await waitFor("acked for the group", async () => (await c.pending()) === 0);
    assert.is(t.stats().deadLetters, 1);
  } finally {
    await t.close();
  }
});

test("when onDead throws the message comes back to onDead, not to the handler", async () => {
  const { t, prefix } = await setup();
  try {
    const handled: string[] = [];
    const reports: string[] = [];
    const c = await t.consume(`${prefix}.>`, "flaky-dlq", (d: Delivery) => {
      handled.push(dec.decode(d.data));
      d.term("bad input");
    }, {
      backoffMs: [50],
      onDead: (x) => {
        reports.push(x.reason);
        if (reports.length === 1) throw new Error("dead-letter stream unavailable");
      },
    });
    await t.publish(`${prefix}.p`, enc.encode("poison"));
    await waitFor("the second report", () => reports.length === 2);
    await waitFor("acked for the group", async () => (await c.pending()) === 0);
    assert.equal(handled, ["poison"]);
    assert.equal(reports, ["bad input", "bad input"]);
  } finally {
    await t.close();
  }
});

test("a checkpointed actor that crashes with input outstanding folds it in stream order after its restart", async () => {
  // nats-server's redelivery queue is in hand-back order, not stream order: a message nak'd
  // while the crashed member's pull request is still open goes to the back. Folded late, its
  // events were judged late by aggregate and dead-lettered (a CI run of the NATS e2e test).
  const { t, stream, prefix } = await setup();
  const system = new ActorSystem({ transport: t, log: memoryLogger("error"), checkpoints: new MemoryCheckpointStore(), maxDeliver: 3, ackWaitMs: 2_000, mailboxCapacity: 4 });
  let crashed = false;
  /** What each incarnation folded: the restarted one starts again from the last checkpoint. */
  const incarnations: number[][] = [];
  const behaviour: ActorBehaviour<{ n: number }> = {
    kind: "ordered",
    inputs: [{ filter: `${prefix}.in`, group: `ordered-${stream}`, type: "n", ack: "checkpoint" }],
    checkpointIntervalMs: 200,
    init: (ctx) => {
      incarnations.push([]);
      return (ctx.restored()?.snapshot as { n: number } | undefined) ?? { n: 0 };
    },
    async receive(state, input) {
      if (input.kind !== "message") return state;
      if (input.seq === 10 && !crashed) {
        crashed = true;
        throw new Error("crash with input outstanding");
      }
      await new Promise((r) => setTimeout(r, 10));
      incarnations.at(-1)!.push(input.seq);
      return { n: state.n + 1 };
    },
    checkpoint: (state) => ({ state, snapshot: state }),
  };
  const sup = await system.startSupervisor("root", { strategy: "one_for_one", intensity: 50, periodMs: 60_000, backoff: { initialMs: 100, maxMs: 100 }, children: [system.actor("ordered", behaviour)] });
  try {
    for (let i = 1; i <= 40; i++) await system.publish(`${prefix}.in`, "n", i);
    await waitFor("every input folded", () => new Set(incarnations.flat()).size === 40, { timeoutMs: 30_000 });
    assert.ok(crashed);
    assert.is(incarnations.length, 2);
    for (const folded of incarnations) {
      const outOfOrder = folded.filter((seq, i) => i > 0 && seq < Math.max(...folded.slice(0, i)));
      assert.equal(outOfOrder, [], `folded in stream order: ${folded.join(" ")}`);
    }
  } finally {
    await sup.stop();
    await t.close();
  }
});

test("the shared nats-server stops", async () => {
  if (shared) await (await shared).cleanup();
});

test.run();
