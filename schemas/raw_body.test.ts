import { test } from "uvu";
import * as assert from "uvu/assert";
import { eventsOf } from "./event_batch.ts";
import { BodyParseError, formatOfContentType, parseBodyColumns, TooManyEventsError } from "./raw_body.ts";

const receivedAt = Date.UTC(2026, 0, 22, 10, 0, 0);
const enc = new TextEncoder();
const opts = { maxEvents: 3, decodeMsgpack: () => [{ key: "m", value: 2 }], receivedAt };

test("parseBodyColumns: valid events as columns, invalid ones by index with their issues, the parsed values alongside", () => {
  const mixed = parseBodyColumns("json", enc.encode('[{"key":"a","tags":{"r":"eu"}},{"key":""},{"key":"b","value":3}]'), opts);
  assert.equal(eventsOf(mixed.columns), [{ key: "a", ts: receivedAt, value: 1, tags: { r: "eu" } }, { key: "b", ts: receivedAt, value: 3 }]);
  assert.equal(mixed.invalid.map((i) => [i.index, i.issues[0]!.path]), [[1, "/1/key"]]);
  assert.equal(mixed.values[1], { key: "" });
  assert.equal(eventsOf(parseBodyColumns("ndjson", enc.encode('{"key":"x"}\n\n{"key":"y"}\n'), opts).columns).map((e) => e.key), ["x", "y"]);
  assert.equal(eventsOf(parseBodyColumns("msgpack", new Uint8Array(1), opts).columns), [{ key: "m", ts: receivedAt, value: 2 }]);
});

test("parseBodyColumns throws what parseRawBody throws", () => {
  assert.throws(() => parseBodyColumns("json", enc.encode("[]"), opts), (e: unknown) => e instanceof BodyParseError && /no events/.test(e.message));
  assert.throws(() => parseBodyColumns("ndjson", enc.encode('{"key":"a"}\n{oops}'), opts), (e: unknown) => e instanceof BodyParseError && e.pointer === "/1");
  assert.throws(() => parseBodyColumns("json", new Uint8Array([0xff]), opts), (e: unknown) => e instanceof BodyParseError && /not valid UTF-8/.test(e.message));
  assert.throws(() => parseBodyColumns("json", enc.encode('[{"key":"a"},{"key":"b"},{"key":"c"},{"key":"d"}]'), opts), (e: unknown) => e instanceof TooManyEventsError);
});

test("formatOfContentType reads the media type, ignoring parameters and case, the same on every call", () => {
  for (let round = 0; round < 2; round++) {
    assert.is(formatOfContentType("application/json"), "json");
    assert.is(formatOfContentType("Application/JSON; charset=utf-8"), "json");
    assert.is(formatOfContentType("application/x-ndjson"), "ndjson");
    assert.is(formatOfContentType(" application/msgpack "), "msgpack");
    assert.is(formatOfContentType("text/plain"), undefined);
    assert.is(formatOfContentType("constructor"), undefined, "no inherited property is a media type");
    assert.is(formatOfContentType(""), undefined);
    assert.is(formatOfContentType(undefined), undefined);
  }
});

test.run();
