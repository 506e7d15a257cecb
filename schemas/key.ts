/**
 * Event keys: the unit trends are counted for. A key ends up in NATS subjects (encoded with
 * encodeSubjectToken), object names and HTTP paths, so it must be non-empty, bounded in bytes,
 * free of control characters and well-formed Unicode (an unpaired surrogate cannot round-trip
 * through UTF-8, so it would not survive the subject encoding).
 */
import { describe, type ValidationIssue } from "./issues.ts";
import { codeUnitName, isHighSurrogate, isLowSurrogate } from "./utf8.ts";

/** Maximum UTF-8 bytes of a key. */
export const MAX_KEY_BYTES = 256;

/** Checks a key (e.g. one taken from an HTTP path); returns the issues, empty = valid. */
export function validateKey(key: unknown, maxBytes: number = MAX_KEY_BYTES): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  checkKey(key, "", maxBytes, issues);
  return issues;
}

/** Appends at most one issue about `x` as a key to `issues`; true when `x` is a valid key. */
export function checkKey(x: unknown, path: string, maxBytes: number, issues: ValidationIssue[]): x is string {
  const problem = keyProblem(x, maxBytes);
  if (problem === undefined) return true;
  issues.push({ path, message: problem });
  return false;
}

/**
 * What is wrong with `x` as a key, or undefined when it is a valid key. Builds no string for a
 * valid key: this runs for every event.
 */
export function keyProblem(x: unknown, maxBytes: number): string | undefined {
  if (typeof x !== "string" || x.length === 0) return `expected a non-empty string of at most ${maxBytes} UTF-8 bytes, got ${describe(x)}`;
  // One pass: byte length, control characters and surrogate pairing.
  let bytes = 0;
  for (let i = 0; i < x.length; i++) {
    const c = x.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return `expected no control characters, got ${codeUnitName(c)} at index ${i}`;
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c < 0xd800 || c > 0xdfff) bytes += 3;
    else if (isHighSurrogate(c) && i + 1 < x.length && isLowSurrogate(x.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else {
      return `expected well-formed Unicode, got an unpaired surrogate ${codeUnitName(c)} at index ${i}`;
    }
  }
  if (bytes > maxBytes) return `expected a non-empty string of at most ${maxBytes} UTF-8 bytes, got ${bytes} bytes`;
  return undefined;
}
