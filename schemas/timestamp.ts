/**
 * Event timestamps: epoch milliseconds or an ISO-8601 / RFC 3339 date-time with a zone,
 * resolved to integer epoch ms. Parsed by hand rather than with Date.parse, whose accepted
 * formats differ between engines and which reads a zone-less string as local time — a value
 * that would then depend on the machine that decoded it.
 */
import { describe } from "./issues.ts";

/** A resolved timestamp, or why it was rejected. */
export type TimestampResult = { ok: true; ts: number } | { ok: false; message: string };

/** Numbers below this are far more likely epoch seconds than milliseconds (1e11 ms ≈ 1973-03-03). */
const SECONDS_SUSPECT_BELOW = 1e11;

// Extended format: date, then time with optional seconds and fraction, then a zone (optional
// here so a missing zone gets its own message). `T`, `t` or one space separate date and time.
const DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const TIME_ONLY = /^[Tt]?\d{2}:\d{2}/;

const EXAMPLE = `"2026-01-21T14:30:00Z"`;

/** Resolves `x` to integer epoch ms within `[min, max)`. */
export function parseTimestamp(x: unknown, min: number, max: number): TimestampResult {
  if (typeof x === "number") return fromNumber(x, min, max);
  if (typeof x === "string") return fromString(x, min, max);
  return {
    ok: false,
    message: `expected epoch milliseconds (a number) or an ISO-8601 date-time string, got ${describe(x)}`,
  };
}

function fromNumber(n: number, min: number, max: number): TimestampResult {
  if (!Number.isFinite(n)) return { ok: false, message: `expected finite epoch milliseconds, got ${n}` };
  const ms = Math.floor(n);
  if (ms >= 0 && ms < SECONDS_SUSPECT_BELOW) {
    return {
      ok: false,
      message: `expected epoch milliseconds, got ${n}, which looks like epoch seconds (multiply by 1000)`,
    };
  }
  return inRange(ms, min, max, `${n}`);
}

function fromString(s: string, min: number, max: number): TimestampResult {
  const m = DATE_TIME.exec(s);
  if (m === null) {
    const why = TIME_ONLY.test(s) ? `a time without a date ${JSON.stringify(s)}` : describe(s);
    return { ok: false, message: `expected an ISO-8601 date-time with a zone such as ${EXAMPLE}, got ${why}` };
  }
  const [, y, mo, d, h, mi, sec, frac, zone] = m;
  if (h === undefined) {
    return { ok: false, message: `expected an ISO-8601 date-time with a time and a zone such as ${EXAMPLE}, got the date alone ${JSON.stringify(s)}` };
  }
  if (zone === undefined) {
    return {
      ok: false,
      message: `expected a zone (Z or ±hh:mm) in ${JSON.stringify(s)}: without one the time is ambiguous`,
    };
  }
  const year = Number(y), month = Number(mo), day = Number(d);
  const hour = Number(h), minute = Number(mi), second = sec === undefined ? 0 : Number(sec);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return { ok: false, message: `expected a valid calendar date, got ${JSON.stringify(s)}` };
  }
  // Second 60 is an RFC 3339 leap second; Date.UTC rolls it into the next minute.
  if (hour > 23 || minute > 59 || second > 60) {
    return { ok: false, message: `expected a valid time of day, got ${JSON.stringify(s)}` };
  }
  const offset = zoneOffsetMinutes(zone);
  if (offset === undefined) {
    return { ok: false, message: `expected a zone offset of at most ±23:59, got ${JSON.stringify(zone)}` };
  }
  // Sub-millisecond digits are dropped (floor), as for numeric timestamps.
  const millis = frac === undefined ? 0 : Number((frac + "00").slice(0, 3));
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, millis) - offset * 60_000;
  return inRange(ms, min, max, JSON.stringify(s));
}

function inRange(ms: number, min: number, max: number, shown: string): TimestampResult {
  if (ms >= min && ms < max) return { ok: true, ts: ms };
  return {
    ok: false,
    message: `expected a time from ${iso(min)} to before ${iso(max)}, got ${shown}${
      Number.isFinite(ms) && Math.abs(ms) < 8.64e15 && shown !== iso(ms) ? ` (${iso(ms)})` : ""
    }`,
  };
}

function zoneOffsetMinutes(zone: string): number | undefined {
  if (zone === "Z" || zone === "z") return 0;
  const sign = zone[0] === "-" ? -1 : 1;
  const digits = zone.slice(1).replace(":", "");
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  if (hours > 23 || minutes > 59) return undefined;
  return sign * (hours * 60 + minutes);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

