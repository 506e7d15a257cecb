import { test } from "uvu";
import * as assert from "uvu/assert";
import { Mailbox } from "./mailbox.ts";
import { settle } from "./clock.ts";

test("put waits while full and resumes as items are taken (bounded, FIFO)", async () => {
  const box = new Mailbox<number>(2);
  const done: number[] = [];
  for (let i = 0; i < 5; i++) void box.put(i).then(() => done.push(i));
  await settle();
  assert.equal(done, [0, 1]);
  assert.is(box.size, 2);
  assert.is(await box.take(), 0);
  await settle();
  assert.equal(done, [0, 1, 2]);
  assert.is(box.size, 2, "never more than capacity");
  const rest = [await box.take(), await box.take(), await box.take(), await box.take()];
  assert.equal(rest, [1, 2, 3, 4]);
});

test("system messages bypass the bound; close lets takers drain then ends", async () => {
  const box = new Mailbox<string>(1);
  await box.put("a");
  assert.ok(box.putSystem("timer"));
  assert.is(box.size, 2);
  const blocked = box.put("b");
  box.close();
  assert.is(await blocked, false, "a waiting put is released with false on close");
  assert.is(await box.take(), "a");
  assert.is(await box.take(), "timer");
  assert.is(await box.take(), undefined);
  assert.is(await box.put("c"), false);
});

test("a waiting taker gets the next item directly", async () => {
  const box = new Mailbox<number>(4);
  const taken = box.take();
  await box.put(7);
  assert.is(await taken, 7);
  assert.is(box.size, 0);
});

test("a taken item is no longer held by the mailbox, also while the queue never empties", async () => {
  // The test command runs both runtimes with gc exposed (scripts/test.mjs).
  const gc = (globalThis as { gc?: () => void }).gc;
  assert.type(gc, "function", "gc is not exposed: run through scripts/test.mjs");
  const box = new Mailbox<{ bytes: Uint8Array }>(8);
  const taken: WeakRef<object>[] = [];
  // Steady load: one item always waits behind the one taken, as in a busy stage.
  await box.put({ bytes: new Uint8Array(1024) });
  for (let i = 0; i < 200; i++) {
    await box.put({ bytes: new Uint8Array(1024) });
    taken.push(new WeakRef((await box.take())!));
  }
  assert.is(box.size, 1);
  // WeakRef targets stay alive until the current job ends.
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc!();
  const alive = taken.filter((r) => r.deref() !== undefined).length;
  assert.is(alive, 0, `${alive} of 200 taken items are still reachable`);
});

test.run();
