/**
 * The real CLI, as an operator runs it: help, a rejected flag, and a full run — start, take
 * events, stop on SIGTERM with exit code 0 — after which the archive reconciles.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { freePort, spawnCli } from "../helpers/cli.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { waitFor, withTimeout } from "../helpers/wait.ts";
import { chunk, encodeBody, T0, tally, windowEvents } from "../helpers/events.ts";
import { postEvents } from "../helpers/edge_client.ts";
import { diffTotals, finalWindows, rawSummary, readArchive, sumCounts } from "../helpers/archive.ts";

test("trendwire run --help prints the options table and exits 0", async () => {
  const cli = spawnCli(["run", "--help"]);
  const { code } = await withTimeout("the CLI to exit", cli.exited, 20_000);
  assert.is(code, 0, cli.stderr());
  const help = cli.stdout();
  assert.match(help, /Usage: trendwire run/);
  for (const flag of ["--port", "--data-dir", "--window-ms", "--max-body-bytes", "--actors"]) assert.match(help, flag, `help lists ${flag}`);
  assert.match(help, /--port <v>\s+HTTP port/, "each option has its description");
  assert.match(help, /TW_PORT/, "and its environment variable");
});

test("trendwire run --port abc exits 2 naming the field", async () => {
  const cli = spawnCli(["run", "--port", "abc"]);
  const { code } = await withTimeout("the CLI to exit", cli.exited, 20_000);
  assert.is(code, 2, `exit code (stderr: ${cli.stderr()})`);
  assert.match(cli.stderr(), /\bport\b/, "the message names port");
  assert.match(cli.stderr(), /abc/, "and the bad value");
});

test("trendwire run serves, stops on SIGTERM with exit 0, and its archive reconciles", async () => {
  const dataDir = await makeTempDir("tw-e2e-cli-");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const cli = spawnCli(["run", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--window-ms", "1000", "--max-out-of-order-ms", "60000", "--idle-timeout-ms", "600000", "--log-level", "warn"]);
  let exited = false;
  void cli.exited.then(() => (exited = true));
  try {
    await waitFor(
      "GET /readyz 200 from the CLI",
      async () => {
        if (exited) throw new Error(`the CLI exited early: ${cli.stderr()}`);
        return (await fetch(`${base}/readyz`)).status === 200;
      },
      { timeoutMs: 20_000, intervalMs: 50 },
    );
    const events = windowEvents(T0, 1000, { a: 200, b: 150 }).concat(windowEvents(T0 + 1000, 1000, { a: 120, c: 30 }));
    let accepted = 0;
    for (const [i, batch] of chunk(events, 100).entries()) accepted += (await postEvents(base, "cli", i % 2 ? "msgpack" : "json", batch)).accepted;
    assert.is(accepted, events.length);

    cli.kill("SIGTERM");
    const { code, signal } = await withTimeout("the CLI to exit after SIGTERM", cli.exited, 30_000);
    assert.is(signal, null, `the process exited by itself (stderr: ${cli.stderr()})`);
    assert.is(code, 0, `exit code 0 after SIGTERM (stderr: ${cli.stderr()})`);

    const raw = await rawSummary(dataDir);
    assert.equal(raw.repeated, []);
    assert.is(raw.events, accepted, "the raw archive holds every accepted event");
    const { totals } = await finalWindows(dataDir);
    assert.equal(diffTotals(tally(new Map(), "cli", events, 1000), totals), [], "windows equal an offline recount");
    assert.is(sumCounts(totals), accepted);
    assert.equal(await readArchive(dataDir, "dlq"), []);
  } finally {
    if (!exited) cli.kill("SIGKILL");
    await cli.exited;
    await removeDir(dataDir);
  }
});

test("trendwire run whose raw log can no longer be written answers 503, then exits 1 naming the log", async () => {
  const dataDir = await makeTempDir("tw-e2e-cli-");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const cli = spawnCli(["run", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--log-level", "warn"]);
  let exited = false;
  void cli.exited.then(() => (exited = true));
  try {
    await waitFor("GET /readyz 200 from the CLI", async () => !exited && (await fetch(`${base}/readyz`)).status === 200, { timeoutMs: 20_000, intervalMs: 50 });
    const { body, contentType } = encodeBody("json", windowEvents(T0, 1000, { a: 5000, b: 5000 }));
    const post = () => fetch(`${base}/v1/streams/full/events`, { method: "POST", headers: { "content-type": contentType }, body });
    assert.is((await post()).status, 202);
    // The operator's mistake: the raw log's directory goes away. Writes to the open segment still
    // land; the next segment (64 MiB on: ~220 of these 310 kB bodies) cannot be created, and
    // the log fails there.
    await removeDir(`${dataDir}/log/TW_RAW`);
    let refused: Response | undefined;
    for (let i = 0; i < 500 && refused === undefined && !exited; i++) {
      const res = await post();
      if (res.status === 202) await res.body?.cancel();
      else refused = res;
    }
    assert.ok(refused, `a request was refused before the CLI exited (stderr: ${cli.stderr()})`);
    assert.is(refused.status, 503);
    assert.is(((await refused.json()) as { title: string }).title, "Storage unavailable");
    const { code } = await withTimeout("the CLI to exit after its log failed", cli.exited, 15_000);
    assert.is(code, 1, `exit code (stderr: ${cli.stderr()})`);
    assert.match(cli.stderr(), /"durable log failed".*"stream":"TW_RAW"/);
    assert.match(cli.stderr(), /exiting.*the durable log of TW_RAW failed/);
  } finally {
    if (!exited) cli.kill("SIGKILL");
    await cli.exited;
    await removeDir(dataDir);
  }
});

test.run();
