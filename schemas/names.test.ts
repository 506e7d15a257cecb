import { test } from "uvu";
import * as assert from "uvu/assert";
import { pointer } from "./issues.ts";
import { validateKey } from "./key.ts";
import { validateStreamName } from "./stream_name.ts";

test("stream names: 1..64 of [A-Za-z0-9_-]", () => {
  for (const ok of ["a", "clicks", "Page_Views-2", "x".repeat(64)]) assert.equal(validateStreamName(ok), [], ok);
  for (const bad of ["", "a.b", "a b", "a*", "a>", "é", "a/b", "x".repeat(65)]) {
    const issues = validateStreamName(bad);
    assert.is(issues.length, 1, bad);
    assert.is(issues[0]!.path, "");
    assert.ok(issues[0]!.message.startsWith("expected a stream name of 1..64 characters [A-Za-z0-9_-], got "), issues[0]!.message);
  }
  assert.ok(validateStreamName("x".repeat(65))[0]!.message.endsWith("got 65 characters"));
  assert.ok(validateStreamName(7 as unknown as string)[0]!.message.endsWith("got number 7"));
});

test("validateKey counts UTF-8 bytes, not characters", () => {
  assert.equal(validateKey("🔥".repeat(64)), []); // 4 bytes each = 256
  assert.is(validateKey("🔥".repeat(64) + "a")[0]!.message, "expected a non-empty string of at most 256 UTF-8 bytes, got 257 bytes");
  assert.is(validateKey("abc", 2).length, 1);
  assert.equal(validateKey("a.b c*>~"), []);
});

test("JSON Pointer tokens escape ~ and /", () => {
  assert.is(pointer("/tags", "a~b/c"), "/tags/a~0b~1c");
  assert.is(pointer("", 3), "/3");
  assert.is(pointer("/x", ""), "/x/");
});

test.run();
