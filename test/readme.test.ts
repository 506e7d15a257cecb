/** README.md stays true to the code: its configuration table is the one the code generates. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { configTableMarkdown } from "../app/cli.ts";
import { repoRoot } from "./helpers/cli.ts";

test("the README's configuration table matches the settings in app/config.ts", async () => {
  const readme = await readFile(join(repoRoot(), "README.md"), "utf8");
  const start = readme.indexOf("<!-- config-table");
  const end = readme.indexOf("<!-- /config-table -->");
  assert.ok(start >= 0 && end > start, "README has the config-table markers");
  const table = readme.slice(readme.indexOf("\n", start) + 1, end).trim();
  assert.fixture(table, configTableMarkdown(), "regenerate it with: node dist/app/main.js help config");
});

test("the README names the two commands a new user needs", async () => {
  const readme = await readFile(join(repoRoot(), "README.md"), "utf8");
  assert.match(readme, "npm install && npm start");
  assert.match(readme, "npm test");
});

test.run();
