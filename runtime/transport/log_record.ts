/**
 * The record format of the in-process transport's durable log (one stream = a directory of
 * segment files, each a sequence of records). All integers little-endian:
 *
 * ```
 * frame   u32 bodyLength | u32 crc32(body) | body
 * body    u8  kind (1 = message)
 *         f64 seq | f64 ts (epoch ms, publish time)
 *         u32 subjectLength | subject (UTF-8)
 *         u32 msgIdLength   | msgId (UTF-8; length 0 = none)
 *         u32 headersLength | headers (JSON object; length 0 = none)
 *         data (the rest of the body)
 * ```
 *
 * The length prefix plus checksum is what makes a crash mid-write harmless: a torn or garbled
 * tail (short frame, impossible length, checksum mismatch, zero fill) ends `readRecords`, and
 * recovery truncates the file there instead of mis-reading it.
 */
import { crc32 } from "./log_crc32.ts";

export interface LogRecord {
  seq: number;
  ts: number;
  subject: string;
  msgId?: string;
  headers?: Record<string, string>;
  data: Uint8Array;
}

/**
 * A record ready for AppendFile.write: one contiguous frame (header and payload, so a flush
 * hands the file one buffer per record) and, as a view into it, the copy of the payload.
 */
export interface EncodedRecord {
  /** `[frame]`, or `[header, payload]` for an owned payload. */
  chunks: Uint8Array[];
  /** Frame length. */
  bytes: number;
  /** The payload inside the frame (a copy of `record.data` the publisher cannot change), or `record.data` itself when owned. */
  data: Uint8Array;
}

const FRAME = 8;
const KIND_MESSAGE = 1;
/** kind + seq + ts + three length fields: the smallest possible body. */
const MIN_BODY = 1 + 8 + 8 + 4 + 4 + 4;
const NONE = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Whether `s` is all ASCII (then its UTF-8 bytes are its char codes, no encoder needed). */
function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Writes `s` at `o` (ASCII fast path) and returns its byte length; `bytes` is its UTF-8 form when not ASCII. */
function put(frame: Uint8Array, o: number, s: string, bytes: Uint8Array | undefined): number {
  if (bytes !== undefined) {
    frame.set(bytes, o);
    return bytes.length;
  }
  for (let i = 0; i < s.length; i++) frame[o + i] = s.charCodeAt(i);
  return s.length;
}

/**
 * Encodes a record into one frame: the payload is copied once, into the frame, and the
 * checksum runs over the body in one pass. With `owned` (the caller hands `record.data` over
 * and never changes it again) the payload is not copied: the frame is the header, then the
 * payload as it is, two chunks of one record.
 */
export function encodeRecord(record: LogRecord, owned = false): EncodedRecord {
  const subject = record.subject;
  const msgId = record.msgId ?? "";
  const headersText = record.headers && Object.keys(record.headers).length > 0 ? JSON.stringify(record.headers) : "";
  // Subjects and ids are ASCII in practice; others go through TextEncoder.
  const subjectBytes = ascii(subject) ? undefined : encoder.encode(subject);
  const msgIdBytes = ascii(msgId) ? undefined : encoder.encode(msgId);
  const headersBytes = headersText === "" ? NONE : encoder.encode(headersText);
  const subjectLength = subjectBytes?.length ?? subject.length;
  const msgIdLength = msgIdBytes?.length ?? msgId.length;
  const headLength = FRAME + MIN_BODY + subjectLength + msgIdLength + headersBytes.length;
  const frame = new Uint8Array(owned ? headLength : headLength + record.data.length);
  const view = new DataView(frame.buffer);
  let o = FRAME;
  view.setUint8(o, KIND_MESSAGE);
  view.setFloat64(o + 1, record.seq, true);
  view.setFloat64(o + 9, record.ts, true);
  o += 17;
  view.setUint32(o, subjectLength, true);
  o += 4 + put(frame, o + 4, subject, subjectBytes);
  view.setUint32(o, msgIdLength, true);
  o += 4 + put(frame, o + 4, msgId, msgIdBytes);
  view.setUint32(o, headersBytes.length, true);
  frame.set(headersBytes, o + 4);
  o += 4 + headersBytes.length;
  const bodyLength = headLength - FRAME + record.data.length;
  view.setUint32(0, bodyLength, true);
  if (owned) {
    view.setUint32(4, crc32(record.data, crc32(frame.subarray(FRAME))), true);
    return { chunks: [frame, record.data], bytes: headLength + record.data.length, data: record.data };
  }
  frame.set(record.data, o);
  view.setUint32(4, crc32(frame.subarray(FRAME)), true);
  return { chunks: [frame], bytes: frame.length, data: frame.subarray(o) };
}

/**
 * Calls `each` for every intact record from the start of `buf` and returns how many bytes
 * they span; anything after that is a torn or corrupt tail. Record data are views into `buf`:
 * copy what you keep.
 */
export function readRecords(buf: Uint8Array, each: (record: LogRecord) => void): number {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  while (buf.length - o >= FRAME + MIN_BODY) {
    const length = view.getUint32(o, true);
    if (length < MIN_BODY || length > buf.length - o - FRAME) break;
    const body = buf.subarray(o + FRAME, o + FRAME + length);
    if (crc32(body) !== view.getUint32(o + 4, true)) break;
    const record = parseBody(body, o + FRAME, view);
    if (!record) break;
    each(record);
    o += FRAME + length;
  }
  return o;
}

function parseBody(body: Uint8Array, at: number, view: DataView): LogRecord | undefined {
  if (view.getUint8(at) !== KIND_MESSAGE) return undefined;
  const seq = view.getFloat64(at + 1, true);
  const ts = view.getFloat64(at + 9, true);
  let o = 17;
  const fields: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    if (o + 4 > body.length) return undefined;
    const length = view.getUint32(at + o, true);
    if (o + 4 + length > body.length) return undefined;
    fields.push(body.subarray(o + 4, o + 4 + length));
    o += 4 + length;
  }
  const [subject, msgId, headers] = fields;
  const record: LogRecord = { seq, ts, subject: decoder.decode(subject), data: body.subarray(o) };
  if (msgId.length > 0) record.msgId = decoder.decode(msgId);
  if (headers.length > 0) {
    try {
      record.headers = JSON.parse(decoder.decode(headers)) as Record<string, string>;
    } catch {
      return undefined;
    }
  }
  return record;
}
