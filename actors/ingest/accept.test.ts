import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode } from "@msgpack/msgpack";
import { BatchAcceptor, defaultIngestLimits } from "./accept.ts";
import { memoryLogger } from "../../runtime/core/log.ts";
import { TransportUnavailableError } from "../../runtime/core/errors.ts";

test("while storage is unavailable every request gets its 503, and the log a warning per 10 s with the count left out, then one line when it is back", async () => {
  const log = memoryLogger("info");
  let now = Date.UTC(2026, 11, 6, 20, 0, 0);
  let down = true;
  let seq = 0;
  const acceptor = new BatchAcceptor({
    publish: () => (down ? Promise.reject(new TransportUnavailableError("durable log write failed; restart to recover")) : Promise.resolve({ stream: "S", seq: ++seq, duplicate: false })),
    decodeMsgpack: (b) => decode(b),
    now: () => now,
    log,
    limits: defaultIngestLimits,
  });
  const body = new TextEncoder().encode('{"key":"a"}');
  const send = () => acceptor.accept({ stream: "clicks", format: "json", bytes: body, source: "http" });
  const statuses: number[] = [];
  for (let i = 0; i < 300; i++) {
    const result = await send();
    statuses.push(result.ok ? 202 : result.problem.status);
    now += 20; // 300 requests over 6 s
  }
  assert.ok(statuses.every((s) => s === 503), "each request is refused");
  assert.is(log.lines.length, 1, "one warning for the first 6 s");
  assert.is(log.lines[0]!.msg, "transport unavailable");
  assert.is(log.lines[0]!.suppressed, undefined);
  assert.match(JSON.stringify(log.lines[0]!.err), "restart to recover");
  now += 4_000;
  await send();
  await send();
  assert.is(log.lines.length, 2, "the next warning comes 10 s after the first");
  assert.is(log.lines[1]!.suppressed, 299, "naming the requests refused without a line of their own");
  await send(); // refused within 10 s of the last line: counted, not logged
  down = false;
  for (let i = 0; i < 3; i++) assert.ok((await send()).ok);
  assert.equal(log.lines.slice(2).map((l) => [l.level, l.msg, l.suppressed]), [["info", "transport available again", 2]], "one line, with the refusals not yet reported");
  down = true;
  await send();
  assert.equal(log.lines.slice(3).map((l) => [l.level, l.msg, l.suppressed]), [["warn", "transport unavailable", undefined]], "a new outage warns at once");
});

test.run();
