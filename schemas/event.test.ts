import { test } from "uvu";
import * as assert from "uvu/assert";
import { defaultEventLimits, parseEvent, parseEvents } from "./event.ts";
import type { ValidationIssue } from "./issues.ts";

const receivedAt = Date.UTC(2026, 0, 22, 0, 0, 0);
const ms = (iso: string) => new Date(iso).getTime();

function issuesOf(input: unknown, limits?: Parameters<typeof parseEvent>[1]["limits"]): ValidationIssue[] {
  const r = parseEvent(input, limits === undefined ? { receivedAt } : { receivedAt, limits });
  if (r.ok) throw new Error(`expected ${JSON.stringify(input)} to be rejected, got ${JSON.stringify(r.event)}`);
  return r.issues;
}

const manyTags = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`t${i}`, i]));

// [name, input, expected path, expected message fragment]
const bad: [string, unknown, string, string][] = [
  ["a number", 42, "", "expected an event object {key, ts, value, tags, id}, got number 42"],
  ["an array", [{ key: "a" }], "", "got array"],
  ["null", null, "", "got null"],
  ["a class instance", new Date(0), "", "got object"],
  ["missing key", {}, "/key", "key is required"],
  ["numeric key", { key: 5 }, "/key", "expected a non-empty string of at most 256 UTF-8 bytes, got number 5"],
  ["empty key", { key: "" }, "/key", "got an empty string"],
  ["257-byte ASCII key", { key: "x".repeat(257) }, "/key", "got 257 bytes"],
  ["258-byte two-byte-char key", { key: "é".repeat(129) }, "/key", "got 258 bytes"],
  ["newline in key", { key: "a\nb" }, "/key", "expected no control characters, got U+000A at index 1"],
  ["NUL in key", { key: "\u0000" }, "/key", "U+0000 at index 0"],
  ["C1 control in key", { key: "ab\u0085" }, "/key", "U+0085 at index 2"],
  ["unpaired surrogate in key", { key: "a\ud800b" }, "/key", "unpaired surrogate U+D800 at index 1"],
  ["unknown field", { key: "k", vale: 3 }, "/vale", 'unknown field "vale" (allowed: key, ts, value, tags, id)'],
  ["unknown field with a slash", { key: "k", "a/b": 1 }, "/a~1b", 'unknown field "a/b"'],
  ["NaN value", { key: "k", value: NaN }, "/value", "expected a finite number, got NaN"],
  ["Infinity value", { key: "k", value: -Infinity }, "/value", "got -Infinity"],
  ["numeric string value", { key: "k", value: "12" }, "/value", 'got string "12" (numeric strings are not converted'],
  ["null value", { key: "k", value: null }, "/value", "got null"],
  ["boolean value", { key: "k", value: true }, "/value", "got boolean true"],
  ["seconds timestamp", { key: "k", ts: 1769000000 }, "/ts", "looks like epoch seconds"],
  ["NaN timestamp", { key: "k", ts: NaN }, "/ts", "expected finite epoch milliseconds, got NaN"],
  ["negative timestamp", { key: "k", ts: -5 }, "/ts", "expected a time from 2000-01-01T00:00:00.000Z"],
  ["boolean timestamp", { key: "k", ts: true }, "/ts", "got boolean true"],
  ["zone-less ISO string", { key: "k", ts: "2026-01-21T14:30:00" }, "/ts", "without one the time is ambiguous"],
  ["date alone", { key: "k", ts: "2026-01-21" }, "/ts", "got the date alone"],
  ["time without date", { key: "k", ts: "14:30:00Z" }, "/ts", "a time without a date"],
  ["prose timestamp", { key: "k", ts: "yesterday" }, "/ts", 'expected an ISO-8601 date-time with a zone such as "2026-01-21T14:30:00Z", got string "yesterday"'],
  ["ISO before 2000", { key: "k", ts: "1999-12-31T23:59:59Z" }, "/ts", "expected a time from 2000-01-01T00:00:00.000Z to before 2100-01-01T00:00:00.000Z"],
  ["ms at 2100-01-01", { key: "k", ts: Date.UTC(2100, 0, 1) }, "/ts", "to before 2100-01-01"],
  ["offset pushes before 2000", { key: "k", ts: "2000-01-01T00:30:00+01:00" }, "/ts", "(1999-12-31T23:30:00.000Z)"],
  ["February 30", { key: "k", ts: "2026-02-30T00:00:00Z" }, "/ts", "expected a valid calendar date"],
  ["February 29 of a non-leap year", { key: "k", ts: "2027-02-29T00:00:00Z" }, "/ts", "valid calendar date"],
  ["hour 25", { key: "k", ts: "2026-01-21T25:00:00Z" }, "/ts", "expected a valid time of day"],
  ["offset +24:00", { key: "k", ts: "2026-01-21T10:00:00+24:00" }, "/ts", "zone offset of at most ±23:59"],
  ["bad tag name", { key: "k", tags: { "bad name": 1 } }, "/tags/bad name", 'expected a tag name of 1..64 characters [A-Za-z0-9_.:-], got string "bad name"'],
  ["empty tag name", { key: "k", tags: { "": 1 } }, "/tags/", "got an empty string"],
  ["tag name with ~ and /", { key: "k", tags: { "a~/b": 1 } }, "/tags/a~0~1b", "expected a tag name"],
  ["65-char tag name", { key: "k", tags: { ["n".repeat(65)]: 1 } }, `/tags/${"n".repeat(65)}`, "got 65 characters"],
  ["too many tags", { key: "k", tags: manyTags }, "/tags", "expected at most 32 tags, got 33"],
  ["tags as array", { key: "k", tags: ["a"] }, "/tags", "expected an object of at most 32 tags, got array"],
  ["nested tag value", { key: "k", tags: { region: { name: "eu" } } }, "/tags/region", "expected a tag value that is a string, a finite number or a boolean, got object"],
  ["null tag value", { key: "k", tags: { region: null } }, "/tags/region", "got null"],
  ["NaN tag value", { key: "k", tags: { load: NaN } }, "/tags/load", "got NaN"],
  ["257-byte tag value", { key: "k", tags: { region: "r".repeat(257) } }, "/tags/region", "at most 256 UTF-8 bytes, got 257 bytes"],
  ["empty id", { key: "k", id: "" }, "/id", "expected a non-empty string of at most 128 characters, got an empty string"],
  ["numeric id", { key: "k", id: 7 }, "/id", "got number 7"],
  ["129-char id", { key: "k", id: "i".repeat(129) }, "/id", "got 129 characters"],
];

