/**
 * A thread for runtime/platform/threads.test.ts: echoes each message back with its own
 * platform's parentPort(); on "throw" it fails with an uncaught error.
 */
import { currentPlatform } from "../../runtime/platform/current.ts";

const platform = await currentPlatform();
const parent = platform.parentPort();
if (!parent) throw new Error("thread_fixture runs as a thread");
parent.addEventListener("message", ({ data }) => {
  if (data === "throw") setTimeout(() => {
    throw new Error("thread fixture failed on purpose");
  }, 0);
  else parent.postMessage({ echo: data });
});
parent.start?.();
parent.postMessage("ready");
