/**
 * The offline CLI and the live detect actor agree: one series of 10-second windows (counts with
 * a surge while the key is young and another once the long layer judges it) is written as a NAB
 * CSV and scored by the real `trendwire detect --csv --explain`, and fed to detectActor as
 * closed windows, one per batch and several per batch. Every row's anomalous flag matches
 * whether the actor signalled that window, and each signal's score, threshold, detector and
 * explanation are identical (===) to the CLI's row. Both run the default TensorFlow.js forecast
 * model (one per stream: the series' stream has this one key; a neighbour key on another stream
 * shares its windows' times). A bad CSV line exits 1 naming the line.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { detectActor } from "../../actors/detect/detect.ts";
import { MessageType, type AggBatch, type TrendSignal, type WindowAggregate } from "../../schemas/mod.ts";
import { detectModel, detectorSettings, trendwireConfig } from "../../app/config.ts";
import { spawnCli } from "../helpers/cli.ts";
import { fakeContext, message } from "../helpers/fake_ctx.ts";
import { poissonAround, syntheticSeries } from "../helpers/series.ts";
import { makeTempDir, removeDir } from "../helpers/tmp.ts";
import { withTimeout } from "../helpers/wait.ts";

const WINDOW_MS = 10_000;
/** Wednesday 2026-01-21 14:00:00 UTC, a whole number of windows since the epoch. */
const START = Date.UTC(2026, 0, 21, 14, 0, 0);
/** Low enough that many windows signal, so many scores are compared; minDelta 0 so small counts can too. */
const FLAGS = { "detect-threshold": "0.5", "detect-min-delta": "0" };
/** A three-window surge at row 60 (statistical tests), then one-window surges of varying height every 23 rows (long layer past row 100). */
const surge = (row: number) => (row >= 60 && row < 63 ? 100 : row > 100 && row % 23 === 0 ? 40 + 5 * (row % 7) : 20);
const points = syntheticSeries(400, 7, poissonAround(surge), { start: START, stepMs: WINDOW_MS });

/** "YYYY-MM-DD HH:MM:SS" in UTC, as NAB writes timestamps. */
const nabTime = (ts: number) => new Date(ts).toISOString().slice(0, 19).replace("T", " ");

interface CliRow {
  timestamp: string;
  value: string;
  score: number;
  anomalous: boolean;
  detector: string;
  explanation: string;
}

/** Parses the --explain output: the explanation is the last column, CSV-quoted when needed. */
function parseCliOutput(text: string): CliRow[] {
  const lines = text.trimEnd().split("\n");
  assert.is(lines[0], "timestamp,value,anomaly_score,anomalous,detector,explanation");
  return lines.slice(1).map((line) => {
    const m = /^([^,]*),([^,]*),([^,]*),(true|false),([^,]*),(.*)$/.exec(line);
    assert.ok(m, `unexpected output line: ${line}`);
    const quoted = m![6]!.startsWith('"');
    const explanation = quoted ? m![6]!.slice(1, -1).replaceAll('""', '"') : m![6]!;
    return { timestamp: m![1]!, value: m![2]!, score: Number(m![3]), anomalous: m![4] === "true", detector: m![5]!, explanation };
  });
}

