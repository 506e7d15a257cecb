/**
 * Field checks shared by the message-body validators. Each appends at most one issue for the
 * value at `path` and returns whether the value passed, so validators read as a list of fields.
 */
import { describe, isPlainObject, type ValidationIssue } from "./issues.ts";

export type Issues = ValidationIssue[];

export function object(x: unknown, path: string, issues: Issues, what: string): x is Record<string, unknown> {
  if (isPlainObject(x)) return true;
  issues.push({ path, message: `expected ${what}, got ${describe(x)}` });
  return false;
}

export function array(x: unknown, path: string, issues: Issues, what: string): x is unknown[] {
  if (Array.isArray(x)) return true;
  issues.push({ path, message: `expected ${what}, got ${describe(x)}` });
  return false;
}

export function nonEmptyString(x: unknown, path: string, issues: Issues): x is string {
  if (typeof x === "string" && x.length > 0) return true;
  issues.push({ path, message: `expected a non-empty string, got ${describe(x)}` });
  return false;
}

export function string(x: unknown, path: string, issues: Issues): x is string {
  if (typeof x === "string") return true;
  issues.push({ path, message: `expected a string, got ${describe(x)}` });
  return false;
}

export function finite(x: unknown, path: string, issues: Issues): x is number {
  if (typeof x === "number" && Number.isFinite(x)) return true;
  issues.push({ path, message: `expected a finite number, got ${describe(x)}` });
  return false;
}

export function nonNegativeFinite(x: unknown, path: string, issues: Issues): x is number {
  if (typeof x === "number" && Number.isFinite(x) && x >= 0) return true;
  issues.push({ path, message: `expected a finite number ≥ 0, got ${describe(x)}` });
  return false;
}

export function integer(x: unknown, path: string, issues: Issues): x is number {
  if (Number.isSafeInteger(x)) return true;
  issues.push({ path, message: `expected an integer, got ${describe(x)}` });
  return false;
}

export function nonNegativeInteger(x: unknown, path: string, issues: Issues): x is number {
  if (Number.isSafeInteger(x) && (x as number) >= 0) return true;
  issues.push({ path, message: `expected a non-negative integer, got ${describe(x)}` });
  return false;
}

/** Epoch milliseconds: a non-negative safe integer. */
export function epochMs(x: unknown, path: string, issues: Issues): x is number {
  if (Number.isSafeInteger(x) && (x as number) >= 0) return true;
  issues.push({ path, message: `expected epoch milliseconds (a non-negative integer), got ${describe(x)}` });
  return false;
}

export function oneOf<T extends string>(x: unknown, path: string, issues: Issues, allowed: readonly T[]): x is T {
  if (typeof x === "string" && (allowed as readonly string[]).includes(x)) return true;
  issues.push({ path, message: `expected one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${describe(x)}` });
  return false;
}

export function bytes(x: unknown, path: string, issues: Issues): x is Uint8Array {
  if (x instanceof Uint8Array) return true;
  issues.push({ path, message: `expected bytes (a Uint8Array), got ${describe(x)}` });
  return false;
}

/** `[start, end)` window bounds in epoch ms with end after start. */
export function window(start: unknown, end: unknown, path: string, issues: Issues): void {
  const okStart = epochMs(start, `${path}/windowStart`, issues);
  const okEnd = epochMs(end, `${path}/windowEnd`, issues);
  if (okStart && okEnd && end <= start) {
    issues.push({ path: `${path}/windowEnd`, message: `expected windowEnd after windowStart (${start}), got ${end}` });
  }
}
