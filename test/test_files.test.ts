/**
 * Every test file runs all of its tests: uvu's `test.run()` takes the tests registered so far,
 * so a test written after it never runs and is never counted (two did not, unnoticed, until
 * this check).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { repoRoot } from "./helpers/cli.ts";

function testFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) testFiles(path, out);
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

test("no test is registered after its file's test.run(), every file runs its suites, and none is narrowed by .only or .skip", () => {
  const root = repoRoot();
  const files = ["actors", "app", "bench", "runtime", "schemas", "test"].flatMap((d) => testFiles(join(root, d)));
  assert.ok(files.length > 50, `found the test files (${files.length})`);
  const late: string[] = [];
  const unrun: string[] = [];
  const narrowed: string[] = [];
  const onlyOrSkip = /\.(only|skip)\(/;
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    // (transportConformance runs the suite it builds.)
    if (!/\.run\(\);|transportConformance\(/.test(text)) unrun.push(relative(root, file));
    if (onlyOrSkip.test(text)) narrowed.push(relative(root, file));
    const at = text.indexOf("\ntest.run();");
    if (at >= 0 && /\n(test|test\.only)\(/.test(text.slice(at + 1))) late.push(relative(root, file));
  }
  assert.equal(late, [], "tests after test.run() never run");
  assert.equal(unrun, [], "files whose suites are never run");
  // test.only leaves the rest of its file unrun without counting it as skipped; test.skip is a test that does not run.
  assert.equal(narrowed, [], "files with test.only or test.skip");
});

test.run();