async function runCli(args: string[]) {
  const cli = spawnCli(args);
  const { code } = await withTimeout("trendwire detect to exit", cli.exited, 30_000);
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** Row i's window for `key`, holding row `valueOf`'s value (the neighbour key replays the values backwards, at the same times). */
function windowOf(stream: string, key: string, i: number, valueOf = i): WindowAggregate {
  const ts = points[i]!.ts;
  const value = points[valueOf]!.value;
  return { stream, key, windowStart: ts, windowEnd: ts + WINDOW_MS, count: value, sum: value, min: 1, max: 1, revision: 0 };
}

/** Feeds the series to a detect actor in batches of `perBatch` windows (each of s/k and, as a neighbour, t/other); returns its signals for "k" by row. */
async function actorSignals(perBatch: number): Promise<Map<number, TrendSignal>> {
  const config = trendwireConfig({ flags: FLAGS });
  assert.is(detectModel(config), "wasm", "the forecast model is on by default");
  const actor = detectActor({ partitions: 1, owned: [0], detector: detectorSettings(config), maxKeys: 10, jsonSignals: false, model: detectModel(config) });
  const ctx = fakeContext({ now: START });
  let state = await actor.init(ctx);
  for (let i = 0; i < points.length; i += perBatch) {
    const windows: WindowAggregate[] = [];
    for (let j = i; j < Math.min(points.length, i + perBatch); j++) windows.push(windowOf("s", "k", j), windowOf("t", "other", j, points.length - 1 - j));
    const batch: AggBatch = { partition: 0, windows, watermarks: {} };
    state = await actor.receive(state, message("tw.agg.0", MessageType.AggBatch, batch), ctx);
  }
  const byRow = new Map<number, TrendSignal>();
  for (const p of ctx.published) {
    const signal = p.body as TrendSignal;
    if (p.type === MessageType.TrendSignal && signal.stream === "s") byRow.set((signal.windowStart - START) / WINDOW_MS, signal);
  }
  return byRow;
}

test("trendwire detect --csv and the live detect actor give identical scores for the same series", async () => {
  const dir = await makeTempDir("tw-detect-cli-");
  try {
    const file = join(dir, "series.csv");
    await writeFile(file, ["timestamp,value", ...points.map((p) => `${nabTime(p.ts)},${p.value}`)].join("\n") + "\n");
    const flagArgs = Object.entries(FLAGS).flatMap(([k, v]) => [`--${k}`, v]);
    const { code, stdout, stderr } = await runCli(["detect", "--csv", file, "--explain", ...flagArgs]);
    assert.is(code, 0, stderr);
    const rows = parseCliOutput(stdout);
    assert.is(rows.length, points.length, "one output row per input row");
    rows.forEach((r, i) => {
      assert.is(r.timestamp, nabTime(points[i]!.ts), "timestamp echoed as read");
      assert.is(Number(r.value), points[i]!.value);
      assert.ok(r.score >= 0 && r.score < 1, `score ${r.score} in [0, 1)`);
    });
    assert.ok(rows[60]!.anomalous, `the young key's surge is anomalous: ${rows[60]!.explanation}`);
    const longAlarms = rows.filter((r, i) => i > 100 && r.anomalous).length;
    assert.ok(longAlarms > 0, "the long layer judged some windows anomalous too");

    for (const perBatch of [1, 7]) {
      const signals = await actorSignals(perBatch);
      const where = `(${perBatch} window(s) of the key per batch)`;
      assert.equal(
        [...signals.keys()].sort((a, b) => a - b),
        rows.flatMap((r, i) => (r.anomalous ? [i] : [])),
        `the actor signals exactly the rows the CLI marks anomalous ${where}`,
      );
      // 15 signals (3 poisson, 12 moving-z) when this was written.
      assert.ok(signals.size >= 10, `enough scores compared: ${signals.size} ${where}`);
      for (const [i, signal] of signals) {
        assert.ok(signal.score === rows[i]!.score, `row ${i}: actor score ${signal.score} !== CLI ${rows[i]!.score} ${where}`);
        assert.is(signal.detector, rows[i]!.detector, `row ${i} detector ${where}`);
        assert.is(signal.explanation, rows[i]!.explanation, `row ${i} explanation ${where}`);
      }
    }

    // The model is really in the score: without it, the long layer's scores change (and only there).
    const off = await runCli(["detect", "--csv", file, "--explain", ...flagArgs, "--detect-model", "off"]);
    assert.is(off.code, 0, off.stderr);
    const offRows = parseCliOutput(off.stdout);
    const changed = offRows.flatMap((r, i) => (r.score !== rows[i]!.score ? [i] : []));
    assert.ok(changed.length > 0, "--detect-model off changes some scores");
    assert.ok(changed[0]! > 100, `the forecast votes only once the long layer judges (first changed row ${changed[0]})`);
  } finally {
    await removeDir(dir);
  }
});

test("trendwire detect --csv with a bad line exits 1 naming the line, and prints no scores", async () => {
  const dir = await makeTempDir("tw-detect-cli-");
  try {
    const file = join(dir, "bad.csv");
    await writeFile(file, "timestamp,value\n2026-01-21 14:00:00,3\n2026-01-21 14:00:10,4\n2026-01-21 14:00:20,four\n2026-01-21 14:00:30,5\n");
    const { code, stdout, stderr } = await runCli(["detect", "--csv", file]);
    assert.is(code, 1, stderr);
    assert.match(stderr, `${file}: line 4: value must be a finite number, got "four"`);
    assert.is(stdout, "");
  } finally {
    await removeDir(dir);
  }
});

test("trendwire detect without --csv, or with a missing file, exits 2", async () => {
  const missing = await runCli(["detect"]);
  assert.is(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, "detect needs --csv");
  const nofile = await runCli(["detect", "--csv", "/nonexistent/trendwire-series.csv"]);
  assert.is(nofile.code, 2, nofile.stderr);
  assert.match(nofile.stderr, "file not found: /nonexistent/trendwire-series.csv");
});

test.run();
