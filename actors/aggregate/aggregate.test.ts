import { test } from "uvu";
import * as assert from "uvu/assert";
import { aggregateActor, type AggregateState } from "./aggregate.ts";
import { columnsOf, eventBatch, MessageType, type AggBatch, type CanonicalEvent, type DeadLetterEntry, type EventBatch } from "../../schemas/mod.ts";
import { fakeContext, message, type FakeContext } from "../../test/helpers/fake_ctx.ts";

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const actor = aggregateActor({
  partitions: 4,
  owned: [0, 1, 2, 3],
  windows: { defaults: { sizeMs: 10_000, maxOutOfOrderMs: 2_000, allowedLatenessMs: 0 } },
  tickMs: 1000,
  maxLateListed: 10,
});

function events(stream: string, list: [string, number][]): EventBatch {
  const evs: CanonicalEvent[] = list.map(([key, ts]) => ({ key, ts, value: 1 }));
  return eventBatch(stream, 0, "r", columnsOf(evs));
}

async function feed(state: AggregateState, ctx: FakeContext, batch: EventBatch): Promise<AggregateState> {
  return actor.receive(state, message("tw.events.0", MessageType.EventBatch, batch), ctx);
}

async function fireTimers(state: AggregateState, ctx: FakeContext): Promise<AggregateState> {
  for (const name of ctx.firedTimers.splice(0)) state = await actor.receive(state, { kind: "timer", name }, ctx);
  return state;
}

const windowsOut = (ctx: FakeContext) =>
  ctx.published.filter((p) => p.type === MessageType.AggBatch).flatMap((p) => (p.body as AggBatch).windows);

test("out-of-order events land in their window; it closes when the watermark passes; late ones are dead-lettered and counted", async () => {
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  state = await feed(state, ctx, events("s", [["a", T0 + 1_000], ["a", T0 + 9_000], ["b", T0 + 3_000]]));
  state = await feed(state, ctx, events("s", [["a", T0 + 11_500], ["a", T0 + 8_000]])); // 8_000: out of order, within bound
  assert.is(windowsOut(ctx).length, 0, "watermark T0+9.5s has not passed the first window's end");
  state = await feed(state, ctx, events("s", [["a", T0 + 12_100]])); // watermark → T0+10.1s
  const closed = windowsOut(ctx);
  assert.equal(
    closed.map((w) => [w.key, w.windowStart - T0, w.count]),
    [["a", 0, 3], ["b", 0, 1]],
  );
  assert.ok(ctx.published.every((p) => p.type !== MessageType.AggBatch || /^tw\.agg\.\d$/.test(p.subject)));
  state = await feed(state, ctx, events("s", [["a", T0 + 4_000], ["c", T0 + 12_000]])); // 4_000: its window is closed
  const dlq = ctx.published.filter((p) => p.type === MessageType.DeadLetter);
  assert.is(dlq.length, 1);
  const entry = dlq[0]!.body as DeadLetterEntry;
  assert.is(entry.subject, "tw.events.0");
  assert.match(entry.reason, "1 events arrived after their window closed");
  assert.equal((entry.payload as { lateCount: number }).lateCount, 1);
  assert.is(ctx.metrics.counter("tw_events_late_total", "").get({ stream: "s" }), 1);
  assert.is(ctx.metrics.counter("tw_events_aggregated_total", "").get({ stream: "s" }), 7);
});

test("a late event is dead-lettered whole: key, ts, value, tags and id, with the reason", async () => {
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  state = await feed(state, ctx, events("s", [["a", T0 + 1_000], ["a", T0 + 20_000]]));
  const late: CanonicalEvent[] = [
    { key: "b", ts: T0 + 2_000, value: 4, tags: { region: "eu", beta: true }, id: "e-7" },
    { key: "c", ts: T0 + 21_000, value: 1 },
    { key: "d", ts: T0 + 3_000, value: 2 },
  ];
  state = await feed(state, ctx, eventBatch("s", 0, "r2", columnsOf(late)));
  const entry = ctx.published.filter((p) => p.type === MessageType.DeadLetter).map((p) => p.body as DeadLetterEntry)[0]!;
  assert.match(entry.reason, '2 events arrived after their window closed (first: key "b" ts ' + (T0 + 2_000));
  assert.equal(entry.payload, {
    lateCount: 2,
    events: [
      { key: "b", ts: T0 + 2_000, value: 4, tags: { region: "eu", beta: true }, id: "e-7", reason: "late" },
      { key: "d", ts: T0 + 3_000, value: 2, reason: "late" },
    ],
  });
});

