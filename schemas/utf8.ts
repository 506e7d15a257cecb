/**
 * UTF-8 sizes measured from JavaScript strings without encoding them: limits are in bytes (what
 * the wire and NATS see), and events are checked one by one on the hot path.
 */

/** Bytes `s` takes as UTF-8. An unpaired surrogate counts 3 bytes, as TextEncoder writes U+FFFD for it. */
export function utf8ByteLength(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

export function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

export function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Index of the first unpaired surrogate in `s`, or -1 when `s` is well-formed Unicode. */
export function firstLoneSurrogate(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xd800 || c > 0xdfff) continue;
    if (isHighSurrogate(c) && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      i++;
      continue;
    }
    return i;
  }
  return -1;
}

/** `U+000A` style name of a UTF-16 code unit, for messages. */
export function codeUnitName(c: number): string {
  return "U+" + c.toString(16).toUpperCase().padStart(4, "0");
}
