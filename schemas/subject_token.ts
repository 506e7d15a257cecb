/**
 * Keys as NATS subject tokens, for `tw.trends.<stream>.<key>`.
 *
 * A NATS token cannot hold `.` (the separator), `*` or `>` (wildcards), whitespace or control
 * characters, and some clients reject other bytes, so keys are escaped:
 *
 *   - `A-Z a-z 0-9 _ -` stay as they are;
 *   - every other character is written as its UTF-8 bytes, each as `~XX` with two UPPERCASE hex
 *     digits — `~` itself becomes `~7E`, `.` becomes `~2E`, a space `~20`, `é` `~C3~A9`.
 *
 * Examples: `eu-west` → `eu-west`, `a.b` → `a~2Eb`, `page/home` → `page~2Fhome`,
 * `🔥` → `~F0~9F~94~A5`. Every token therefore matches `^[A-Za-z0-9_~-]+$`.
 *
 * The encoding is canonical — each key has exactly one token — so subscribers may build subjects
 * themselves (`tw.trends.clicks.` + encode(key)) and compare tokens byte for byte.
 * decodeSubjectToken accepts only canonical tokens (uppercase hex, no escaped safe characters,
 * valid UTF-8) and throws ValidationError otherwise. A key of 256 UTF-8 bytes becomes at most
 * 768 characters.
 */
import { ValidationError } from "./issues.ts";
import { codeUnitName, isHighSurrogate, isLowSurrogate } from "./utf8.ts";

const HEX = "0123456789ABCDEF";
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function isSafe(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d;
}

function esc(byte: number): string {
  return "~" + HEX[byte >> 4] + HEX[byte & 0x0f];
}

/** Encodes a non-empty key (well-formed Unicode) as a subject token; throws ValidationError otherwise. */
export function encodeSubjectToken(key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new ValidationError([{ path: "", message: "expected a non-empty key, got an empty string" }]);
  }
  let i = 0;
  while (i < key.length && isSafe(key.charCodeAt(i))) i++;
  if (i === key.length) return key; // the common case: nothing to escape
  let out = key.slice(0, i);
  for (; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (isSafe(c)) out += key[i];
    else if (c < 0x80) out += esc(c);
    else if (c < 0x800) out += esc(0xc0 | (c >> 6)) + esc(0x80 | (c & 0x3f));
    else if (c < 0xd800 || c > 0xdfff) out += esc(0xe0 | (c >> 12)) + esc(0x80 | ((c >> 6) & 0x3f)) + esc(0x80 | (c & 0x3f));
    else if (isHighSurrogate(c) && i + 1 < key.length && isLowSurrogate(key.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (key.charCodeAt(++i) - 0xdc00);
      out += esc(0xf0 | (cp >> 18)) + esc(0x80 | ((cp >> 12) & 0x3f)) + esc(0x80 | ((cp >> 6) & 0x3f)) + esc(0x80 | (cp & 0x3f));
    } else {
      // An unpaired surrogate has no UTF-8 form; encoding it as U+FFFD would not be reversible.
      throw new ValidationError([{ path: "", message: `expected well-formed Unicode, got an unpaired surrogate ${codeUnitName(c)} at index ${i}` }]);
    }
  }
  return out;
}

/** Inverts encodeSubjectToken; throws ValidationError for a token it could not have produced. */
export function decodeSubjectToken(token: string): string {
  if (typeof token !== "string" || token.length === 0) {
    throw new ValidationError([{ path: "", message: "expected a non-empty subject token, got an empty string" }]);
  }
  const bytes = new Uint8Array(token.length);
  let n = 0;
  let escaped = false;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (isSafe(c)) {
      bytes[n++] = c;
      continue;
    }
    if (c !== 0x7e) throw invalid(token, `character ${codeUnitName(c)} at index ${i} is neither [A-Za-z0-9_-] nor an escape`);
    const hi = hexValue(token.charCodeAt(i + 1));
    const lo = hexValue(token.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) throw invalid(token, `expected two uppercase hex digits after "~" at index ${i}`);
    const b = (hi << 4) | lo;
    if (isSafe(b)) throw invalid(token, `escape at index ${i} encodes ${JSON.stringify(String.fromCharCode(b))}, which is never escaped`);
    bytes[n++] = b;
    escaped = true;
    i += 2;
  }
  if (!escaped) return token;
  try {
    return utf8.decode(bytes.subarray(0, n));
  } catch (cause) {
    throw new ValidationError([{ path: "", message: `expected escapes that form valid UTF-8 in ${JSON.stringify(token)}` }], { cause });
  }
}

/** 0..15 for an uppercase hex digit, -1 otherwise (NaN past the end included). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

function invalid(token: string, why: string): ValidationError {
  return new ValidationError([{ path: "", message: `invalid subject token ${JSON.stringify(token)}: ${why}` }]);
}
