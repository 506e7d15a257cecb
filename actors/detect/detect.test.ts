import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectActor, type DetectState } from "./detect.ts";
import { detectorConfig } from "./detector.ts";
import { decodeSubjectToken, MessageType, type AggBatch, type TrendSignal, type WindowAggregate } from "../../schemas/mod.ts";
import { fakeContext, message, type FakeContext } from "../../test/helpers/fake_ctx.ts";

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const W = 10_000;
const make = (maxKeys = 100) =>
  detectActor({ partitions: 1, owned: [0], detector: detectorConfig({ warmupWindows: 5 }), maxKeys, jsonSignals: true });

function win(key: string, i: number, sum: number, extra: Partial<WindowAggregate> = {}): WindowAggregate {
  return { stream: "s", key, windowStart: T0 + i * W, windowEnd: T0 + (i + 1) * W, count: sum, sum, min: 1, max: 1, revision: 0, ...extra };
}

async function feed(actor: ReturnType<typeof make>, state: DetectState, ctx: FakeContext, windows: WindowAggregate[]) {
  const batch: AggBatch = { partition: 0, windows, watermarks: {} };
  return actor.receive(state, message("tw.agg.0", MessageType.AggBatch, batch), ctx);
}

const signals = (ctx: FakeContext) => ctx.published.filter((p) => p.type === MessageType.TrendSignal);

test("a surge is signalled on tw.trends.<stream>.<encoded key>, with a JSON copy, and numbers that match the window", async () => {
  const actor = make();
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  const key = "checkout/page 1";
  for (let i = 0; i < 20; i++) state = await feed(actor, state, ctx, [win(key, i, 20 + (i % 3))]);
  assert.is(signals(ctx).length, 0, "steady windows do not signal");
  state = await feed(actor, state, ctx, [win(key, 20, 200)]);
  const [sig] = signals(ctx);
  assert.ok(sig, "surge signalled");
  const [, , stream, token] = sig!.subject.split(".");
  assert.is(stream, "s");
  assert.is(decodeSubjectToken(token!), key);
  const body = sig!.body as TrendSignal;
  assert.is(body.observed, 200);
  assert.is(body.direction, "up");
  assert.is(body.windowStart, T0 + 20 * W);
  assert.ok(body.score >= body.threshold);
  assert.match(body.explanation, "200");
  assert.is(sig!.id, `trend:s:${T0 + 20 * W}:${token}`);
  assert.is(ctx.notified.length, 1);
  assert.is(ctx.notified[0]!.subject, `tw.json.trends.s.${token}`);
  assert.equal(JSON.parse(new TextDecoder().decode(ctx.notified[0]!.data)), body);
});

test("partial windows (shutdown) and revisions of scored windows are not scored", async () => {
  const actor = make();
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  for (let i = 0; i < 20; i++) state = await feed(actor, state, ctx, [win("k", i, 20)]);
  state = await feed(actor, state, ctx, [win("k", 20, 500, { partial: true })]);
  assert.is(signals(ctx).length, 0, "a partial window is not scored");
  state = await feed(actor, state, ctx, [win("k", 20, 21, { revision: 1 })]);
  state = await feed(actor, state, ctx, [win("k", 20, 900, { revision: 2 })]);
  assert.is(signals(ctx).length, 0, "its final revision was scored once; later revisions are not");
  assert.is(ctx.metrics.counter("tw_windows_scored_total", "").get(), 21);
});

test("per-key state is bounded: the least recently updated key is evicted", async () => {
  const actor = make(3);
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  for (const [k, i] of [["a", 0], ["b", 0], ["c", 0], ["a", 1], ["d", 0]] as const) state = await feed(actor, state, ctx, [win(k, i, 5)]);
  assert.equal([...state.keys.keys()].map((id) => id.split("\u0000")[1]), ["c", "a", "d"]);
  assert.is(ctx.metrics.counter("tw_detect_keys_evicted_total", "").get(), 1);
});

test("checkpoint snapshot restores the same per-key state", async () => {
  const actor = make();
  const ctx = fakeContext({ now: T0 });
  let state = await actor.init(ctx);
  for (let i = 0; i < 10; i++) state = await feed(actor, state, ctx, [win("k", i, 20)]);
  const { snapshot } = await actor.checkpoint!(state, ctx);
  const restored = await actor.init(fakeContext({ restored: { seqs: {}, snapshot } }));
  assert.equal([...restored.keys], [...state.keys]);
});

test.run();
