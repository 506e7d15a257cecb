/**
 * Validators of every message body that crosses an actor boundary. They guard data decoded
 * from the wire (NATS, the in-process log), so they check the type of every field, not just
 * its presence.
 *
 * Unknown fields are ignored, not rejected: a body gains optional fields without a new
 * MessageType name, and during a rolling deploy an older consumer must not dead-letter a newer
 * producer's messages. Producer events (event.ts) are strict instead, to catch typos.
 *
 * Optional fields must be absent or of their type; `null` is rejected (a codec that writes
 * `undefined` as nil should omit such keys instead).
 *
 * Each validator reports at most MAX_MESSAGE_ISSUES issues, so a batch of 10 000 broken events
 * costs a bounded report.
 */
import {
  array, bytes, epochMs, finite, type Issues, nonEmptyString, nonNegativeFinite,
  nonNegativeInteger, object, oneOf, string, window,
} from "./checks.ts";
import { checkEventBatch } from "./event_batch.ts";
import { isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import { checkKey, MAX_KEY_BYTES } from "./key.ts";
import { checkStreamName } from "./stream_name.ts";
import type { Direction, RawFormat, RawSource } from "./types.ts";

/** Most issues one message-body validator reports. */
export const MAX_MESSAGE_ISSUES = 100;

const RAW_FORMATS: readonly RawFormat[] = ["json", "ndjson", "msgpack"];
const SOURCES: readonly RawSource[] = ["http", "ws", "nats"];
const DIRECTIONS: readonly Direction[] = ["up", "down"];

export function validateRawBatch(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "a RawBatch object")) return issues;
  checkStreamName(x.stream, "/stream", issues);
  nonEmptyString(x.batchId, "/batchId", issues);
  epochMs(x.receivedAt, "/receivedAt", issues);
  const okCount = nonNegativeInteger(x.count, "/count", issues);
  if (!array(x.parts, "/parts", issues, "a non-empty array of parts")) return issues;
  if (x.parts.length === 0) issues.push({ path: "/parts", message: "expected a non-empty array of parts, got an empty array" });
  let sum = 0;
  let okSum = okCount;
  for (let i = 0; i < x.parts.length && issues.length < MAX_MESSAGE_ISSUES; i++) {
    const part: unknown = x.parts[i];
    const at = `/parts/${i}`;
    if (!object(part, at, issues, "a part {batchId, receivedAt, format, count, source, body}")) {
      okSum = false;
      continue;
    }
    nonEmptyString(part.batchId, `${at}/batchId`, issues);
    epochMs(part.receivedAt, `${at}/receivedAt`, issues);
    oneOf(part.format, `${at}/format`, issues, RAW_FORMATS);
    if (nonNegativeInteger(part.count, `${at}/count`, issues)) sum += part.count;
    else okSum = false;
    oneOf(part.source, `${at}/source`, issues, SOURCES);
    bytes(part.body, `${at}/body`, issues);
  }
  if (okSum && sum !== x.count) issues.push({ path: "/count", message: `expected the sum of the parts' counts (${sum}), got ${String(x.count)}` });
  noLocalColumns(x, ["columns", "packed"], issues);
  return cap(issues);
}

export function validateEventBatch(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  checkEventBatch(x, issues, MAX_MESSAGE_ISSUES);
  if (isPlainObject(x)) noLocalColumns(x, ["columns"], issues);
  return cap(issues);
}

/**
 * Parsed events ride along only with bodies published in this process (which are not
 * validated: LocalRawBatch, PackedColumns, LocalEventBatch); consumers read them in place of
 * the wire fields, so a message from elsewhere that carries them would skip validation.
 */
function noLocalColumns(x: Record<string, unknown>, fields: readonly string[], issues: Issues): void {
  for (const field of fields) {
    if (x[field] !== undefined) issues.push({ path: `/${field}`, message: "not allowed in a message from the wire: the events are read from its other fields" });
  }
}

export function validateAggBatch(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "an AggBatch object")) return issues;
  nonNegativeInteger(x.partition, "/partition", issues);
  if (array(x.windows, "/windows", issues, "an array of windows")) {
    for (let i = 0; i < x.windows.length && issues.length < MAX_MESSAGE_ISSUES; i++) {
      checkWindow(x.windows[i], `/windows/${i}`, issues);
    }
  }
  if (object(x.watermarks, "/watermarks", issues, "an object mapping stream names to watermarks")) {
    for (const name of Object.keys(x.watermarks)) {
      if (issues.length >= MAX_MESSAGE_ISSUES) break;
      const at = pointer("/watermarks", name);
      if (checkStreamName(name, at, issues)) epochMs(x.watermarks[name], at, issues);
    }
  }
  return cap(issues);
}

export function validateTrendSignal(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "a TrendSignal object")) return issues;
  checkStreamName(x.stream, "/stream", issues);
  checkKey(x.key, "/key", MAX_KEY_BYTES, issues);
  window(x.windowStart, x.windowEnd, "", issues);
  finite(x.observed, "/observed", issues);
  finite(x.expected, "/expected", issues);
  nonNegativeFinite(x.spread, "/spread", issues);
  finite(x.score, "/score", issues);
  finite(x.threshold, "/threshold", issues);
  oneOf(x.direction, "/direction", issues, DIRECTIONS);
  nonEmptyString(x.detector, "/detector", issues);
  string(x.explanation, "/explanation", issues);
  epochMs(x.emittedAt, "/emittedAt", issues);
  return issues;
}

export function validateDeadLetter(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "a DeadLetterEntry object")) return issues;
  nonEmptyString(x.stage, "/stage", issues);
  nonEmptyString(x.reason, "/reason", issues);
  epochMs(x.at, "/at", issues);
  // `stream` is not checked as a stream name: a dead letter may record a request for an invalid one.
  if (x.stream !== undefined) string(x.stream, "/stream", issues);
  if (x.subject !== undefined) string(x.subject, "/subject", issues);
  if (x.seq !== undefined) nonNegativeInteger(x.seq, "/seq", issues);
  if (x.index !== undefined) nonNegativeInteger(x.index, "/index", issues);
  return issues;
}

function checkWindow(x: unknown, path: string, issues: Issues): void {
  if (!object(x, path, issues, "a WindowAggregate object")) return;
  checkStreamName(x.stream, `${path}/stream`, issues);
  checkKey(x.key, `${path}/key`, MAX_KEY_BYTES, issues);
  window(x.windowStart, x.windowEnd, path, issues);
  const { count, min, max } = x;
  const okCount = nonNegativeInteger(count, `${path}/count`, issues);
  finite(x.sum, `${path}/sum`, issues);
  const okMin = finite(min, `${path}/min`, issues);
  const okMax = finite(max, `${path}/max`, issues);
  if (okCount && okMin && okMax && count > 0 && min > max) {
    issues.push({ path: `${path}/max`, message: `expected max ≥ min (${min}), got ${max}` });
  }
  nonNegativeInteger(x.revision, `${path}/revision`, issues);
  if (x.partial !== undefined && typeof x.partial !== "boolean") {
    issues.push({ path: `${path}/partial`, message: `expected a boolean, got ${typeof x.partial}` });
  }
}

function cap(issues: Issues): Issues {
  return issues.length > MAX_MESSAGE_ISSUES ? issues.slice(0, MAX_MESSAGE_ISSUES) : issues;
}
