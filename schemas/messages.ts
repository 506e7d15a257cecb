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
  array, bytes, epochMs, finite, integer, type Issues, nonEmptyString, nonNegativeFinite,
  nonNegativeInteger, object, oneOf, string, window,
} from "./checks.ts";
import { describe, isPlainObject, pointer, type ValidationIssue } from "./issues.ts";
import { checkKey, MAX_KEY_BYTES } from "./key.ts";
import { checkStreamName } from "./stream_name.ts";
import type { Direction, RawFormat } from "./types.ts";

/** Most issues one message-body validator reports. */
export const MAX_MESSAGE_ISSUES = 100;

const RAW_FORMATS: readonly RawFormat[] = ["json", "ndjson", "msgpack"];
const SOURCES: readonly ("http" | "ws" | "nats")[] = ["http", "ws", "nats"];
const DIRECTIONS: readonly Direction[] = ["up", "down"];

export function validateRawBatch(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "a RawBatch object")) return issues;
  checkStreamName(x.stream, "/stream", issues);
  nonEmptyString(x.batchId, "/batchId", issues);
  epochMs(x.receivedAt, "/receivedAt", issues);
  oneOf(x.format, "/format", issues, RAW_FORMATS);
  nonNegativeInteger(x.count, "/count", issues);
  oneOf(x.source, "/source", issues, SOURCES);
  bytes(x.body, "/body", issues);
  return issues;
}

export function validateEventBatch(x: unknown): ValidationIssue[] {
  const issues: Issues = [];
  if (!object(x, "", issues, "an EventBatch object")) return issues;
  checkStreamName(x.stream, "/stream", issues);
  nonNegativeInteger(x.partition, "/partition", issues);
  nonEmptyString(x.rawBatchId, "/rawBatchId", issues);
  if (array(x.events, "/events", issues, "an array of events")) {
    for (let i = 0; i < x.events.length && issues.length < MAX_MESSAGE_ISSUES; i++) {
      checkCanonicalEvent(x.events[i], `/events/${i}`, issues);
    }
  }
  return cap(issues);
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

/**
 * A CanonicalEvent as decode emits it. Counts and sizes of tags are not re-checked: decode may
 * run with non-default EventLimits, and these already passed them.
 */
function checkCanonicalEvent(x: unknown, path: string, issues: Issues): void {
  if (!object(x, path, issues, "a canonical event {key, ts, value, tags?, id?}")) return;
  checkKey(x.key, `${path}/key`, MAX_KEY_BYTES, issues);
  integer(x.ts, `${path}/ts`, issues);
  finite(x.value, `${path}/value`, issues);
  if (x.tags !== undefined) checkTags(x.tags, `${path}/tags`, issues);
  if (x.id !== undefined) nonEmptyString(x.id, `${path}/id`, issues);
}

function checkTags(x: unknown, path: string, issues: Issues): void {
  if (!isPlainObject(x)) {
    issues.push({ path, message: `expected an object of tags, got ${describe(x)}` });
    return;
  }
  for (const name of Object.keys(x)) {
    const v = x[name];
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v))) continue;
    issues.push({ path: pointer(path, name), message: `expected a tag value that is a string, a finite number or a boolean, got ${describe(v)}` });
    if (issues.length >= MAX_MESSAGE_ISSUES) return;
  }
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