test("an idle stream still closes its windows on the processing-time tick", async () => {
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  state = await feed(state, ctx, events("quiet", [["k", T0 + 500], ["k", T0 + 600]]));
  assert.is(windowsOut(ctx).length, 0);
  for (let i = 0; i < 25 && windowsOut(ctx).length === 0; i++) {
    await ctx.clock.advance(1_000);
    state = await fireTimers(state, ctx);
  }
  const closed = windowsOut(ctx);
  assert.equal(closed.map((w) => [w.stream, w.key, w.count, w.partial]), [["quiet", "k", 2, undefined]]);
  assert.ok(ctx.clock.now() - T0 <= 25_000, "closed within idle timeout + window + out-of-order bound");
});

test("stop emits open windows as partial, and the checkpointed state re-emits them with full totals after a restart", async () => {
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  state = await feed(state, ctx, events("s", [["a", T0 + 1_000], ["a", T0 + 2_000]]));
  await actor.stop!(state, ctx);
  const partial = windowsOut(ctx);
  assert.equal(partial.map((w) => [w.key, w.count, w.revision, w.partial]), [["a", 2, 0, true]]);
  const { snapshot } = await actor.checkpoint!(state, ctx);

  const ctx2 = fakeContext({ now: T0 + 5_000, restored: { seqs: {}, snapshot } });
  let state2 = await actor.init(ctx2);
  state2 = await feed(state2, ctx2, events("s", [["a", T0 + 3_000], ["a", T0 + 13_000]]));
  const final = windowsOut(ctx2);
  assert.equal(final.map((w) => [w.key, w.windowStart - T0, w.count, w.revision, w.partial]), [["a", 0, 3, 1, undefined]]);
  assert.is(ctx2.published.filter((p) => p.type === MessageType.DeadLetter).length, 0, "nothing late after a graceful restart");
});

test("the bound on idle streams holds per partition: a stream has state in each partition its keys fall in, so the bound is not shared out among them", async () => {
  const bounded = aggregateActor({
    partitions: 4,
    owned: [0, 1, 2, 3],
    windows: { defaults: { sizeMs: 10_000, maxOutOfOrderMs: 2_000, allowedLatenessMs: 0 }, maxIdleStreams: 6 },
    tickMs: 1000,
    maxLateListed: 10,
  });
  const ctx = fakeContext({ now: T0 });
  let state = await bounded.init(ctx);
  const feedAll = async (stream: string, ts: number) => {
    for (let p = 0; p < 4; p++) {
      state = await bounded.receive(state, message(`tw.events.${p}`, MessageType.EventBatch, eventBatch(stream, p, "r", columnsOf([{ key: `k${p}`, ts, value: 1 }]))), ctx);
    }
  };
  for (let i = 0; i < 6; i++) await feedAll(`s${i}`, T0 + 1_000);
  // Every window closes on the idle tick: six idle streams in each partition, the bound.
  for (let i = 0; i < 30 && windowsOut(ctx).length < 24; i++) {
    await ctx.clock.advance(1_000);
    state = await fireTimers(state, ctx);
  }
  assert.is(windowsOut(ctx).length, 24, "every stream's window closed in every partition");
  await feedAll("s6", ctx.clock.now());
  await ctx.clock.advance(1_000);
  state = await fireTimers(state, ctx);
  assert.is(ctx.metrics.counter("tw_aggregate_streams_forgotten_total", "").get(), 0, "six idle streams a partition are within the bound (shared out, it was one)");
  assert.is(ctx.metrics.gauge("tw_aggregate_streams", "").get({ actor: ctx.name }), 28, "seven streams in each of four partitions");
  // s6 goes idle too: seven idle a partition, and the next new stream finds one too many in each.
  for (let i = 0; i < 30 && windowsOut(ctx).length < 28; i++) {
    await ctx.clock.advance(1_000);
    state = await fireTimers(state, ctx);
  }
  await feedAll("s7", ctx.clock.now());
  await ctx.clock.advance(1_000);
  state = await fireTimers(state, ctx);
  assert.is(ctx.metrics.counter("tw_aggregate_streams_forgotten_total", "").get(), 4, "beyond the bound, the least recently active idle stream goes in each partition");
  assert.is(ctx.metrics.gauge("tw_aggregate_streams", "").get({ actor: ctx.name }), 28);
});

test("output message ids are deterministic for the same windows (replays are dropped as duplicates)", async () => {
  const run = async () => {
    const ctx = fakeContext({ now: T0 });
    let state = await actor.init(ctx);
    state = await feed(state, ctx, events("s", [["a", T0 + 1_000], ["b", T0 + 2_000], ["a", T0 + 15_000]]));
    return ctx.published.map((p) => p.id);
  };
  const first = await run();
  assert.ok(first.length > 0);
  assert.equal(await run(), first);
});

test.run();
