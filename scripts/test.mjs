#!/usr/bin/env node
// The test command (npm test): the whole uvu suite on Node (compiled, dist/) and then on Deno
// (from the sources), with one closing line "N passed, N failed" over both. Arguments are
// file-path patterns passed to both runs; set TW_TEST_RUNTIMES=node or =deno to run one.
import { spawn } from "node:child_process";

const patterns = process.argv.slice(2);
const runtimes = (process.env.TW_TEST_RUNTIMES ?? "node,deno").split(",").map((s) => s.trim()).filter(Boolean);
const commands = {
  // gc exposed: tests check that what is handed on is let go (mailbox, held input, the thread bridge).
  node: [process.execPath, ["--experimental-websocket", "--no-warnings", "--expose-gc", "dist/test/run.js", ...patterns]],
  deno: ["node_modules/deno/deno", ["run", "-A", "--quiet", "--v8-flags=--expose-gc", "test/run.ts", ...patterns]],
};

// uvu's totals, with its ANSI colours stripped.
function totals(output) {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const total = /Total:\s+(\d+)/.exec(plain);
  const passed = /Passed:\s+(\d+)/.exec(plain);
  const skipped = /Skipped:\s+(\d+)/.exec(plain);
  if (!total || !passed) return undefined;
  return { total: Number(total[1]), passed: Number(passed[1]), skipped: Number(skipped?.[1] ?? 0) };
}

function runOne(name) {
  const [cmd, args] = commands[name];
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on("close", (code, signal) => resolve({ name, code, signal, totals: totals(out) }));
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const name of runtimes) {
  if (!commands[name]) throw new Error(`unknown runtime ${name}`);
  const r = await runOne(name);
  if (!r.totals) {
    console.log(`${name}: the test run ended (code ${r.code}, signal ${r.signal}) without uvu totals; counting it as a failure`);
    failed += 1;
    continue;
  }
  const f = r.totals.total - r.totals.passed - r.totals.skipped;
  passed += r.totals.passed;
  failed += f > 0 ? f : r.code === 0 ? 0 : 1;
  skipped += r.totals.skipped;
  console.log(`${name}: ${r.totals.passed} passed, ${f} failed, ${r.totals.skipped} skipped (exit ${r.code})`);
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || skipped > 0 ? 1 : 0);
