import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertValid, ValidationError, type ValidationIssue } from "./issues.ts";
import {
  MAX_MESSAGE_ISSUES, validateAggBatch, validateDeadLetter, validateEventBatch, validateRawBatch, validateTrendSignal,
} from "./messages.ts";
import type { AggBatch, DeadLetterEntry, EventBatch, RawBatch, TrendSignal } from "./types.ts";

const t0 = Date.UTC(2026, 0, 21, 14, 30);

const raw = (): RawBatch => ({
  stream: "clicks", batchId: "b-1", receivedAt: t0, format: "ndjson", count: 2, source: "http",
  body: new TextEncoder().encode('{"key":"a"}\n{"key":"b"}\n'),
});
const events = (): EventBatch => ({
  stream: "clicks", partition: 3, rawBatchId: "b-1",
  events: [{ key: "a", ts: t0, value: 1 }, { key: "b.c d", ts: t0 + 1, value: 2.5, tags: { region: "eu", ok: true, n: 3 }, id: "e1" }],
});
const agg = (): AggBatch => ({
  partition: 3,
  windows: [{ stream: "clicks", key: "a", windowStart: t0, windowEnd: t0 + 10_000, count: 3, sum: 6, min: 1, max: 3, revision: 0 }],
  watermarks: { clicks: t0 + 12_000 },
});
const signal = (): TrendSignal => ({
  stream: "clicks", key: "a", windowStart: t0, windowEnd: t0 + 10_000, observed: 40, expected: 10, spread: 3,
  score: 9.5, threshold: 4, direction: "up", detector: "poisson", explanation: "40 events vs about 10 expected", emittedAt: t0 + 12_000,
});
const dead = (): DeadLetterEntry => ({ stage: "decode", reason: "invalid event", at: t0, stream: "clicks", subject: "tw.raw.clicks", seq: 7, index: 2, payload: { key: 1 } });

type Body = Record<string, unknown>;
// [validator name, validator, good body factory, mutation, expected path, message fragment]
const cases: [string, (x: unknown) => ValidationIssue[], () => unknown, (b: Body) => void, string, string][] = [
  ["RawBatch", validateRawBatch, raw, (b) => { b.body = [1, 2]; }, "/body", "expected bytes (a Uint8Array), got array"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.body = "abc"; }, "/body", 'got string "abc"'],
  ["RawBatch", validateRawBatch, raw, (b) => { b.stream = "a.b"; }, "/stream", "expected a stream name"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.format = "xml"; }, "/format", 'expected one of "json", "ndjson", "msgpack", got string "xml"'],
  ["RawBatch", validateRawBatch, raw, (b) => { b.source = "smtp"; }, "/source", "expected one of"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.count = -1; }, "/count", "expected a non-negative integer, got number -1"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.receivedAt = "now"; }, "/receivedAt", "expected epoch milliseconds"],
  ["RawBatch", validateRawBatch, raw, (b) => { delete b.batchId; }, "/batchId", "expected a non-empty string, got undefined"],
  ["EventBatch", validateEventBatch, events, (b) => { b.partition = 1.5; }, "/partition", "got number 1.5"],
  ["EventBatch", validateEventBatch, events, (b) => { b.events = {}; }, "/events", "expected an array of events, got object"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as Body[])[1]!.key = ""; }, "/events/1/key", "got an empty string"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as Body[])[0]!.ts = 1.5; }, "/events/0/ts", "expected an integer"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as Body[])[0]!.value = NaN; }, "/events/0/value", "got NaN"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as Body[])[1]!.tags = { "x/y": [] }; }, "/events/1/tags/x~1y", "got array"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as Body[])[1]!.id = null; }, "/events/1/id", "got null"],
  ["EventBatch", validateEventBatch, events, (b) => { (b.events as unknown[])[0] = 5; }, "/events/0", "expected a canonical event"],
  ["AggBatch", validateAggBatch, agg, (b) => { b.watermarks = { clicks: "late" }; }, "/watermarks/clicks", "expected epoch milliseconds"],
  ["AggBatch", validateAggBatch, agg, (b) => { b.watermarks = { "a b": 1 }; }, "/watermarks/a b", "expected a stream name"],
  ["AggBatch", validateAggBatch, agg, (b) => { b.watermarks = null; }, "/watermarks", "got null"],
  ["AggBatch", validateAggBatch, agg, (b) => { (b.windows as Body[])[0]!.windowEnd = t0; }, "/windows/0/windowEnd", "expected windowEnd after windowStart"],
  ["AggBatch", validateAggBatch, agg, (b) => { (b.windows as Body[])[0]!.min = 5; }, "/windows/0/max", "expected max ≥ min (5), got 3"],
  ["AggBatch", validateAggBatch, agg, (b) => { (b.windows as Body[])[0]!.revision = -1; }, "/windows/0/revision", "non-negative integer"],
  ["AggBatch", validateAggBatch, agg, (b) => { (b.windows as Body[])[0]!.partial = "yes"; }, "/windows/0/partial", "boolean"],
  ["AggBatch", validateAggBatch, agg, (b) => { (b.windows as Body[])[0]!.sum = "6"; }, "/windows/0/sum", "expected a finite number"],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.direction = "sideways"; }, "/direction", 'expected one of "up", "down"'],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.spread = -1; }, "/spread", "expected a finite number ≥ 0"],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.score = Infinity; }, "/score", "got Infinity"],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.key = "a\tb"; }, "/key", "control characters"],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.explanation = 1; }, "/explanation", "expected a string"],
  ["TrendSignal", validateTrendSignal, signal, (b) => { b.windowStart = undefined; }, "/windowStart", "got undefined"],
  ["DeadLetter", validateDeadLetter, dead, (b) => { b.at = -1; }, "/at", "expected epoch milliseconds"],
  ["DeadLetter", validateDeadLetter, dead, (b) => { b.stream = null; }, "/stream", "expected a string, got null"],
  ["DeadLetter", validateDeadLetter, dead, (b) => { b.seq = "7"; }, "/seq", "non-negative integer"],
  ["DeadLetter", validateDeadLetter, dead, (b) => { b.reason = ""; }, "/reason", "got an empty string"],
];

