/**
 * The real CLI, as an operator runs it: help, a rejected flag, and a full run — start, take
 * events, stop on SIGTERM with exit code 0 — after which the archive reconciles; killed with
 * SIGKILL under load and started again, it still archives and counts every accepted request
 * exactly once.
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

test("trendwire run killed with SIGKILL under load: started again on the same data directory, every accepted request is archived and counted exactly once, and an unanswered one wholly or not at all", async () => {
  const dataDir = await makeTempDir("tw-e2e-kill-");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const args = ["run", "--port", String(port), "--host", "127.0.0.1", "--data-dir", dataDir, "--window-ms", "1000", "--max-out-of-order-ms", "60000", "--idle-timeout-ms", "600000", "--log-level", "warn"];
  const start = async () => {
    const cli = spawnCli(args);
    let exited = false;
    void cli.exited.then(() => (exited = true));
    await waitFor("GET /readyz 200 from the CLI", async () => {
      if (exited) throw new Error(`the CLI exited early: ${cli.stderr()}`);
      return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
    }, { timeoutMs: 30_000, intervalMs: 50 });
    return { cli, isExited: () => exited };
  };
  let running = await start();
  try {
    // Each request has a key of its own, so the windows say which requests were counted.
    const requestEvents = (i: number) => windowEvents(T0 + (i % 3) * 1000, 1000, { [`r${i}`]: 20 + (i % 7) });
    const accepted = new Set<number>();
    const unanswered = new Set<number>();
    let next = 0;
    let killed = false;
    const sender = async () => {
      while (!killed) {
        const i = next++;
        try {
          await postEvents(base, "crash", i % 2 ? "msgpack" : "json", requestEvents(i));
          accepted.add(i);
        } catch {
          unanswered.add(i); // refused, reset by the kill, or never connected
        }
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    await waitFor("150 accepted requests", async () => accepted.size >= 150, { timeoutMs: 30_000, intervalMs: 5 });
    running.cli.kill("SIGKILL");
    killed = true;
    await Promise.all(senders);
    const { signal } = await withTimeout("the CLI to die", running.cli.exited, 10_000);
    assert.is(signal, "SIGKILL");

    running = await start();
    running.cli.kill("SIGTERM");
    const { code } = await withTimeout("the restarted CLI to exit after SIGTERM", running.cli.exited, 30_000);
    assert.is(code, 0, `exit code 0 (stderr: ${running.cli.stderr()})`);

    const raw = await rawSummary(dataDir);
    assert.equal(raw.repeated, [], "no request archived twice");
    assert.equal(raw.badSeqs, []);
    const { totals } = await finalWindows(dataDir);
    const counted = new Map<number, number>();
    for (const [id, t] of totals) {
      const i = Number(id.split("|")[1]!.slice(1)); // windowId: stream|key|windowStart, keys r<i>
      counted.set(i, (counted.get(i) ?? 0) + t.count);
    }
    for (const i of accepted) assert.is(counted.get(i), requestEvents(i).length, `accepted request ${i} counted once`);
    let recovered = 0;
    for (const i of unanswered) {
      const n = counted.get(i);
      if (n === undefined) continue;
      assert.is(n, requestEvents(i).length, `unanswered request ${i}: all of its events or none`);
      recovered++;
    }
    for (const i of counted.keys()) assert.ok(accepted.has(i) || unanswered.has(i), `request ${i} was sent`);
    const countedEvents = [...counted.values()].reduce((a, b) => a + b, 0);
    assert.is(raw.events, countedEvents, `the raw archive holds what was counted (${accepted.size} accepted, ${recovered} of ${unanswered.size} unanswered recovered)`);
    assert.equal(await readArchive(dataDir, "dlq"), []);
  } finally {
    if (!running.isExited()) running.cli.kill("SIGKILL");
    await running.cli.exited;
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
