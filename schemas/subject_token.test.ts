import { test } from "uvu";
import * as assert from "uvu/assert";
import { ValidationError } from "./issues.ts";
import { decodeSubjectToken, encodeSubjectToken } from "./subject_token.ts";

const TOKEN = /^[A-Za-z0-9_~-]+$/;

test("keeps [A-Za-z0-9_-] as is and escapes the rest as ~XX of UTF-8 bytes", () => {
  const cases: [string, string][] = [
    ["eu-west_1", "eu-west_1"],
    ["a.b", "a~2Eb"],
    ["a b", "a~20b"],
    ["*", "~2A"],
    [">", "~3E"],
    ["~", "~7E"],
    ["~7E", "~7E7E"],
    ["é", "~C3~A9"],
    ["页", "~E9~A1~B5"],
    ["🔥", "~F0~9F~94~A5"],
    ["\ufeffbom", "~EF~BB~BFbom"],
  ];
  for (const [key, token] of cases) assert.is(encodeSubjectToken(key), token, key);
});

test("round trip for tricky keys; every token is a valid NATS token", () => {
  const keys = [
    "a.b.c", "tw.trends.>", "with space", "  ", "*", ">", "~", "~~7E", "%41", "emoji 🔥🚀👩‍👩‍👧", "中文键/页面",
    "日本語.キー", "\ufeffbom", "tab\tand\nnewline", "\u0000", "-_-", "A".repeat(256), "é".repeat(128), "\u07ff\u0800\uffff",
  ];
  for (const key of keys) {
    const token = encodeSubjectToken(key);
    assert.ok(TOKEN.test(token), `${JSON.stringify(key)} → ${token}`);
    assert.is(decodeSubjectToken(token), key);
  }
});

test("agrees with TextEncoder's bytes for every escaped character", () => {
  const key = "é页🔥 .~\u0001";
  const expected = Array.from(new TextEncoder().encode(key), (b) => "~" + b.toString(16).toUpperCase().padStart(2, "0")).join("");
  assert.is(encodeSubjectToken(key), expected);
});

test("rejects keys it cannot encode reversibly", () => {
  for (const key of ["", "a\ud800", "\udc00b"]) {
    assert.throws(() => encodeSubjectToken(key), (e: unknown) => e instanceof ValidationError, JSON.stringify(key));
  }
});

test("decode accepts only canonical tokens", () => {
  const bad = [
    "", // empty
    "a.b", // separator
    "a b", // raw space
    "~2e", // lowercase hex
    "~2", // truncated escape
    "~", // bare tilde
    "~41", // "A" is never escaped
    "~2D", // "-" is never escaped
    "~C3", // incomplete UTF-8 sequence
    "~FF", // never valid in UTF-8
    "~ED~A0~80", // an encoded surrogate
    "é", // non-ASCII must be escaped
  ];
  for (const token of bad) {
    assert.throws(() => decodeSubjectToken(token), (e: unknown) => e instanceof ValidationError, JSON.stringify(token));
  }
});

test.run();
