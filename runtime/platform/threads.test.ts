/**
 * The platform's threads (Node worker_threads, Deno Web Workers) as the stages thread uses
 * them: messages both ways, the thread's own parentPort(), and a failure reported through
 * `failed` (which the pipeline turns into a non-zero exit) — but not a terminate().
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { currentPlatform } from "./current.ts";
import type { ThreadHandle } from "./platform.ts";

const here = import.meta.url;
const fixture = new URL(`../../test/helpers/thread_fixture${here.slice(here.lastIndexOf("."))}`, here);

function nextMessage(thread: ThreadHandle): Promise<unknown> {
  return new Promise((resolve) => {
    let done = false;
    thread.port.addEventListener("message", ({ data }) => {
      if (!done) {
        done = true;
        resolve(data);
      }
    });
    thread.port.start?.();
  });
}

test("a thread answers over its port, and parentPort() is undefined on the main thread", async () => {
  const platform = await currentPlatform();
  assert.is(platform.parentPort(), undefined);
  assert.ok(platform.cpuCount() >= 1);
  const thread = platform.startThread(fixture);
  try {
    assert.is(await nextMessage(thread), "ready");
    const echoed = nextMessage(thread);
    thread.port.postMessage({ n: 42, bytes: new Uint8Array([1, 2]) });
    const reply = (await echoed) as { echo: { n: number; bytes: Uint8Array } };
    assert.is(reply.echo.n, 42);
    assert.equal([...reply.echo.bytes], [1, 2]);
  } finally {
    await thread.terminate();
  }
  let failedAfterTerminate = false;
  void thread.failed.then(() => (failedAfterTerminate = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.is(failedAfterTerminate, false, "terminate() is not a failure");
});

test("an uncaught error in a thread settles its failed promise with the error", async () => {
  const platform = await currentPlatform();
  const thread = platform.startThread(fixture);
  try {
    assert.is(await nextMessage(thread), "ready");
    thread.port.postMessage("throw");
    const error = await Promise.race([thread.failed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.instance(error, Error);
    assert.match(String((error as Error).message), /failed on purpose/);
  } finally {
    await thread.terminate();
  }
});

test.run();
