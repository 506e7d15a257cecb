import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertValid, ValidationError, type ValidationIssue } from "./issues.ts";
import {
  MAX_MESSAGE_ISSUES, validateAggBatch, validateDeadLetter, validateEventBatch, validateRawBatch, validateTrendSignal,
} from "./messages.ts";
import { columnsOf, eventBatch } from "./event_batch.ts";
import { float64Bytes } from "./typed_bytes.ts";
import type { AggBatch, DeadLetterEntry, EventBatch, RawBatch, TrendSignal } from "./types.ts";

const t0 = Date.UTC(2026, 0, 21, 14, 30);

const raw = (): RawBatch => ({
  stream: "clicks", batchId: "b-1", receivedAt: t0, count: 3,
  parts: [
    { batchId: "b-1", receivedAt: t0, format: "ndjson", count: 2, source: "http", body: new TextEncoder().encode('{"key":"a"}\n{"key":"b"}\n') },
    { batchId: "b-2", receivedAt: t0 + 1, format: "json", count: 1, source: "ws", body: new TextEncoder().encode('{"key":"c"}') },
  ],
});
const events = (): EventBatch => eventBatch("clicks", 3, "b-1", columnsOf([
  { key: "a", ts: t0, value: 1 },
  { key: "b.c d", ts: t0 + 1, value: 2.5, tags: { region: "eu", ok: true, n: 3 }, id: "e1" },
]));
const part0 = (b: Body) => (b.parts as Body[])[0]!;
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
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).body = [1, 2]; }, "/parts/0/body", "expected bytes (a Uint8Array), got array"],
  // Parsed events travel only with same-process bodies; from the wire they would skip validation.
  ["RawBatch", validateRawBatch, raw, (b) => { b.columns = [{ length: 1, keys: ["x"] }]; }, "/columns", "not allowed in a message from the wire"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.packed = { packed: true, keys: "x" }; }, "/packed", "not allowed in a message from the wire"],
  ["EventBatch", validateEventBatch, events, (b) => { b.columns = { length: 1, keys: ["x"] }; }, "/columns", "not allowed in a message from the wire"],
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).body = "abc"; }, "/parts/0/body", 'got string "abc"'],
  ["RawBatch", validateRawBatch, raw, (b) => { b.stream = "a.b"; }, "/stream", "expected a stream name"],
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).format = "xml"; }, "/parts/0/format", 'expected one of "json", "ndjson", "msgpack", got string "xml"'],
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).source = "smtp"; }, "/parts/0/source", "expected one of"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.count = -1; }, "/count", "expected a non-negative integer, got number -1"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.count = 2; }, "/count", "expected the sum of the parts' counts (3), got 2"],
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).count = -1; }, "/parts/0/count", "expected a non-negative integer, got number -1"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.receivedAt = "now"; }, "/receivedAt", "expected epoch milliseconds"],
  ["RawBatch", validateRawBatch, raw, (b) => { part0(b).receivedAt = 1.5; }, "/parts/0/receivedAt", "expected epoch milliseconds"],
  ["RawBatch", validateRawBatch, raw, (b) => { delete b.batchId; }, "/batchId", "expected a non-empty string, got undefined"],
  ["RawBatch", validateRawBatch, raw, (b) => { delete part0(b).batchId; }, "/parts/0/batchId", "expected a non-empty string, got undefined"],
  ["RawBatch", validateRawBatch, raw, (b) => { b.parts = []; b.count = 0; }, "/parts", "expected a non-empty array of parts, got an empty array"],
  ["RawBatch", validateRawBatch, raw, (b) => { (b.parts as unknown[])[1] = 5; }, "/parts/1", "expected a part"],
  ["EventBatch", validateEventBatch, events, (b) => { b.partition = 1.5; }, "/partition", "got number 1.5"],
  ["EventBatch", validateEventBatch, events, (b) => { b.keys = {}; }, "/keys", "expected a string of keys separated by U+0000, got object"],
  ["EventBatch", validateEventBatch, events, (b) => { b.keys = "a"; }, "/keys", "expected 2 keys separated by U+0000, got 1"],
  ["EventBatch", validateEventBatch, events, (b) => { b.keys = "a\u0000"; }, "/keys/1", "got an empty string"],
  ["EventBatch", validateEventBatch, events, (b) => { b.keys = "a\u0000b\tc"; }, "/keys/1", "control characters"],
  ["EventBatch", validateEventBatch, events, (b) => { b.count = 3; b.keys = "a\u0000b\u0000c"; b.values = float64Bytes(new Float64Array(3)); b.tagOf = new Uint8Array(12); }, "/ts", "expected 3 float64 numbers (24 bytes), got 16 bytes"],
  ["EventBatch", validateEventBatch, events, (b) => { b.ts = float64Bytes(new Float64Array([t0 + 0.5, t0])); }, "/ts/0", "expected an integer"],
  ["EventBatch", validateEventBatch, events, (b) => { b.ts = [t0, t0]; }, "/ts", "expected bytes (a Uint8Array) of float64 numbers, got array"],
  ["EventBatch", validateEventBatch, events, (b) => { b.values = float64Bytes(new Float64Array([NaN, 1])); }, "/values/0", "got NaN"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagSets = JSON.stringify([{ "x/y": [] }]); }, "/tagSets/0/x~1y", "got array"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagSets = JSON.stringify([5]); }, "/tagSets/0", "expected an object of tags, got number 5"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagSets = JSON.stringify({}); }, "/tagSets", "expected JSON text of an array of tag objects, got object"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagSets = "{nope"; }, "/tagSets", "not JSON"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagOf = new Uint8Array(4); }, "/tagOf", "expected 2 uint32 numbers (8 bytes), got 4 bytes"],
  ["EventBatch", validateEventBatch, events, (b) => { b.tagOf = new Uint8Array(new Uint32Array([0, 2]).buffer); }, "/tagOf/1", "expected 0 (no tags) to 1 (a tag set), got 2"],
  ["EventBatch", validateEventBatch, events, (b) => { delete b.tagOf; }, "/tagOf", "expected tagSets and tagOf together"],
  ["EventBatch", validateEventBatch, events, (b) => { b.ids = JSON.stringify(["", "e1"]); }, "/ids/0", "expected a non-empty string or null, got an empty string"],
  ["EventBatch", validateEventBatch, events, (b) => { b.ids = 7; }, "/ids", "expected JSON text, got number 7"],
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
  assert.equal(validateEventBatch({ ...eventBatch("clicks", 0, "b", columnsOf([{ key: "a", ts: t0, value: 1 }])), addedLater: 1 }), []);
  assert.equal(validateEventBatch(eventBatch("clicks", 0, "b", columnsOf([]))), [], "an empty batch");
  assert.equal(validateAggBatch({ partition: 0, windows: [], watermarks: {} }), []);
});

test("a Uint8Array view into a larger buffer counts as bytes in RawBatch", () => {
  const body = raw();
  body.parts[0]!.body = new Uint8Array(8).subarray(2, 4);
  assert.equal(validateRawBatch(body), []);
});

test("a batch with many broken events reports a bounded number of issues", () => {
  const n = 10_000;
  const broken = { ...events(), count: n, keys: "\u0000".repeat(n - 1), ts: float64Bytes(new Float64Array(n).fill(0.5)), values: float64Bytes(new Float64Array(n).fill(NaN)) };
  delete (broken as Body).tagSets;
  delete (broken as Body).tagOf;
  delete (broken as Body).ids;
  const issues = validateEventBatch(broken);
  assert.is(issues.length, MAX_MESSAGE_ISSUES);
  assert.is(issues[0]!.path, "/keys/0");
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
