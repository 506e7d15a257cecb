/**
 * Stream names: they appear in HTTP paths (`/v1/streams/{stream}/events`), NATS subjects
 * (`tw.raw.<stream>`, `tw.trends.<stream>.<key>`) and object names, so they are restricted to
 * characters that are safe in all three without escaping.
 */
import { describe, type ValidationIssue } from "./issues.ts";

export const MAX_STREAM_NAME_LENGTH = 64;
const STREAM_NAME = /^[A-Za-z0-9_-]+$/;

/** Checks a stream name: 1..64 characters of `[A-Za-z0-9_-]`. Empty result = valid. */
export function validateStreamName(name: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  checkStreamName(name, "", issues);
  return issues;
}

/** Whether `name` is a valid stream name (validateStreamName finds nothing). */
export function isStreamName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_STREAM_NAME_LENGTH && STREAM_NAME.test(name);
}

/** Appends at most one issue about `x` as a stream name; true when valid. */
export function checkStreamName(x: unknown, path: string, issues: ValidationIssue[]): x is string {
  if (typeof x === "string" && isStreamName(x)) return true;
  const found = typeof x === "string" && x.length > MAX_STREAM_NAME_LENGTH ? `${x.length} characters` : describe(x);
  issues.push({
    path,
    message: `expected a stream name of 1..${MAX_STREAM_NAME_LENGTH} characters [A-Za-z0-9_-], got ${found}`,
  });
  return false;
}
