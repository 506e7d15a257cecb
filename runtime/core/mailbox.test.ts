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

test.run();
