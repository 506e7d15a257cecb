/**
 * The JSON fast path against the general one (JSON.parse + parseEventColumns) on generated
 * bodies, valid and not, compact and with whitespace between every token: the same columns,
 * the same invalid events, the same errors.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { EventColumns } from "./event.ts";
import { jsonEventColumns, ndjsonEventColumns } from "./json_events.ts";
import { mulberry32 } from "../test/helpers/random.ts";
import { bodyPaths, eventSamples, pick, randomEvent } from "../test/helpers/body_paths.ts";

const receivedAt = Date.UTC(2026, 10, 22, 12);
const maxEvents = 50;
const options = { maxEvents, receivedAt, decodeMsgpack: () => assert.unreachable("no MessagePack here") };
const { general, viaBody } = bodyPaths("json", options);
const ndjson = bodyPaths("ndjson", options);
const text = new TextEncoder();

function fast(bytes: Uint8Array, limits?: { maxTagValueBytes: number }): EventColumns | undefined {
  return jsonEventColumns(bytes, { maxEvents, receivedAt, limits });
}

const base = eventSamples(receivedAt);
const samples = {
  ...base,
  validValues: [...base.validValues, 1e-7, 2 ** 53 + 2],
  badValues: [...base.badValues, "x"],
  // Integer-like names come first in an object whatever their order in the text; braces in a string.
  validTags: [...base.validTags, { "2": "two", "1": 1, z: false }, { q: "a}b{" }],
  badTags: [...base.badTags, [1]],
};
// Keys the fast path leaves to JSON.parse (an escape in their JSON text, a leading BOM), valid or not.
const escapedKeys = ['say "hi"', "back\\slash", "tab\there", "\u0001", "\ufeffbom", "line\nbreak"];

function event(random: () => number, validity: number): Record<string, unknown> {
  const e = randomEvent(random, validity, samples);
  if (random() < 0.01) e.key = pick(random, escapedKeys);
  return e;
}

/** JSON text of `value` with JSON whitespace (none, or up to three of space, tab, CR, LF) around every token. */
function spaced(value: unknown, random: () => number): string {
  const ws = () => {
    if (random() < 0.5) return "";
    let s = "";
    for (let n = 1 + Math.floor(random() * 3); n > 0; n--) s += pick(random, [" ", "\t", "\r", "\n"]);
    return s;
  };
  const write = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => write(x) + ws()).join(`,${ws()}`)}]`;
    if (v !== null && typeof v === "object") {
      const fields = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}${ws()}:${ws()}${write(x)}${ws()}`);
      return `{${ws()}${fields.join(`,${ws()}`)}}`;
    }
    return JSON.stringify(v);
  };
  return ws() + write(value) + ws();
}

test("valid bodies take the fast path and give the general path's columns exactly, with or without whitespace", () => {
  const random = mulberry32(21);
  let fastTaken = 0;
  for (let round = 0; round < 400; round++) {
    const n = 1 + Math.floor(random() * 40);
    const events = Array.from({ length: n }, () => event(random, 0));
    const texts = [JSON.stringify(events), spaced(events, random), ...(n === 1 ? [JSON.stringify(events[0]), spaced(events[0], random)] : [])];
    for (const body of texts) {
      const bytes = text.encode(body);
      if (!body.includes("\\") && !body.includes("\ufeff")) {
        assert.ok(fast(bytes) !== undefined, `fast path taken for ${body.slice(0, 200)}`);
        fastTaken++;
      }
      assert.equal(viaBody(bytes), general(bytes), body.slice(0, 200));
    }
  }
  assert.ok(fastTaken > 400, `enough bodies took the fast path (${fastTaken})`);
});