for (const [name, input, path, fragment] of bad) {
  test(`rejects ${name} at "${path}"`, () => {
    const issues = issuesOf(input);
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `no issue at ${path}: ${JSON.stringify(issues)}`);
    assert.ok(hit.message.includes(fragment), `message ${JSON.stringify(hit.message)} lacks ${JSON.stringify(fragment)}`);
  });
}

// [name, input, expected canonical event]
const good: [string, unknown, unknown][] = [
  ["key only: ts = receivedAt, value = 1", { key: "cpu" }, { key: "cpu", ts: receivedAt, value: 1 }],
  ["integer ms", { key: "cpu", ts: 1769000000000, value: 2.5 }, { key: "cpu", ts: 1769000000000, value: 2.5 }],
  ["fractional ms are floored", { key: "cpu", ts: 1769000000000.9 }, { key: "cpu", ts: 1769000000000, value: 1 }],
  ["ISO with Z", { key: "k", ts: "2026-01-21T14:30:00Z" }, { key: "k", ts: ms("2026-01-21T14:30:00Z"), value: 1 }],
  ["ISO with +05:30 offset", { key: "k", ts: "2026-01-21T14:30:00+05:30" }, { key: "k", ts: Date.UTC(2026, 0, 21, 9, 0, 0), value: 1 }],
  ["ISO with -0800 offset", { key: "k", ts: "2026-01-21T14:30:00-0800" }, { key: "k", ts: Date.UTC(2026, 0, 21, 22, 30, 0), value: 1 }],
  ["ISO with microseconds (floored)", { key: "k", ts: "2026-01-21T14:30:00.123987Z" }, { key: "k", ts: Date.UTC(2026, 0, 21, 14, 30, 0, 123), value: 1 }],
  ["ISO with one fraction digit", { key: "k", ts: "2026-01-21T14:30:00.5Z" }, { key: "k", ts: Date.UTC(2026, 0, 21, 14, 30, 0, 500), value: 1 }],
  ["RFC 3339 space separator, no seconds", { key: "k", ts: "2026-01-21 14:30z" }, { key: "k", ts: Date.UTC(2026, 0, 21, 14, 30), value: 1 }],
  ["leap day", { key: "k", ts: "2024-02-29T00:00:00Z" }, { key: "k", ts: Date.UTC(2024, 1, 29), value: 1 }],
  ["first ms of 2000", { key: "k", ts: "2000-01-01T00:00:00Z" }, { key: "k", ts: Date.UTC(2000, 0, 1), value: 1 }],
  ["zero and negative values", { key: "k", value: -3 }, { key: "k", ts: receivedAt, value: -3 }],
  [
    "tags and id kept",
    { key: "页面/首页 🔥", value: 0, tags: { region: "eu-west", "http.status": 200, "a:b-c_d": true }, id: "evt-1" },
    { key: "页面/首页 🔥", ts: receivedAt, value: 0, tags: { region: "eu-west", "http.status": 200, "a:b-c_d": true }, id: "evt-1" },
  ],
  ["256-byte key", { key: "é".repeat(128) }, { key: "é".repeat(128), ts: receivedAt, value: 1 }],
  ["an empty tags object", { key: "k", tags: {} }, { key: "k", ts: receivedAt, value: 1, tags: {} }],
];

