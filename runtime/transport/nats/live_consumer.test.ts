/**
 * Live followers (ConsumeOptions.live) on JetStream: they start at new messages and the server
 * removes them once nobody is attached, so a reader that went away never pins messages under
 * interest retention.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { startNatsServer } from "../../../test/helpers/nats_server.ts";
import { waitFor } from "../../../test/helpers/wait.ts";
import { NatsTransport } from "./mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

test("a live group sees only messages published after it attached, and is removed once unattended", async () => {
  const srv = await startNatsServer();
  const t = await NatsTransport.connect({ servers: srv.url, log: () => {} });
  const nc = await connect({ servers: srv.url });
  try {
    await t.ensureStreams([{ name: "LIVE", subjects: ["live.>"] }]);
    await t.ensureConsumer("live.>", "durable");
    await t.publish("live.a", enc.encode("before"));
    const got: string[] = [];
    const c = await t.consume("live.>", "view", (d) => void (got.push(dec.decode(d.data)), d.ack()), { live: { idleRemoveMs: 1_000 } });
    await t.publish("live.a", enc.encode("after"));
    await waitFor("the message published after attaching", () => got.length === 1);
    assert.equal(got, ["after"]);
    const jsm = await jetstreamManager(nc);
    const names = async () => {
      const out: string[] = [];
      for await (const ci of jsm.consumers.list("LIVE")) out.push(ci.name);
      return out.sort();
    };
    assert.equal(await names(), ["durable", "view"]);
    await c.stop();
    await waitFor("the unattended live consumer to be removed", async () => !(await names()).includes("view"), { timeoutMs: 15_000 });
    assert.equal(await names(), ["durable"], "the durable group stays");
  } finally {
    await nc.close();
    await t.close();
    await srv.cleanup();
  }
});

test.run();
