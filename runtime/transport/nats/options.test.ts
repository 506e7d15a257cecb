import { test } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError } from "../../core/errors.ts";
import { parseNatsOptions } from "./options.ts";

test("defaults: local server, endless reconnects with jitter, async traces off", () => {
  const o = parseNatsOptions({});
  assert.equal(o.servers, ["nats://127.0.0.1:4222"]);
  assert.is(o.connection.maxReconnectAttempts, -1);
  assert.is(o.connection.reconnectJitter, 500);
  assert.is(o.connection.noAsyncTraces, true);
  assert.is(o.publishTimeoutMs, 5000);
  assert.equal(o.streamDefaults, { storage: "file", replicas: 1, maxAgeMs: 0, maxBytes: 1024 ** 3, duplicateWindowMs: 120_000 });
});

test("credentials become connection options", () => {
  assert.equal([parseNatsOptions({ user: "u", pass: "p" }).connection.user, parseNatsOptions({ user: "u", pass: "p" }).connection.pass], ["u", "p"]);
  assert.is(parseNatsOptions({ token: "t" }).connection.token, "t");
  assert.equal(parseNatsOptions({ tls: { caFile: "/ca.pem" } }).connection.tls, { caFile: "/ca.pem" });
});

test("a bad value is rejected by field name", () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.instance(error, ConfigError);
      return (error as ConfigError).field;
    }
    throw new Error("no ConfigError");
  };
  assert.is(field(() => parseNatsOptions({ servers: [] })), "servers");
  assert.is(field(() => parseNatsOptions({ publishTimeoutMs: 0 })), "publishTimeoutMs");
  assert.is(field(() => parseNatsOptions({ maxReconnectAttempts: -2 })), "maxReconnectAttempts");
  assert.is(field(() => parseNatsOptions({ streamDefaults: { storage: "disk" as "file" } })), "streamDefaults.storage");
  assert.is(field(() => parseNatsOptions({ token: "t", user: "u", pass: "p" })), "token");
  assert.is(field(() => parseNatsOptions({ pass: "p" })), "user");
});

test.run();