for (const [name, input, expected] of good) {
  test(`accepts ${name}`, () => {
    const r = parseEvent(input, { receivedAt });
    assert.ok(r.ok, JSON.stringify(r));
    if (r.ok) assert.equal(r.event, expected);
  });
}

test("collects every issue of an event, not just the first", () => {
  const issues = issuesOf({ key: "", ts: "2026-01-21T14:30:00", value: "1", tags: { ok: 1, "no good": 2 }, id: 3, extra: 1 });
  assert.equal(issues.map((i) => i.path).sort(), ["/extra", "/id", "/key", "/tags/no good", "/ts", "/value"]);
});

test("caps the issues of one event at 20", () => {
  const input: Record<string, unknown> = { key: 1 };
  for (let i = 0; i < 40; i++) input[`x${i}`] = i;
  assert.is(issuesOf(input).length, defaultEventLimits.maxIssuesPerEvent);
  assert.is(defaultEventLimits.maxIssuesPerEvent, 20);
});

test("prefixes paths with opts.path", () => {
  const r = parseEvent({ key: "k", tags: { region: [] } }, { receivedAt, path: "/events/3" });
  assert.equal(r, { ok: false, issues: [{ path: "/events/3/tags/region", message: "expected a tag value that is a string, a finite number or a boolean, got array" }] });
});

test("limits can be overridden one by one", () => {
  assert.equal(issuesOf({ key: "abcde" }, { maxKeyBytes: 4 }).map((i) => i.message), ["expected a non-empty string of at most 4 UTF-8 bytes, got 5 bytes"]);
  const r = parseEvent({ key: "k", ts: "1990-01-01T00:00:00Z" }, { receivedAt, limits: { minTs: Date.UTC(1980, 0, 1) } });
  assert.equal(r, { ok: true, event: { key: "k", ts: Date.UTC(1990, 0, 1), value: 1 } });
  assert.is(issuesOf({ key: "k", tags: { a: 1, b: 2 } }, { maxTags: 1 })[0]!.message, "expected at most 1 tags, got 2");
});

test("the canonical event shares nothing with the input and carries no undefined fields", () => {
  const tags = { region: "eu" };
  const r = parseEvent({ key: "k", tags }, { receivedAt });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.is.not(r.event.tags, tags);
  tags.region = "us";
  assert.is(r.event.tags!.region, "eu");
  const bare = parseEvent({ key: "k" }, { receivedAt });
  assert.equal(bare.ok && Object.keys(bare.event), ["key", "ts", "value"]);
});

test("a __proto__ tag from JSON stays a plain tag and does not touch the prototype", () => {
  const r = parseEvent(JSON.parse('{"key":"k","tags":{"__proto__":"x","a":1}}'), { receivedAt });
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(Object.keys(r.event.tags!), ["__proto__", "a"]);
  assert.is(Object.getPrototypeOf(r.event.tags), Object.prototype);
  assert.is(JSON.stringify(r.event.tags), '{"__proto__":"x","a":1}');
});

test("a __proto__ top-level field from JSON is an unknown field", () => {
  assert.equal(issuesOf(JSON.parse('{"key":"k","__proto__":{"x":1}}')).map((i) => i.path), ["/__proto__"]);
});

test("parseEvents keeps valid events in order and reports invalid ones by index", () => {
  const r = parseEvents([{ key: "a" }, { key: "" }, { key: "b", value: 2 }, "nope"], { receivedAt });
  assert.equal(r.events, [{ key: "a", ts: receivedAt, value: 1 }, { key: "b", ts: receivedAt, value: 2 }]);
  assert.equal(r.invalid.map((i) => [i.index, i.issues.map((x) => x.path)]), [[1, ["/1/key"]], [3, ["/3"]]]);
});

test("parseEvents honours opts.path and limits", () => {
  const r = parseEvents([{ key: "abc" }], { receivedAt, path: "/batch", limits: { maxKeyBytes: 2 } });
  assert.equal(r.invalid[0]!.issues[0]!.path, "/batch/0/key");
});

test("defaultEventLimits is frozen", () => {
  assert.ok(Object.isFrozen(defaultEventLimits));
  assert.is(defaultEventLimits.minTs, Date.UTC(2000, 0, 1));
  assert.is(defaultEventLimits.maxTs, Date.UTC(2100, 0, 1));
});



test("a timestamp more than maxFutureMs ahead of receipt is refused (it would drag the watermark)", () => {
  const ahead = parseEvent({ key: "k", ts: receivedAt + 300_001 }, { receivedAt });
  assert.is(ahead.ok, false);
  if (!ahead.ok) {
    assert.is(ahead.issues[0]!.path, "/ts");
    assert.match(ahead.issues[0]!.message, "at most 300000 ms ahead");
  }
  assert.ok(parseEvent({ key: "k", ts: receivedAt + 300_000 }, { receivedAt }).ok);
  assert.ok(parseEvent({ key: "k", ts: receivedAt + 3_600_000 }, { receivedAt, limits: { maxFutureMs: 3_600_000 } }).ok);
});
test.run();
