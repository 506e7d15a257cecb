/**
 * The MessagePack fast path against the general one (the codec's decoder + parseEventColumns)
 * on generated bodies, valid and not: the same columns, the same invalid events, the same errors.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decode, encode } from "@msgpack/msgpack";
import { msgpackEventColumns } from "./msgpack_events.ts";
import { HASH_SEED, hashStep } from "./body_strings.ts";
import { parseBodyColumns } from "./raw_body.ts";
import { mulberry32 } from "../test/helpers/random.ts";
import { bodyPaths, eventSamples, randomEvent } from "../test/helpers/body_paths.ts";

const receivedAt = Date.UTC(2026, 10, 22, 12);
const maxEvents = 50;
const options = { maxEvents, receivedAt, decodeMsgpack: (b: Uint8Array) => decode(b) };
const { general, viaBody } = bodyPaths("msgpack", options);

const base = eventSamples(receivedAt);
// MessagePack carries -0, NaN and the infinities, which JSON cannot.
const samples = { ...base, validValues: [...base.validValues, -0], badValues: [Number.NaN, Number.POSITIVE_INFINITY, ...base.badValues] };
const event = (random: () => number, validity: number) => randomEvent(random, validity, samples);

test("valid bodies take the fast path and give the general path's columns exactly", () => {
  const random = mulberry32(11);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(random() * 40);
    const events = Array.from({ length: n }, () => event(random, 0));
    const bodies = [encode(events), ...(n === 1 ? [encode(events[0])] : [])];
    for (const bytes of bodies) {
      assert.ok(msgpackEventColumns(bytes, { maxEvents, receivedAt }) !== undefined, `fast path taken for ${JSON.stringify(events).slice(0, 200)}`);
      assert.equal(viaBody(bytes), general(bytes));
    }
  }
});

test("strings stay right when far more distinct ones pass than the string cache has slots (collisions replace)", () => {
  // 200 000 distinct keys and tag values through a 65 536-slot cache, twice (the second pass
  // finds most slots taken by other strings of the same length).
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < 200; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ key: `k${b * 1000 + i}`, tags: { v: `t${(b * 1000 + i) ^ 0x5555}` } }));
      const columns = msgpackEventColumns(encode(events), { maxEvents: 1000, receivedAt });
      assert.ok(columns !== undefined);
      for (let i = 0; i < 1000; i++) {
        if (columns.keys[i] !== events[i]!.key || columns.tags![i]!.v !== events[i]!.tags.v) {
          assert.unreachable(`event ${b * 1000 + i}: ${columns.keys[i]} / ${String(columns.tags![i]!.v)}`);
        }
      }
    }
  }
});

test("invalid UTF-8 whose bytes share a cache slot with a valid string falls back every time, never answers with that string", () => {
  // The cache's slot of a string's bytes (body_strings.ts): FNV-1a, 65 536 slots.
  const slotOf = (bytes: number[]) => {
    let h = HASH_SEED;
    for (const b of bytes) h = hashStep(h, b);
    return (h >>> 0) & 0xffff;
  };
  const target = slotOf([0xff, 0xfe, 0x41]);
  let valid: string | undefined;
  for (let i = 0; valid === undefined && i < 95 ** 3; i++) {
    const cs = [32 + (i % 95), 32 + (Math.floor(i / 95) % 95), 32 + Math.floor(i / 95 / 95)];
    if (slotOf(cs) === target) valid = String.fromCharCode(...cs);
  }
  assert.ok(valid !== undefined, "a printable 3-character string in the same slot");
  // A tag value (keys do not go through the cache).
  const good = encode([{ key: "k", tags: { t: valid } }]);
  assert.equal(msgpackEventColumns(good, { maxEvents, receivedAt })!.tags, [{ t: valid }]);
  // The same body with the value's bytes replaced by ff fe 41 (a fixstr of 3 invalid bytes).
  const bad = good.slice();
  const at = good.findIndex((b, i) => b === 0xa1 && good[i + 1] === 0x74 && good[i + 2] === 0xa3) + 2; // "t", then the value's fixstr header
  assert.ok(at > 2);
  bad.set([0xff, 0xfe, 0x41], at + 1);
  for (let round = 0; round < 2; round++) {
    assert.is(msgpackEventColumns(bad, { maxEvents, receivedAt }), undefined, `round ${round}`);
    assert.equal(viaBody(bad), general(bad));
  }
});

test("bodies with invalid events fall back and report exactly what the general path reports", () => {
  const random = mulberry32(12);
  let invalidSeen = 0;
  for (let round = 0; round < 400; round++) {
    const n = 1 + Math.floor(random() * 10);
    const bytes = encode(Array.from({ length: n }, () => event(random, 0.3)));
    const expected = general(bytes) as { invalid?: unknown[] };
    if ((expected.invalid?.length ?? 0) > 0) {
      invalidSeen++;
      assert.is(msgpackEventColumns(bytes, { maxEvents, receivedAt }), undefined);
    }
    assert.equal(viaBody(bytes), expected);
  }
  assert.ok(invalidSeen > 100, `enough invalid bodies generated (${invalidSeen})`);
});

test("unusual and broken bodies fall back to the general path's result or error", () => {
  const random = mulberry32(13);
  const good = encode([{ key: "a", ts: receivedAt - 10, value: 2 }, { key: "b" }]);
  const bodies: Uint8Array[] = [
    encode([]),
    encode({}),
    encode([[{ key: "a" }]]),
    encode("just a string"),
    encode(42),
    encode(null),
    encode([{ key: "a", value: new Uint8Array([1, 2]) }]), // bin
    encode([{ key: "a", tags: { t: [1, 2] } }]), // array in tags
    encode(new Map<unknown, unknown>([[1, "x"], ["key", "a"]])), // a numeric map key
    encode([{ key: "a", tags: new Map([[7, "x"]]) }]),
    encode(Array.from({ length: maxEvents + 1 }, (_, i) => ({ key: `k${i}` }))),
    encode(Array.from({ length: maxEvents }, (_, i) => ({ key: `k${i}` }))),
    Uint8Array.of(...good, 0xc0), // a byte after the body
    Uint8Array.of(0x91, 0x81, 0xa3, 0x6b, 0x65, 0x79, 0xa2, 0xff, 0xfe), // invalid UTF-8 in a key
    encode([{ key: "\ufeffk" }]), // a key that starts with a byte order mark (the decoder keeps it; TextDecoder would not)
    encode([{ key: "k", tags: { t: "\ufeff".repeat(70) } }]),
    Uint8Array.of(0x92, 0x81, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x61, 0x82, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x62, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x63), // a repeated field
    Uint8Array.of(0x91, 0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0xc0),
    Uint8Array.of(0x91, 0x81, 0xa4, ...new TextEncoder().encode("tags"), 0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0xa1, 0x78),
    Uint8Array.of(0xd4, 0x01, 0x02), // fixext
    new Uint8Array(0),
  ];
  for (let cut = 1; cut < good.length; cut++) bodies.push(good.subarray(0, cut)); // every truncation
  for (let i = 0; i < 300; i++) {
    const body = encode(Array.from({ length: 3 }, () => event(random, 0.2))).slice();
    body[Math.floor(random() * body.length)] = Math.floor(random() * 256); // one byte flipped
    bodies.push(body);
  }
  for (const bytes of bodies) assert.equal(viaBody(bytes), general(bytes), `body ${Array.from(bytes.subarray(0, 40))}`);
});

test("tags maps found by their bytes are checked copies: frozen, shared across bodies, for every scalar type; never kept when invalid or checked under other limits", () => {
  const fast = (bytes: Uint8Array, limits?: { maxTagValueBytes: number }) => msgpackEventColumns(bytes, { maxEvents, receivedAt, limits });
  const everyType = { u8: 200, u16: 60_000, u32: 70_000, u64: 2 ** 40, i8: -100, i16: -1000, i32: -70_000, i64: -(2 ** 40), neg: -5, f64: 1.5, s: "x", s8: "y".repeat(40), t: true, f: false };
  const body = (tags: unknown) => encode([{ key: "a", tags }, { key: "b", tags }]);
  const one = fast(body(everyType))!;
  const two = fast(body(everyType))!;
  assert.equal(one.tags![0], everyType);
  assert.ok(Object.isFrozen(one.tags![0]));
  assert.is(one.tags![0], one.tags![1]);
  assert.is(one.tags![0], two.tags![0], "the same copy for the same bytes in a later body");
  assert.equal(viaBody(body(everyType)), general(body(everyType)));
  // Each type alone, kept too; a float32 (hand-made: the encoder writes float64).
  for (const [name, value] of Object.entries(everyType)) {
    const bytes = body({ [name]: value });
    assert.is(fast(bytes)!.tags![0], fast(bytes)!.tags![0], name);
  }
  const f32 = Uint8Array.of(0x91, 0x82, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x61, 0xa4, ...new TextEncoder().encode("tags"), 0x81, 0xa1, 0x66, 0xca, 0x3f, 0xc0, 0x00, 0x00);
  assert.equal(fast(f32)!.tags![0], { f: 1.5 });
  assert.is(fast(f32)!.tags![0], fast(f32)!.tags![0], "float32 kept");
  // Invalid for the default limits: refused every time.
  const long = body({ v: "x".repeat(300) });
  for (let round = 0; round < 2; round++) {
    assert.is(fast(long), undefined);
    assert.equal(viaBody(long), general(long));
  }
  // -0 in tags, before or after 0 in its batch: always 0, as on the general path.
  for (const tags of [[{ a: 0 }, { a: -0 }], [{ a: -0 }, { a: 0 }], [{ a: -0 }, { a: -0 }]]) {
    const bytes = encode(tags.map((t, i) => ({ key: `k${i}`, tags: t })));
    assert.ok(fast(bytes) !== undefined);
    assert.equal(viaBody(bytes), general(bytes));
    assert.ok(fast(bytes)!.tags!.every((t) => Object.is(t!.a, 0)));
  }
  // An array header that claims more events than the bytes hold: no room made for them.
  const claims = Uint8Array.of(0xdc, 0x00, 0x30, 0x81, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x61); // array16 of 48, one event
  assert.is(fast(claims), undefined);
  assert.equal(viaBody(claims), general(claims));
  const nil = body({ v: null });
  for (let round = 0; round < 2; round++) assert.equal(viaBody(nil), general(nil));
  // Valid under the defaults, not under a caller's limits: never the kept copy.
  assert.is(fast(body(everyType), { maxTagValueBytes: 1 }), undefined);
  assert.is.not(fast(body(everyType), { maxTagValueBytes: 100 })!.tags![0], one.tags![0]);
  // Many distinct tag sets through the 4096-slot cache, twice: each event keeps its own.
  for (let pass = 0; pass < 2; pass++) {
    for (let b = 0; b < 20; b++) {
      const events = Array.from({ length: 1000 }, (_, i) => ({ key: "k", tags: { n: b * 1000 + i, s: `v${i % 7}` } }));
      const columns = msgpackEventColumns(encode(events), { maxEvents: 1000, receivedAt })!;
      for (let i = 0; i < 1000; i++) {
        const t = columns.tags![i]!;
        if (t.n !== b * 1000 + i || t.s !== `v${i % 7}`) assert.unreachable(`event ${b * 1000 + i}: ${JSON.stringify(t)}`);
      }
    }
  }
});

test("64-bit integers, floats and negative fixints read as the codec's decoder reads them", () => {
  const bytes = encode([
    { key: "u64", ts: 1_763_000_000_123, value: 2 ** 40 + 3 },
    { key: "i64", value: -(2 ** 40) - 7 },
    { key: "neg", value: -5 },
    { key: "f32", value: 1.5 },
  ]);
  assert.ok(msgpackEventColumns(bytes, { maxEvents, receivedAt: 1_763_000_000_200 }) !== undefined);
  const at = { ...options, receivedAt: 1_763_000_000_200 };
  const { columns } = parseBodyColumns("msgpack", bytes, at);
  assert.equal(Array.from(columns.values), [2 ** 40 + 3, -(2 ** 40) - 7, -5, 1.5]);
  assert.equal(Array.from(columns.ts), [1_763_000_000_123, 1_763_000_000_200, 1_763_000_000_200, 1_763_000_000_200]);
  // float32 on the wire (a hand-made body: the encoder writes float64)
  const f32 = Uint8Array.of(0x82, 0xa3, 0x6b, 0x65, 0x79, 0xa1, 0x78, 0xa5, ...new TextEncoder().encode("value"), 0xca, 0x3f, 0xc0, 0x00, 0x00);
  assert.equal(viaBody(f32), general(f32));
  assert.equal(Array.from(parseBodyColumns("msgpack", f32, options).columns.values), [1.5]);
});

test.run();
