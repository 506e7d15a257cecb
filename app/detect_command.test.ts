/** parseSeriesCsv: NAB's `timestamp,value` format, other timestamp forms, and errors naming the line. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSeriesCsv, SeriesCsvError } from "./detect_command.ts";

test("NAB rows: zone-less timestamps read as UTC, integer and float values, blank lines and CRLF skipped", () => {
  const rows = parseSeriesCsv("timestamp,value\r\n2014-07-01 00:00:00,10844\r\n\r\n2014-07-01 00:30:00,81.25\r\n");
  assert.equal(rows, [
    { text: "2014-07-01 00:00:00", ts: Date.UTC(2014, 6, 1, 0, 0), value: 10844 },
    { text: "2014-07-01 00:30:00", ts: Date.UTC(2014, 6, 1, 0, 30), value: 81.25 },
  ]);
});

test("ISO 8601 with a zone and epoch ms", () => {
  const rows = parseSeriesCsv("timestamp,value\n2014-07-01T02:00:00+02:00,1\n2014-07-01T00:05:00Z,2\n1404173100000,-3.5\n");
  assert.equal(rows.map((r) => r.ts), [Date.UTC(2014, 6, 1, 0, 0), Date.UTC(2014, 6, 1, 0, 5), Date.UTC(2014, 6, 1, 0, 5)]);
  assert.equal(rows.map((r) => r.value), [1, 2, -3.5]);
});

function errorOf(text: string): SeriesCsvError {
  try {
    parseSeriesCsv(text);
  } catch (err) {
    if (err instanceof SeriesCsvError) return err;
    throw err;
  }
  throw new Error("expected a SeriesCsvError");
}

test("errors name the line: header, value, timestamp, missing comma", () => {
  const header = errorOf("time,value\n2014-07-01 00:00:00,1\n");
  assert.is(header.line, 1);
  assert.match(header.message, /^line 1: expected the header "timestamp,value"/);
  const value = errorOf("timestamp,value\n2014-07-01 00:00:00,1\n2014-07-01 00:05:00,abc\n");
  assert.is(value.line, 3);
  assert.match(value.message, /^line 3: value must be a finite number, got "abc"/);
  const empty = errorOf("timestamp,value\n2014-07-01 00:00:00,\n");
  assert.is(empty.line, 2);
  const ts = errorOf("timestamp,value\n2014-07-01 00:00:00,1\n\nyesterday,2\n");
  assert.is(ts.line, 4); // the blank line still counts
  assert.match(ts.message, /^line 4: timestamp must be .* got "yesterday"/);
  assert.is(errorOf("timestamp,value\n12\n").line, 2);
});

test.run();
