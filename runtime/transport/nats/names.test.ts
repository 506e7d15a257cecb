import { test } from "uvu";
import * as assert from "uvu/assert";
import { consumerName, HOLD_CONSUMER, kvKey } from "./names.ts";

test("safe names stay as they are", () => {
  assert.is(consumerName("decode"), "decode");
  assert.is(consumerName("group-a_1"), "group-a_1");
  assert.is(kvKey("aggregate-3"), "aggregate-3");
});

test("characters NATS refuses are escaped, distinct inputs stay distinct", () => {
  assert.is(consumerName("a.b"), "a~2Eb");
  assert.is(consumerName("a b>*"), "a~20b~3E~2A");
  assert.is.not(consumerName("a.b"), consumerName("a~2Eb"));
  assert.is(kvKey("aggregate/3"), "aggregate=2F3");
  assert.is.not(kvKey("a/b"), kvKey("a=2Fb"));
  assert.is(kvKey("é"), "=C3=A9");
  for (const key of [kvKey("x.y"), kvKey("../etc"), kvKey(" ")]) assert.ok(/^[-_=A-Za-z0-9]+$/.test(key), key);
});

test("the holding consumer's name cannot come from a group that needs escaping", () => {
  assert.is(consumerName(HOLD_CONSUMER), HOLD_CONSUMER, "so consume() rejects that group by name");
});

test.run();