test("numbers in each of JSON's forms read as JSON.parse reads them", () => {
  const numbers = [
    "0", "-0", "7", "-7", "0.5", "-0.0", "10", "123456789012345", "-123456789012345", "1234567890123456", "9007199254740993",
    "-9007199254740993", "12345678901234567890123", "1e3", "1E3", "1e+3", "1E-3", "2.5e-300", "1.7976931348623157e308", "5e-324",
    "0.1", "0.30000000000000004", "3.141592653589793238462643383279", "1e-400", "0e0", "-0e-0", "100.000e2",
    "91632069258879988", // summing its digits one by one would round twice and land on another double
  ];
  for (const n of numbers) {
    const bytes = text.encode(`[{"key":"a","value":${n},"ts":${receivedAt - 1000}}]`);
    const columns = fast(bytes);
    assert.ok(columns !== undefined, n);
    assert.ok(Object.is(columns.values[0], JSON.parse(n)), `${n}: ${columns.values[0]} vs ${JSON.parse(n)}`);
    assert.equal(viaBody(bytes), general(bytes), n);
  }
  // Timestamps too (integers over 15 digits, fractions, exponents).
  for (const t of [`${receivedAt}`, `${receivedAt}.75`, "1.7e12", "1700000000000.0", "17000000000000e-1"]) {
    const bytes = text.encode(`{"key":"a","ts":${t}}`);
    assert.ok(fast(bytes) !== undefined, t);
    assert.equal(viaBody(bytes), general(bytes), t);
  }
  // Not JSON numbers: the general path's error, whichever path answers.
  for (const n of ["01", "-", "+1", ".5", "1.", "1e", "1e+", "--1", "0x10", "1_000", "NaN", "Infinity", "-Infinity", "1.5.5", "0.e1"]) {
    const bytes = text.encode(`[{"key":"a","value":${n}}]`);
    assert.is(fast(bytes), undefined, n);
    assert.equal(viaBody(bytes), general(bytes), n);
  }
  // Numbers of more than 64 characters go to JSON.parse, with its value: a long one was
  // built a character at a time (4 million digits: ~0.7 s and ~200 MB); 64 still reads here.
  for (const n of ["1." + "0".repeat(62), "1." + "0".repeat(63), "9".repeat(400) + "e-398", "0." + "1".repeat(100_000)]) {
    const bytes = text.encode(`[{"key":"a","value":${n}}]`);
    assert.is(fast(bytes) === undefined, n.length > 64, `${n.length} characters`);
    assert.equal(viaBody(bytes), general(bytes), `${n.length} characters`);
  }
  // -0 in tags, before or after 0 in its batch, in a batch of its own, in a later body: always 0.
  for (const body of [
    '[{"key":"a","tags":{"a":0}},{"key":"b","tags":{"a":-0}}]', '[{"key":"a","tags":{"a":-0}},{"key":"b","tags":{"a":0}}]',
    '[{"key":"a","tags":{"a":-0.0}}]', '{"key":"a","tags":{"a":-0}}', '[{"key":"a","tags":{"a":-0,"b":1}},{"key":"b","tags":{"a":-0,"b":1}}]',
  ]) {
    const bytes = text.encode(body);
    assert.ok(fast(bytes) !== undefined, body);
    assert.equal(viaBody(bytes), general(bytes), body);
    assert.ok(fast(bytes)!.tags!.every((t) => Object.is(t!.a, 0)), body);
  }
  // Too large for a double: Infinity, which the validator refuses (the general path reports it).
  const huge = text.encode(`[{"key":"a","value":1e400}]`);
  assert.is(fast(huge), undefined);
  assert.equal(viaBody(huge), general(huge));
});

test("strings the fast path leaves to JSON.parse (escapes, control characters, a byte order mark, invalid UTF-8) give the general path's result", () => {
  const bodies = [
    String.raw`[{"key":"a\"b"}]`,
    String.raw`[{"key":"\u0061"}]`,
    String.raw`[{"k\u0065y":"a"}]`,
    String.raw`[{"key":"a","tags":{"t":"x\ny"}}]`,
    String.raw`[{"key":"a","tags":{"\u0074":"x"}}]`,
    String.raw`[{"key":"\ud83d\udd25"}]`,
    String.raw`[{"key":"\ud83d"}]`,
    String.raw`[{"key":"a\/b"}]`,
    `[{"key":"tab\there"}]`, // a raw control character: not JSON
    `[{"key":"\ufeffa"}]`,
    `\ufeff[{"key":"a"}]`, // a BOM before the body: the general path's decoder drops it
    `[{"key":"a","tags":{"t":"\ufeffx"}}]`,
  ].map((s) => text.encode(s));
  bodies.push(Uint8Array.of(...text.encode('[{"key":"'), 0xff, 0xfe, ...text.encode('"}]'))); // invalid UTF-8 in a string
  bodies.push(Uint8Array.of(...text.encode('[{"key":"a"}]'), 0xff)); // invalid UTF-8 after the body
  bodies.push(Uint8Array.of(...text.encode('[{"key":"'), 0xc3, ...text.encode('"}]'))); // a truncated sequence
  for (const bytes of bodies) {
    assert.is(fast(bytes), undefined, new TextDecoder().decode(bytes));
    assert.equal(viaBody(bytes), general(bytes), new TextDecoder().decode(bytes));
  }
});

