/**
 * Runs every `*.test.ts` (on Deno, from the sources) or `*.test.js` (on Node, from dist/) in
 * one uvu session, so the closing totals cover the whole suite. Optional arguments are
 * regular expressions; only files whose path matches one of them run.
 *
 *   node dist/test/run.js [pattern…]        node_modules/deno/deno run -A test/run.ts [pattern…]
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "uvu/run";

const isDeno = "Deno" in globalThis;
const here = fileURLToPath(new URL(".", import.meta.url));
const root = resolve(here, ".."); // repo root on Deno, dist/ on Node
const suffix = isDeno ? ".test.ts" : ".test.js";
const dirs = ["runtime", "schemas", "actors", "app", "test", "bench"];
const patterns = (isDeno ? (globalThis as any).Deno.args : process.argv.slice(2)).map((p: string) => new RegExp(p));

function walk(dir: string, out: string[]): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names.sort()) {
    const path = join(dir, name);
    if (name === "node_modules") continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith(suffix)) out.push(path);
  }
}

const files: string[] = [];
for (const d of dirs) walk(join(root, d), files);
const selected = files.filter((f) => patterns.length === 0 || patterns.some((p: RegExp) => p.test(relative(root, f))));
if (selected.length === 0) {
  console.error(`no test files matched under ${root}`);
  process.exitCode = 1;
} else {
  await run(selected.map((file) => ({ name: relative(root, file), file: file.replace(/^\//, "") })));
}