for (const [name, validate, make] of new Map(cases.map((c) => [c[0], c])).values()) {
  test(`${name}: a good body is valid`, () => {
    assert.equal(validate(make()), []);
  });
  test(`${name}: a non-object body is rejected at the root`, () => {
    for (const x of [null, [], "x", 1, new Uint8Array(2)]) {
      const issues = validate(x);
      assert.is(issues.length, 1);
      assert.is(issues[0]!.path, "");
    }
  });
}

for (const [name, validate, make, mutate, path, fragment] of cases) {
  test(`${name}: rejects a bad ${path}`, () => {
    const body = make() as Body;
    mutate(body);
    const issues = validate(body);
    assert.is(issues.length, 1, JSON.stringify(issues));
    assert.is(issues[0]!.path, path);
    assert.ok(issues[0]!.message.includes(fragment), `${JSON.stringify(issues[0]!.message)} lacks ${JSON.stringify(fragment)}`);
  });
}

test("optional fields may be absent; unknown fields are ignored", () => {
  assert.equal(validateDeadLetter({ stage: "ingest", reason: "too large", at: t0 }), []);
  assert.equal(validateEventBatch({ ...events(), events: [{ key: "a", ts: t0, value: 1 }], addedLater: 1 }), []);
  assert.equal(validateAggBatch({ partition: 0, windows: [], watermarks: {} }), []);
});

test("a Uint8Array view into a larger buffer counts as bytes in RawBatch", () => {
  const sub = new Uint8Array(8).subarray(2, 4);
  assert.equal(validateRawBatch({ ...raw(), body: sub }), []);
});

test("a batch with many broken events reports a bounded number of issues", () => {
  const broken = Array.from({ length: 10_000 }, () => ({ key: "", ts: "x", value: "y" }));
  const issues = validateEventBatch({ ...events(), events: broken });
  assert.is(issues.length, MAX_MESSAGE_ISSUES);
  assert.is(issues[0]!.path, "/events/0/key");
});

test("assertValid returns the value or throws ValidationError with the issues", () => {
  const good = signal();
  assert.is(assertValid<TrendSignal>(validateTrendSignal, good), good);
  try {
    assertValid(validateTrendSignal, { ...good, direction: "x", spread: -2 });
    assert.unreachable("should have thrown");
  } catch (e) {
    assert.instance(e, ValidationError);
    const err = e as ValidationError;
    assert.is(err.name, "ValidationError");
    assert.equal(err.issues.map((i) => i.path), ["/spread", "/direction"]);
    assert.ok(err.message.startsWith("2 validation issues: /spread: "));
  }
});

test.run();