test("strings stay right when far more distinct ones pass than the string cache has slots (collisions replace)", () => {
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < 200; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ key: `k${b * 1000 + i}`, tags: { v: `t${(b * 1000 + i) ^ 0x5555}` } }));
      const columns = jsonEventColumns(text.encode(JSON.stringify(events)), { maxEvents: 1000, receivedAt });
      assert.ok(columns !== undefined);
      for (let i = 0; i < 1000; i++) {
        if (columns.keys[i] !== events[i]!.key || columns.tags![i]!.v !== events[i]!.tags.v) {
          assert.unreachable(`event ${b * 1000 + i}: ${columns.keys[i]} / ${String(columns.tags![i]!.v)}`);
        }
      }
    }
  }
});

test("tags found by their bytes are checked copies: frozen, shared by equal tags across bodies, and never kept when invalid or checked under other limits", () => {
  const body = (tags: string) => text.encode(`[{"key":"a","tags":${tags}},{"key":"b","tags":${tags}}]`);
  const one = fast(body(`{"region":"eu","n":2}`))!;
  const two = fast(body(`{"region":"eu","n":2}`))!;
  assert.equal(one.tags![0], { region: "eu", n: 2 });
  assert.ok(Object.isFrozen(one.tags![0]));
  assert.is(one.tags![0], one.tags![1]);
  assert.is(one.tags![0], two.tags![0], "the same copy for the same bytes in a later body");
  // A brace inside a string: such tags are read, not kept (their bytes up to the first closing
  // brace are not the whole object), and come out right every time.
  const braces = body(`{"q":"a}b{","r":"}"}`);
  for (let round = 0; round < 2; round++) {
    assert.equal(fast(braces)!.tags, [{ q: "a}b{", r: "}" }, { q: "a}b{", r: "}" }]);
    assert.equal(viaBody(braces), general(braces));
  }
  // Tags too long for the default limits: refused every time (the general path reports them).
  const long = body(`{"v":"${"x".repeat(300)}"}`);
  for (let round = 0; round < 2; round++) {
    assert.is(fast(long), undefined);
    assert.equal(viaBody(long), general(long));
  }
  // Tags valid under the defaults but not under a caller's limits: never the cached copy.
  const tight = body(`{"region":"eu","n":2}`);
  assert.is(fast(tight, { maxTagValueBytes: 1 }), undefined);
  const looser = fast(tight, { maxTagValueBytes: 100 })!;
  assert.equal(looser.tags![0], { region: "eu", n: 2 });
  assert.is.not(looser.tags![0], one.tags![0]);
  // Many distinct tag sets through the 4096-slot cache, twice: each event keeps its own.
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < 20; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ key: "k", tags: { n: b * 1000 + i, s: `v${i % 7}` } }));
      const columns = jsonEventColumns(text.encode(JSON.stringify(events)), { maxEvents: 1000, receivedAt })!;
      for (let i = 0; i < 1000; i++) {
        const t = columns.tags![i]!;
        if (t.n !== b * 1000 + i || t.s !== `v${i % 7}`) assert.unreachable(`event ${b * 1000 + i}: ${JSON.stringify(t)}`);
      }
    }
  }
});

test("bodies with invalid events fall back and report exactly what the general path reports", () => {
  const random = mulberry32(22);
  let invalidSeen = 0;
  for (let round = 0; round < 400; round++) {
    const n = 1 + Math.floor(random() * 10);
    const events = Array.from({ length: n }, () => event(random, 0.3));
    const bytes = text.encode(random() < 0.5 ? JSON.stringify(events) : spaced(events, random));
    const expected = general(bytes) as { invalid?: unknown[] };
    if ((expected.invalid?.length ?? 0) > 0) {
      invalidSeen++;
      assert.is(fast(bytes), undefined);
    }
    assert.equal(viaBody(bytes), expected);
  }
  assert.ok(invalidSeen > 100, `enough invalid bodies generated (${invalidSeen})`);
});

