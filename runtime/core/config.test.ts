import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadConfig, type ConfigSpec } from "./config.ts";
import { ConfigError } from "./errors.ts";

const spec = {
  port: { type: "int", default: 8080, min: 0, max: 65535, env: "T_PORT", flag: "port", description: "port" },
  name: { type: "string", default: "x", env: "T_NAME", flag: "name", description: "name" },
  level: { type: "enum", default: "info", values: ["info", "debug"], env: "T_LEVEL", flag: "level", description: "level" },
  kinds: { type: "list", default: ["a", "b"], values: ["a", "b", "c"], env: "T_KINDS", flag: "kinds", description: "kinds" },
  sizes: { type: "map", default: {}, env: "T_SIZES", flag: "sizes", description: "sizes" },
  on: { type: "boolean", default: false, env: "T_ON", flag: "on", description: "on" },
} satisfies ConfigSpec;

test("layers: defaults < file < env < flags; result frozen", () => {
  const env: Record<string, string> = { T_PORT: "9000", T_NAME: "from-env" };
  const cfg = loadConfig(spec, { file: { port: 7000, name: "from-file", level: "debug" }, env: (n) => env[n], flags: { port: "9100", kinds: "c,a", sizes: "s1=5000,s2=60000", on: true } });
  assert.is(cfg.port, 9100);
  assert.is(cfg.name, "from-env");
  assert.is(cfg.level, "debug");
  assert.equal([...cfg.kinds], ["c", "a"]);
  assert.equal({ ...cfg.sizes }, { s1: 5000, s2: 60000 });
  assert.is(cfg.on, true);
  assert.ok(Object.isFrozen(cfg));
  assert.throws(() => ((cfg as { port: number }).port = 1));
});

test("bad values are rejected naming the field and where they came from", () => {
  const cases: [Parameters<typeof loadConfig>[1], string, RegExp][] = [
    [{ flags: { port: "70000" } }, "port", /≤ 65535.*--port/],
    [{ flags: { port: "8.5" } }, "port", /integer/],
    [{ env: (n) => (n === "T_PORT" ? "abc" : undefined) }, "port", /env T_PORT/],
    [{ file: { level: "loud" } }, "level", /one of info, debug.*config file/],
    [{ flags: { kinds: "a,z" } }, "kinds", /items from/],
    [{ flags: { sizes: "s1" } }, "sizes", /name=number/],
    [{ flags: { on: "maybe" } }, "on", /true or false/],
    [{ file: { prot: 1 } }, "prot", /unknown setting/],
    [{ flags: { prot: "1" } }, "--prot", /unknown option/],
  ];
  for (const [sources, field, message] of cases) {
    try {
      loadConfig(spec, sources);
      assert.unreachable(`expected ${field} to be rejected`);
    } catch (err) {
      assert.instance(err, ConfigError);
      assert.is((err as ConfigError).field, field);
      assert.match((err as Error).message, message);
    }
  }
});

test.run();
