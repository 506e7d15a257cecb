import { test } from "uvu";
import * as assert from "uvu/assert";
import { DrainWatch, backlogMessages, consumersIdle, lastSeq, parseJsz } from "./jetstream_monitor.ts";

/** A `/jsz?consumers=true` answer as nats-server 2.12 shapes it (only the fields read). */
function jsz(streams: { name: string; last: number; consumers: [string, number, number][] }[]): unknown {
  return {
    streams: streams.length,
    account_details: [
      {
        name: "$G",
        stream_detail: streams.map((s) => ({
          name: s.name,
          state: { messages: 0, last_seq: s.last },
          consumer_detail: s.consumers.map(([name, pending, ackPending]) => ({ stream_name: s.name, name, num_pending: pending, num_ack_pending: ackPending, num_redelivered: 0 })),
        })),
      },
    ],
  };
}

const idle = (raw = 10, events = 40, agg = 3) => [
  { name: "TW_RAW", last: raw, consumers: [["decode", 0, 0], ["persist-raw", 0, 0]] as [string, number, number][] },
  { name: "TW_EVENTS", last: events, consumers: [["aggregate-p0", 0, 0]] as [string, number, number][] },
  { name: "TW_AGG", last: agg, consumers: [["detect-p0", 0, 0], ["persist-agg", 0, 0]] as [string, number, number][] },
  { name: "TW_DLQ", last: 7, consumers: [["persist-dlq", 2, 0]] as [string, number, number][] },
];

test("parseJsz reads streams, last sequences and consumer counts", () => {
  const streams = parseJsz(jsz(idle()));
  assert.is(streams.length, 4);
  assert.is(lastSeq(streams, "TW_DLQ"), 7);
  assert.is(lastSeq(streams, "TW_MISSING"), 0);
  assert.equal(streams[0]!.consumers[0], { name: "decode", pending: 0, ackPending: 0, redelivered: 0 });
});

test("idle only when no consumer of TW_RAW, TW_EVENTS, TW_AGG has pending or unacknowledged messages; TW_DLQ and the holding consumer do not count", () => {
  assert.ok(consumersIdle(parseJsz(jsz(idle()))), "a DLQ backlog does not hold the pipeline up");
  const busy = idle();
  busy[1]!.consumers.push(["aggregate-p1", 0, 1]);
  assert.not.ok(consumersIdle(parseJsz(jsz(busy))), "delivered but unacknowledged counts");
  const held = idle();
  held[2]!.consumers.push(["TW_HOLD", 9, 0]);
  assert.ok(consumersIdle(parseJsz(jsz(held))));
  assert.not.ok(consumersIdle(parseJsz(jsz(idle().slice(0, 2)))), "a missing stream is not drained");
});

test("backlogMessages is the largest backlog of one consumer per stream", () => {
  const s = idle();
  s[0]!.consumers = [["decode", 5, 2], ["persist-raw", 1, 0]];
  assert.equal(backlogMessages(parseJsz(jsz(s))), { TW_RAW: 7, TW_EVENTS: 0, TW_AGG: 0 });
});

test("DrainWatch: drained only after two idle looks with the same sequences, dated at the first", () => {
  const w = new DrainWatch();
  assert.equal(w.observe(parseJsz(jsz(idle(10, 40))), 100), { drained: false, since: 100 });
  // A stage published downstream between the looks: sequences moved, so not yet.
  assert.equal(w.observe(parseJsz(jsz(idle(10, 41))), 150), { drained: false, since: 150 });
  assert.equal(w.observe(parseJsz(jsz(idle(10, 41))), 200), { drained: true, since: 150 });
  const busy = idle(10, 41);
  busy[0]!.consumers[0]![1] = 1;
  assert.equal(w.observe(parseJsz(jsz(busy)), 250), { drained: false, since: 250 });
  assert.equal(w.observe(parseJsz(jsz(idle(10, 41))), 300), { drained: false, since: 300 }, "a busy look starts over");
});

test.run();