test("unusual and broken bodies fall back to the general path's result or error", () => {
  const random = mulberry32(23);
  const good = `[{"key":"a","ts":${receivedAt - 10},"value":2.5e0,"tags":{"r":"eu","b":true,"n":-1}},{"key":"b","id":"x"}]`;
  const texts = [
    "[]", "{}", "[{}]", '[[{"key":"a"}]]', '"just a string"', "42", "null", "true", "", " ", "[", "]", "{",
    '[{"key":"a"},]', '[{"key":"a"}', '{"key":"a"} x', '{"key":"a"}{"key":"b"}', '[{"key":"a"}] ]', '[{"key":"a"},,{"key":"b"}]',
    '[{"key":"a","key":"b"}]', '[{"key":"a",}]', '[{"key" "a"}]', '[{"key":"a" "ts":1}]', '[{,"key":"a"}]',
    '[{"key":"a","tags":{"__proto__":"x"}}]', '[{"key":"a","tags":{"t":"x","t":"y"}}]', '[{"key":"a","tags":{"t":{"u":1}}}]',
    '[{"key":"a","tags":null}]', '[{"key":"a","value":null}]', '[{"key":null}]', '[{"key":"a","tags":{"t":[1]}}]',
    '[{"key":"a","tags":{"t":1,}}]', '[{"key":"a","tags":{t:1}}]', '[{"key":"a","value":tru}]', '[{"key":"a","value":falsey}]',
    '[{"key":"a","value":True}]', '[{"key":"a","extra":1}]', '[{"__proto__":{"key":"a"}}]', '[{"key":"a"}]\n', "\n\t [ {\"key\" : \"a\" } ] \r\n",
    `[${Array.from({ length: maxEvents + 1 }, (_, i) => `{"key":"k${i}"}`).join(",")}]`,
    `[${Array.from({ length: maxEvents }, (_, i) => `{"key":"k${i}"}`).join(",")}]`,
    '[{"key":"a","tags":{"a":"}"}}]', '[{"key":"a","tags":{"a":"{"}}]', '[{"key":"a","tags":{"a":"]"}}]',
    '[{"key":"a","tags":{}}]', '[{"key":"a","tags":{ }}]', good, good.replace(/,/g, " , "),
    // Whitespace JSON does not allow (String.prototype.trim would take it): vertical tab, form feed, no-break space.
    '[{"key":"a"}\u000b]', '\u000c[{"key":"a"}]', '[{"key":\u00a0"a"}]', '[{"key":"a"}]\u2028',
  ];
  const bodies = texts.map((s) => text.encode(s));
  for (let cut = 1; cut < good.length; cut++) bodies.push(text.encode(good.slice(0, cut))); // every truncation
  for (let i = 0; i < 400; i++) {
    const body = text.encode(JSON.stringify(Array.from({ length: 3 }, () => event(random, 0.2)))).slice();
    if (random() < 0.5) body[Math.floor(random() * body.length)] = pick(random, [...text.encode('{}[]",:\\ -.e0tfn'), Math.floor(random() * 256)]);
    else body[Math.floor(random() * body.length)] = Math.floor(random() * 128);
    bodies.push(body);
  }
  for (const bytes of bodies) assert.equal(viaBody(bytes), general(bytes), new TextDecoder().decode(bytes).slice(0, 200));
  // No event allowed at all: every shape refused as the general path refuses it.
  const none = { ...options, maxEvents: 0 };
  for (const body of ['{"key":"a"}', '[{"key":"a"}]']) {
    assert.is(jsonEventColumns(text.encode(body), { maxEvents: 0, receivedAt }), undefined, body);
    assert.equal(bodyPaths("json", none).viaBody(text.encode(body)), bodyPaths("json", none).general(text.encode(body)), body);
  }
  assert.is(ndjsonEventColumns(text.encode('{"key":"a"}'), { maxEvents: 0, receivedAt }), undefined);
});

test("tags that differ from event to event give the general path's columns, however many", () => {
  // Every event's tags new: the cache stops being asked within a body (and still answers right).
  for (const n of [10, 40, 200, 1000]) {
    const events = Array.from({ length: n }, (_, i) => ({ key: `k${i % 3}`, tags: { request: `r-${n}-${i}`, region: i % 2 ? "eu" : "us" } }));
    const bytes = text.encode(JSON.stringify(events));
    const columns = jsonEventColumns(bytes, { maxEvents: 1000, receivedAt })!;
    assert.ok(columns !== undefined);
    const wide = bodyPaths("json", { ...options, maxEvents: 1000 });
    assert.equal(wide.viaBody(bytes), wide.general(bytes));
  }
});

/** NDJSON of `events`: one per line, with blank lines, blanks around lines, CRLF or LF, and a final newline or not. */
function ndjsonText(events: unknown[], random: () => number): string {
  const blank = () => pick(random, ["", "", " ", "\t", "\r", " \t "]);
  let out = random() < 0.2 ? "\n" : "";
  for (const e of events) {
    out += blank() + (random() < 0.3 ? spaced(e, random).replace(/[\r\n]/g, " ") : JSON.stringify(e)) + blank();
    out += random() < 0.3 ? "\r\n" : "\n";
    if (random() < 0.1) out += blank() + "\n";
  }
  return random() < 0.5 ? out.replace(/\r?\n$/, "") : out;
}

