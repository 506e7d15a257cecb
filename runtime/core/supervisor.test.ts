import { test } from "uvu";
import * as assert from "uvu/assert";
import { SimulatedClock, settle } from "./clock.ts";
import { memoryLogger } from "./log.ts";
import { EscalationError } from "./errors.ts";
import { Supervisor, type Child, type ChildSpec, type SupervisorSpec } from "./supervisor.ts";

/** A child that crashes when told to; records starts and stops. */
function controllable(id: string, events: string[], options: { failStarts?: number } = {}) {
  let crash: ((e: Error) => void) | undefined;
  let failStarts = options.failStarts ?? 0;
  const spec: ChildSpec = {
    id,
    async start(): Promise<Child> {
      if (failStarts > 0) {
        failStarts--;
        events.push(`${id}:start-failed`);
        throw new Error(`${id} cannot start`);
      }
      events.push(`${id}:start`);
      let resolve!: (e: Error | undefined) => void;
      const exited = new Promise<Error | undefined>((r) => (resolve = r));
      crash = (e) => resolve(e);
      return {
        exited,
        stop: async () => {
          events.push(`${id}:stop`);
          resolve(undefined);
        },
      };
    },
  };
  return { spec, crash: (msg = "boom") => crash?.(new Error(msg)) };
}

const base = (children: ChildSpec[], over: Partial<SupervisorSpec> = {}): SupervisorSpec => ({
  strategy: "one_for_one",
  intensity: 3,
  periodMs: 10_000,
  backoff: { initialMs: 100, maxMs: 1_000 },
  children,
  ...over,
});

test("one_for_one restarts only the crashed child, after an exponential backoff", async () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const a = controllable("a", events);
  const b = controllable("b", events);
  const sup = await new Supervisor("root", base([a.spec, b.spec]), { clock, log: memoryLogger() }).start();
  assert.equal(events, ["a:start", "b:start"]);
  a.crash();
  await settle();
  await clock.advance(99);
  assert.equal(events, ["a:start", "b:start"], "not restarted before the backoff");
  await clock.advance(1);
  assert.equal(events, ["a:start", "b:start", "a:start"]);
  a.crash();
  await settle();
  await clock.advance(199);
  assert.is(events.length, 3, "second restart waits twice as long");
  await clock.advance(1);
  assert.equal(events.slice(3), ["a:start"]);
  assert.is(sup.restartCount, 2);
  await sup.stop();
  assert.equal(events.slice(4), ["b:stop", "a:stop"], "stops in reverse start order");
  assert.is(await sup.exited, undefined);
});

test("rest_for_one restarts the crashed child and the ones started after it", async () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const a = controllable("a", events);
  const b = controllable("b", events);
  const c = controllable("c", events);
  const sup = await new Supervisor("root", base([a.spec, b.spec, c.spec], { strategy: "rest_for_one" }), { clock, log: memoryLogger() }).start();
  events.length = 0;
  b.crash();
  await settle();
  assert.equal(events, ["c:stop"], "younger sibling stopped first");
  await clock.advance(100);
  assert.equal(events, ["c:stop", "b:start", "c:start"]);
  await sup.stop();
});

test("exceeding the intensity escalates: children stopped, exited with EscalationError", async () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const a = controllable("a", events);
  const sibling = controllable("sibling", events);
  const sup = await new Supervisor("root", base([a.spec, sibling.spec], { intensity: 2 }), { clock, log: memoryLogger() }).start();
  for (let i = 0; i < 2; i++) {
    a.crash();
    await settle();
    await clock.advance(1_000);
  }
  assert.equal(events.filter((e) => e === "sibling:start").length, 1, "sibling kept running through restarts");
  assert.ok(!events.includes("sibling:stop"));
  a.crash();
  await settle();
  const reason = await sup.exited;
  assert.instance(reason, EscalationError);
  assert.is((reason as EscalationError).child, "a");
  assert.ok(events.includes("sibling:stop"), "escalation stops the other children");
});

test("restarts outside the period do not accumulate toward the intensity", async () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const a = controllable("a", events);
  const sup = await new Supervisor("root", base([a.spec], { intensity: 1, periodMs: 1_000 }), { clock, log: memoryLogger() }).start();
  for (let i = 0; i < 5; i++) {
    a.crash();
    await settle();
    await clock.advance(2_000);
  }
  assert.is(events.filter((e) => e === "a:start").length, 6);
  await sup.stop();
  assert.is(await sup.exited, undefined);
});

test("a child that fails to start is retried like a crash", async () => {
  const clock = new SimulatedClock();
  const events: string[] = [];
  const a = controllable("a", events, { failStarts: 2 });
  const sup = await new Supervisor("root", base([a.spec]), { clock, log: memoryLogger() }).start();
  await clock.advance(100);
  await clock.advance(200);
  assert.equal(events, ["a:start-failed", "a:start-failed", "a:start"]);
  await sup.stop();
});

test.run();
