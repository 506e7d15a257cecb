/**
 * The Transport contract as a test suite, run against every implementation: the in-process
 * transport always (test/conformance/in_process.test.ts) and NATS JetStream with a real server.
 *
 * It tests only the interface: each case makes a fresh transport, creates its own uniquely
 * named stream (so a shared server needs no cleanup between cases), and closes the transport
 * before calling `cleanup`. Time is real (a server cannot run on a simulated clock), so waits
 * use short ack waits and delays, and the cases wait for conditions with a generous deadline —
 * they never assert how long something took.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { DeadLetter, Delivery, Transport } from "../../runtime/transport/transport.ts";

export interface TransportFixture {
  transport: Transport;
  /** Called after the suite has closed `transport`. */
  cleanup(): Promise<void>;
}

const DEADLINE_MS = 10_000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Polls `cond` until it holds; fails after `timeoutMs`. */
export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = DEADLINE_MS, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let counter = 0;
/** A stream of its own for one case: `CONF_<id>` capturing `conf.<id>.>`. */
function freshStream(): { name: string; prefix: string } {
  const id = `${Date.now().toString(36)}${(counter++).toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  return { name: `CONF_${id}`, prefix: `conf.${id}` };
}

export function transportConformance(
  name: string,
  makeTransport: () => Promise<TransportFixture>,
): void {
  const test = suite(name);

  /** Runs `body` with a fresh transport and stream, always closing and cleaning up. */
  async function withStream(body: (t: Transport, prefix: string, stream: string) => Promise<void>): Promise<void> {
    const { transport, cleanup } = await makeTransport();
    try {
      const s = freshStream();
      await transport.ensureStreams([{ name: s.name, subjects: [`${s.prefix}.>`] }]);
      await body(transport, s.prefix, s.name);
    } finally {
      await transport.close();
      await cleanup();
    }
  }

  test("publish/consume round trip carries subject, data, headers and msgId", () =>
    withStream(async (t, prefix, stream) => {
      const ack = await t.publish(`${prefix}.a`, enc.encode("hello"), { msgId: "m-1", headers: { "x-kind": "greeting" } });
      assert.is(ack.stream, stream);
      assert.is(ack.duplicate, false);
      assert.ok(ack.seq >= 1);
      const got: Delivery[] = [];
      await t.consume(`${prefix}.>`, "rt", (d) => {
        got.push(d);
        d.ack();
      });
      await waitFor(() => got.length === 1, DEADLINE_MS, "the delivery");
      const [d] = got;
      assert.is(d.subject, `${prefix}.a`);
      assert.is(dec.decode(d.data), "hello");
      assert.is(d.seq, ack.seq);
      assert.is(d.deliveryCount, 1);
      assert.is(d.headers["x-kind"], "greeting");
      assert.is(d.msgId, "m-1");
    }));

  test("1000 publishes in flight are each consumed exactly once, in sequence order", () =>
    withStream(async (t, prefix) => {
      const acks = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => t.publish(`${prefix}.bulk`, enc.encode(String(i)))),
      );
      assert.is(new Set(acks.map((a) => a.seq)).size, 1000);
      const seqOf = new Map(acks.map((a, i) => [String(i), a.seq]));
      const got: string[] = [];
      const consumer = await t.consume(`${prefix}.>`, "bulk", (d) => {
        got.push(dec.decode(d.data));
        d.ack();
      });
      await waitFor(() => got.length >= 1000, DEADLINE_MS, "1000 deliveries");
      await waitFor(async () => (await consumer.pending()) === 0, DEADLINE_MS, "nothing pending");
      assert.is(got.length, 1000);
      assert.is(new Set(got).size, 1000);
      const seqs = got.map((p) => seqOf.get(p)!);
      for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `out of order at ${i}`);
    }));

  test("two members of one group share the work, each message to one of them", () =>
    withStream(async (t, prefix) => {
      const byMember: string[][] = [[], []];
      for (const seen of byMember) {
        await t.consume(`${prefix}.>`, "shared", async (d) => {
          seen.push(dec.decode(d.data));
          await sleep(2);
          d.ack();
        }, { maxAckPending: 4 });
      }
      await Promise.all(Array.from({ length: 100 }, (_, i) => t.publish(`${prefix}.w`, enc.encode(String(i)))));
      await waitFor(() => byMember[0].length + byMember[1].length >= 100, DEADLINE_MS, "100 deliveries");
      const all = [...byMember[0], ...byMember[1]];
      assert.is(all.length, 100);
      assert.is(new Set(all).size, 100);
      assert.ok(byMember[0].length > 0 && byMember[1].length > 0, "both members got work");
    }));

  test("two groups each get every message", () =>
    withStream(async (t, prefix) => {
      const a: string[] = [];
      const b: string[] = [];
      await t.consume(`${prefix}.>`, "group-a", (d) => void (a.push(dec.decode(d.data)), d.ack()));
      await t.consume(`${prefix}.>`, "group-b", (d) => void (b.push(dec.decode(d.data)), d.ack()));
      for (let i = 0; i < 50; i++) await t.publish(`${prefix}.x`, enc.encode(String(i)));
      await waitFor(() => a.length >= 50 && b.length >= 50, DEADLINE_MS, "both groups");
      const all = Array.from({ length: 50 }, (_, i) => String(i));
      assert.equal(a, all);
      assert.equal(b, all);
    }));

  test("a nak'd message is redelivered with a higher delivery count", () =>
    withStream(async (t, prefix) => {
      const seen: { seq: number; count: number }[] = [];
      await t.consume(`${prefix}.>`, "naker", (d) => {
        seen.push({ seq: d.seq, count: d.deliveryCount });
        if (d.deliveryCount === 1) d.nak(20);
        else d.ack();
      }, { backoffMs: [20] });
      const ack = await t.publish(`${prefix}.n`, enc.encode("again"));
      await waitFor(() => seen.length >= 2, DEADLINE_MS, "the redelivery");
      assert.equal(seen.slice(0, 2), [{ seq: ack.seq, count: 1 }, { seq: ack.seq, count: 2 }]);
    }));

  test("after maxDeliver deliveries onDead gets the message and later messages keep flowing", () =>
    withStream(async (t, prefix) => {
      const dead: DeadLetter[] = [];
      const good: string[] = [];
      let poisonDeliveries = 0;
      await t.consume(`${prefix}.>`, "maxdel", (d) => {
        const text = dec.decode(d.data);
        if (text === "poison") {
          poisonDeliveries++;
          d.nak(10);
        } else {
          good.push(text);
          d.ack();
        }
      }, { maxDeliver: 2, backoffMs: [10], onDead: (x) => void dead.push(x) });
      const poison = await t.publish(`${prefix}.p`, enc.encode("poison"), { headers: { why: "test" } });
      await t.publish(`${prefix}.p`, enc.encode("good-1"));
      await waitFor(() => dead.length === 1, DEADLINE_MS, "onDead");
      await t.publish(`${prefix}.p`, enc.encode("good-2"));
      await waitFor(() => good.length === 2, DEADLINE_MS, "the good messages");
      assert.equal(good, ["good-1", "good-2"]);
      assert.is(dead[0].seq, poison.seq);
      assert.is(dead[0].deliveryCount, 2);
      assert.is(dec.decode(dead[0].data), "poison");
      assert.is(dead[0].subject, `${prefix}.p`);
      assert.is(dead[0].headers.why, "test");
      assert.type(dead[0].reason, "string");
      assert.ok(dead[0].reason.length > 0);
      assert.is(poisonDeliveries, 2);
    }));

  test("term() hands the message to onDead with the reason and it is not redelivered", () =>
    withStream(async (t, prefix) => {
      const dead: DeadLetter[] = [];
      const seen: string[] = [];
      await t.consume(`${prefix}.>`, "termer", (d) => {
        const text = dec.decode(d.data);
        seen.push(text);
        if (text === "bad") d.term("bad input");
        else d.ack();
      }, { ackWaitMs: 200, backoffMs: [10], onDead: (x) => void dead.push(x) });
      const bad = await t.publish(`${prefix}.t`, enc.encode("bad"));
      await waitFor(() => dead.length === 1, DEADLINE_MS, "onDead");
      await t.publish(`${prefix}.t`, enc.encode("after"));
      await waitFor(() => seen.includes("after"), DEADLINE_MS, "the next message");
      assert.is(dead[0].seq, bad.seq);
      assert.is(dead[0].reason, "bad input");
      assert.is(dead[0].deliveryCount, 1);
      assert.equal(seen, ["bad", "after"]);
    }));

  test("a repeated msgId is reported duplicate and delivered once", () =>
    withStream(async (t, prefix) => {
      const first = await t.publish(`${prefix}.d`, enc.encode("once"), { msgId: "same-id" });
      const second = await t.publish(`${prefix}.d`, enc.encode("once"), { msgId: "same-id" });
      assert.is(first.duplicate, false);
      assert.is(second.duplicate, true);
      assert.is(second.seq, first.seq);
      await t.publish(`${prefix}.d`, enc.encode("sentinel"));
      const seen: string[] = [];
      await t.consume(`${prefix}.>`, "dedupe", (d) => void (seen.push(dec.decode(d.data)), d.ack()));
      await waitFor(() => seen.includes("sentinel"), DEADLINE_MS, "the sentinel");
      assert.equal(seen, ["once", "sentinel"]);
    }));

  test("order is preserved per subject", () =>
    withStream(async (t, prefix) => {
      const subjects = ["a", "b", "c"];
      await Promise.all(
        Array.from({ length: 300 }, (_, i) => t.publish(`${prefix}.${subjects[i % 3]}`, enc.encode(String(i)))),
      );
      const last = new Map<string, number>();
      let total = 0;
      let ordered = true;
      await t.consume(`${prefix}.>`, "order", (d) => {
        const n = Number(dec.decode(d.data));
        if ((last.get(d.subject) ?? -1) >= n) ordered = false;
        last.set(d.subject, n);
        total++;
        d.ack();
      });
      await waitFor(() => total >= 300, DEADLINE_MS, "300 deliveries");
      assert.ok(ordered, "a subject's messages arrived out of order");
      assert.is(total, 300);
    }));

  test("a restarted consumer skips what it acked and gets what it did not", () =>
    withStream(async (t, prefix) => {
      for (let i = 0; i < 10; i++) await t.publish(`${prefix}.r`, enc.encode(String(i)));
      const first: string[] = [];
      const c1 = await t.consume(`${prefix}.>`, "restart", (d) => {
        const text = dec.decode(d.data);
        first.push(text);
        if (Number(text) < 5) d.ack(); // the rest stay unacknowledged
      }, { ackWaitMs: 300 });
      await waitFor(() => first.length >= 10, DEADLINE_MS, "the first consumer's deliveries");
      await waitFor(async () => (await c1.pending()) === 5, DEADLINE_MS, "5 pending");
      await c1.stop();

      const second: Delivery[] = [];
      const c2 = await t.consume(`${prefix}.>`, "restart", (d) => {
        second.push(d);
        d.ack();
      }, { ackWaitMs: 300 });
      await t.publish(`${prefix}.r`, enc.encode("new"));
      await waitFor(() => second.length >= 6, DEADLINE_MS, "the redeliveries and the new message");
      await waitFor(async () => (await c2.pending()) === 0, DEADLINE_MS, "nothing pending");
      // At least once: with a 300 ms ack wait on a busy machine, JetStream may hand a message
      // out again before the first copy's ack reached it. Such a copy must be a redelivery (it
      // counts higher), never this consumer handing one delivery out twice.
      assert.equal([...new Set(second.map((d) => dec.decode(d.data)))].sort(), ["5", "6", "7", "8", "9", "new"]);
      const lastCount = new Map<string, number>();
      for (const d of second) {
        const text = dec.decode(d.data);
        if (text !== "new") assert.ok(d.deliveryCount >= 2, "a redelivery counts up");
        const before = lastCount.get(text);
        if (before !== undefined) assert.ok(d.deliveryCount > before, `${text} came twice with delivery count ${d.deliveryCount}`);
        lastCount.set(text, d.deliveryCount);
      }
    }));

  test("a handler may use its consumer: delivery starts after consume() resolves", () =>
    withStream(async (t, prefix) => {
      await t.publish(`${prefix}.c`, enc.encode("first"));
      const outcomes: string[] = [];
      const consumer = await t.consume(`${prefix}.>`, "self", async (d) => {
        try {
          outcomes.push(`pending ${await consumer.pending()}`);
        } catch {
          outcomes.push("consumer not assigned yet");
        }
        d.ack();
      });
      await waitFor(() => outcomes.length > 0, DEADLINE_MS, "the handler");
      assert.equal(outcomes, ["pending 1"]);
    }));

  test("a slow handler is never called concurrently", () =>
    withStream(async (t, prefix) => {
      let active = 0;
      let maxActive = 0;
      let done = 0;
      await t.consume(`${prefix}.>`, "slow", async (d) => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(3);
        active--;
        done++;
        d.ack();
      });
      await Promise.all(Array.from({ length: 20 }, (_, i) => t.publish(`${prefix}.s`, enc.encode(String(i)))));
      await waitFor(() => done >= 20, DEADLINE_MS, "20 handled");
      assert.is(maxActive, 1);
    }));

  test.run();
}
