import { test } from "uvu";
import * as assert from "uvu/assert";
import { crc32, nativeCrc32, portableCrc32, useNativeCrc32 } from "./log_crc32.ts";
import { currentPlatform } from "../platform/current.ts";
import { mulberry32 } from "../../test/helpers/random.ts";
import { encodeRecord, readRecords, type LogRecord } from "./log_record.ts";

const enc = new TextEncoder();

function concat(records: LogRecord[]): Uint8Array {
  const parts = records.flatMap((r) => encodeRecord(r).chunks);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

function readAll(buf: Uint8Array): { records: LogRecord[]; valid: number } {
  const records: LogRecord[] = [];
  const valid = readRecords(buf, (r) => records.push({ ...r, data: r.data.slice() }));
  return { records, valid };
}

const A: LogRecord = { seq: 1, ts: 1_700_000_000_123, subject: "tw.raw.clicks", msgId: "m-1", headers: { h: "v" }, data: enc.encode("payload") };
const A_WITH = (data: Uint8Array): LogRecord => ({ ...A, data });
const B: LogRecord = { seq: 2, ts: 1_700_000_000_124, subject: "tw.raw.clicks", data: new Uint8Array(0) };

test("crc32 matches the standard check value and continues across chunks", () => {
  assert.is(crc32(enc.encode("123456789")), 0xcbf43926);
  const long = enc.encode("the quick brown fox jumps over the lazy dog, twice over");
  assert.is(crc32(long.subarray(13), crc32(long.subarray(0, 13))), crc32(long));
});

test("the host's CRC-32 (installed by its platform adapter) and the portable one agree", async () => {
  await currentPlatform();
  assert.ok(nativeCrc32(), "the adapter installed node:zlib's");
  const random = mulberry32(3);
  const buf = Uint8Array.from({ length: 70_000 }, () => Math.floor(random() * 256));
  for (const [from, to] of [[0, 0], [0, 1], [3, 11], [5, 4096], [1, 65_537], [0, 70_000]] as const) {
    const part = buf.subarray(from, to);
    assert.is(crc32(part), portableCrc32(part), `bytes ${from}…${to}`);
    assert.is(crc32(part, 0x12345678), portableCrc32(part, 0x12345678), `bytes ${from}…${to}, continued`);
  }
  assert.is(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

test("a host CRC-32 is installed only if it gives the right answers, and read as unsigned", async () => {
  await currentPlatform();
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 131) & 0xff);
  const expected = portableCrc32(data);
  assert.ok(expected > 0x7fffffff, "this data's checksum has its top bit set");
  assert.not.ok(useNativeCrc32(undefined), "none (Node before 20.15, Deno 2.0)");
  assert.not.ok(useNativeCrc32(() => 0), "a wrong one");
  assert.not.ok(useNativeCrc32(() => {
    throw new Error("unsupported");
  }), "one that throws");
  const installed = nativeCrc32()!;
  assert.is(crc32(data), expected, "the one installed before is kept");
  try {
    assert.ok(useNativeCrc32((d: Uint8Array, c: number) => portableCrc32(d, c) | 0), "a signed one (Deno 2.1–2.3) is right once read unsigned");
    assert.is.not(nativeCrc32(), installed);
    assert.is(crc32(data), expected);
    assert.is(crc32(data.subarray(500), crc32(data.subarray(0, 500))), expected);
  } finally {
    useNativeCrc32(installed);
  }
});

test("records round-trip with and without optional fields", () => {
  const buf = concat([A, B]);
  const { records, valid } = readAll(buf);
  assert.is(valid, buf.length);
  assert.equal(records, [A, B]);
});

test("non-ASCII subjects, ids and headers round-trip; the frame holds its own copy of the payload", () => {
  const data = enc.encode("päyload");
  const C: LogRecord = { seq: 3, ts: 5, subject: "tw.trends.s.k~C3~A9", msgId: "id-é-🔥", headers: { "tw-type": "ä" }, data };
  const encoded = encodeRecord(C);
  assert.is(encoded.chunks.length, 1);
  assert.is(encoded.bytes, encoded.chunks[0]!.length);
  assert.equal(encoded.data, data);
  data[0] = 0;
  assert.equal(encoded.data, enc.encode("päyload"), "a later change to the publisher's bytes does not reach the record");
  assert.equal(readAll(encoded.chunks[0]!).records, [{ ...C, data: enc.encode("päyload") }]);
});

test("an owned payload is not copied: the record is the header and the payload itself, and reads back the same", () => {
  const data = enc.encode("a payload the publisher hands over");
  const owned = encodeRecord(A_WITH(data), true);
  assert.is(owned.chunks.length, 2);
  assert.ok(owned.chunks[1] === data && owned.data === data, "the payload is the publisher's own bytes");
  assert.is(owned.bytes, owned.chunks[0]!.length + data.length);
  // Written one after the other, the two chunks are exactly the one-frame encoding.
  const joined = new Uint8Array(owned.bytes);
  joined.set(owned.chunks[0]!);
  joined.set(data, owned.chunks[0]!.length);
  assert.equal(joined, encodeRecord(A_WITH(data)).chunks[0]);
  assert.equal(readAll(joined).records, [A_WITH(enc.encode("a payload the publisher hands over"))]);
});

test("a torn tail ends reading at the last intact record", () => {
  const full = concat([A, B]);
  const firstLength = encodeRecord(A).bytes;
  for (const cut of [firstLength + 1, firstLength + 8, full.length - 1]) {
    const { records, valid } = readAll(full.subarray(0, cut));
    assert.is(valid, firstLength, `cut at ${cut}`);
    assert.is(records.length, 1);
  }
});

test("a flipped byte or zero fill is detected by the checksum, not mis-read", () => {
  const buf = concat([A, B]);
  buf[buf.length - 3] ^= 0xff;
  assert.is(readAll(buf).valid, encodeRecord(A).bytes);
  const zeros = new Uint8Array(encodeRecord(A).bytes + 64);
  zeros.set(concat([A]));
  assert.is(readAll(zeros).valid, encodeRecord(A).bytes);
});

test.run();