test("NDJSON bodies take the fast path and give the general path's columns exactly", () => {
  const random = mulberry32(24);
  let fastTaken = 0;
  let invalidSeen = 0;
  for (let round = 0; round < 400; round++) {
    const n = 1 + Math.floor(random() * 30);
    const validity = round % 2 === 0 ? 0 : 0.3;
    const body = ndjsonText(Array.from({ length: n }, () => event(random, validity)), random);
    const bytes = text.encode(body);
    const expected = ndjson.general(bytes) as { invalid?: unknown[] };
    const columns = ndjsonEventColumns(bytes, { maxEvents, receivedAt });
    if ((expected.invalid?.length ?? 0) > 0) {
      invalidSeen++;
      assert.is(columns, undefined);
    } else if (validity === 0 && !body.includes("\\") && !body.includes("\ufeff")) {
      assert.ok(columns !== undefined, `fast path taken for ${JSON.stringify(body).slice(0, 300)}`);
      fastTaken++;
    }
    assert.equal(ndjson.viaBody(bytes), expected, JSON.stringify(body).slice(0, 300));
  }
  assert.ok(fastTaken > 100, `enough bodies took the fast path (${fastTaken})`);
  assert.ok(invalidSeen > 50, `enough invalid bodies generated (${invalidSeen})`);
});

test("NDJSON the general path reads otherwise falls back: objects over several lines, two on a line, other whitespace, arrays, truncations", () => {
  const random = mulberry32(25);
  const good = `{"key":"a","ts":${receivedAt - 10},"value":2,"tags":{"r":"eu"}}\n\n  {"key":"b","id":"x"}\r\n{"key":"c"}\n`;
  const texts = [
    "", "\n", " \n\t\n", "{}", "[]", "null", '[{"key":"a"}]', '{"key":"a"}\n[{"key":"b"}]', '{"key":"a"}\nnull',
    '{"key":"a"} {"key":"b"}', '{"key":"a"}{"key":"b"}', '{"key":"a"}\r{"key":"b"}', '{\n"key":"a"}', '{"key":\n"a"}', '{"key":"a",\n"value":2}',
    '{"key":"a"}\u000b\n{"key":"b"}', '\u00a0{"key":"a"}', '{"key":"a"}\u2028', '\ufeff{"key":"a"}', '{"key":"a"}\n\u000c\n{"key":"b"}',
    '{"key":"a"}\n{"key":"a","key":"b"}', '{"key":"a"}\n{"key":"b"', '{"key":"a"}\n}', '{"key":"a"}\n,', '{"key":"a"}\n\n\n',
    Array.from({ length: maxEvents + 1 }, (_, i) => `{"key":"k${i}"}`).join("\n"),
    Array.from({ length: maxEvents }, (_, i) => `{"key":"k${i}"}`).join("\n"),
    Array.from({ length: maxEvents }, (_, i) => `{"key":"k${i}"}`).join("\n") + "\n\n  \n",
    good, good.replace(/\n/g, "\r\n"),
  ];
  const bodies = texts.map((t) => text.encode(t));
  for (let cut = 1; cut < good.length; cut++) bodies.push(text.encode(good.slice(0, cut)));
  for (let i = 0; i < 300; i++) {
    const body = text.encode(ndjsonText(Array.from({ length: 3 }, () => event(random, 0.1)), random)).slice();
    body[Math.floor(random() * body.length)] = pick(random, [...text.encode('{}[]",:\\ \n\r\t-.e0tfn'), Math.floor(random() * 256)]);
    bodies.push(body);
  }
  for (const bytes of bodies) assert.equal(ndjson.viaBody(bytes), ndjson.general(bytes), JSON.stringify(new TextDecoder().decode(bytes)).slice(0, 200));
  // The valid ones among the hand-made bodies do take the fast path.
  for (const t of [good, good.replace(/\n/g, "\r\n"), '{"key":"a"}\n\n\n', Array.from({ length: maxEvents }, (_, i) => `{"key":"k${i}"}`).join("\n")]) {
    assert.ok(ndjsonEventColumns(text.encode(t), { maxEvents, receivedAt }) !== undefined, JSON.stringify(t).slice(0, 100));
  }
});

test.run();
