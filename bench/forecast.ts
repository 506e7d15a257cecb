/**
 * `npm run bench -- forecast`: the TensorFlow.js forecast vote's cost, two tables.
 *
 * (1) The model alone: window updates/s through OnlineForecaster (prediction + its scheduled
 * training steps) with TensorFlow.js predicting batches of rows (forecast(), several batch
 * sizes) and with the scoring path the detector uses (step(): one row at a time, plain-JS
 * forward pass), on the cpu and the wasm backends side by side, with the model's accuracy on the
 * same rows (mean |error| ÷ the naive last-value error).
 * (2) The detector with the model on: windows/s through the detect actor's scoring path
 * (scoreObservation; an Observation is made only for anomalous windows) for the keys of one stream
 * (statistical detectors + long layer + forecast vote) beside the same windows with the model
 * off. The issue's target (≥ 100 k window updates/s with the model on, one core) is read here.
 *
 * Also times the first import of TensorFlow.js. One core: everything runs in this process.
 * Prints the machine, the tables and, last, one JSON object.
 */
import { describeMachine, machineInfo } from "./machine.ts";
import { formatTable, si } from "./table.ts";
import { BenchUsageError, intFlag, listFlag, secondsFlag } from "./flags.ts";
import { createForecaster, defaultForecasterOptions, type ForecasterOptions } from "../actors/detect/forecaster.ts";
import { forecastBackends, loadTf } from "../actors/detect/tf_loader.ts";
import { detectorConfig, newKeyState, scoreObservation, toObservation } from "../actors/detect/detector.ts";
import { FORECAST_LAGS } from "../actors/detect/likelihood.ts";
import { mulberry32 } from "../test/helpers/random.ts";

export const forecastHelp = `Usage: npm run bench -- forecast [options]

Window updates/s through OnlineForecaster (predict + scheduled training) per backend and batch size.

Options:
  --backends cpu,wasm        backends to compare (default both)
  --batches 1,10,100,1000    rows per forecast() call (the step() scoring path is always measured too)
  --keys 1000                keys of the stream in the detector case (table 2)
  --duration 2               seconds measured per case (after --warmup-rows)
  --warmup-rows 20000        rows fed before timing (the model is trained by then)
  --lags 8 --hidden 16 --train-every 256 --minibatch 128    model and schedule
`;

const known = ["backends", "batches", "duration", "warmup-rows", "lags", "hidden", "train-every", "minibatch", "keys"];
const TARGET_PER_S = 100_000;
const SERIES_ROWS = 200_000;

interface CaseResult {
  backend: string;
  /** Rows per forecast() call, or "step" for the per-row scoring path. */
  batch: number | "step";
  rows: number;
  seconds: number;
  updatesPerS: number;
  usPerUpdate: number;
  /** Mean |error| over the timed rows ÷ the naive last-value error on the same rows. */
  errorVsNaive: number;
}

/** A noisy sine (period 24) cut into lag rows; the timed loop cycles over it. */
function sineRows(lags: number): { inputs: Float32Array; targets: Float32Array; naive: Float32Array } {
  const random = mulberry32(42);
  const series = Float32Array.from({ length: SERIES_ROWS + lags }, (_, i) => 1.5 * Math.sin((2 * Math.PI * i) / 24) + 0.2 * (random() - 0.5));
  const inputs = new Float32Array(SERIES_ROWS * lags);
  for (let i = 0; i < SERIES_ROWS; i++) inputs.set(series.subarray(i, i + lags), i * lags);
  const targets = series.slice(lags);
  const naive = targets.map((y, i) => Math.abs(y - series[i + lags - 1]!));
  return { inputs, targets, naive };
}

function batchList(flags: Record<string, string | boolean>): number[] {
  const raw = flags.batches ?? "1,10,100,1000";
  const batches = typeof raw === "string" ? raw.split(",").map(Number) : [];
  if (batches.length === 0 || batches.some((b) => !Number.isInteger(b) || b < 1)) throw new BenchUsageError(`--batches: expected integers >= 1, got ${JSON.stringify(raw)}`);
  return batches;
}

export async function forecastBench(flags: Record<string, string | boolean>): Promise<void> {
  for (const name of Object.keys(flags)) if (!known.includes(name)) throw new BenchUsageError(`unknown option --${name}`);
  const backends = listFlag(flags, "backends", forecastBackends);
  const batches = batchList(flags);
  const durationS = secondsFlag(flags, "duration", 2, 0.05);
  const warmupRows = intFlag(flags, "warmup-rows", 20_000, 0);
  const model: Partial<ForecasterOptions> = {
    lags: intFlag(flags, "lags", defaultForecasterOptions.lags, 1),
    hidden: intFlag(flags, "hidden", defaultForecasterOptions.hidden, 1),
    trainEvery: intFlag(flags, "train-every", defaultForecasterOptions.trainEvery, 1),
    minibatch: intFlag(flags, "minibatch", defaultForecasterOptions.minibatch, 1),
  };
  const lags = model.lags!;

  const machine = machineInfo();
  console.log(describeMachine(machine));
  const importStart = performance.now();
  await loadTf("cpu");
  const importMs = performance.now() - importStart;
  const wasmStart = performance.now();
  if (backends.includes("wasm")) await loadTf("wasm");
  const wasmInitMs = backends.includes("wasm") ? performance.now() - wasmStart : undefined;
  console.log(`TensorFlow.js first import + cpu ready: ${importMs.toFixed(0)} ms; wasm backend registration + init: ${wasmInitMs === undefined ? "–" : `${wasmInitMs.toFixed(0)} ms`}`);
  console.log(`model: ${JSON.stringify(model)}; ${durationS} s per case after ${warmupRows} warm-up rows\n`);

  const rows = sineRows(lags);
  const results: CaseResult[] = [];
  for (const backend of backends) {
    for (const batchOrStep of ["step" as const, ...batches]) {
      const batch = batchOrStep === "step" ? 1 : batchOrStep;
      const f = await createForecaster({ ...model, backend });
      let at = 0;
      const predict = batchOrStep === "step"
        ? (from: number) => Float32Array.of(f.step(rows.inputs.subarray(from * lags, (from + 1) * lags), rows.targets[from]!))
        : (from: number) => f.forecast(rows.inputs.subarray(from * lags, (from + batch) * lags), rows.targets.subarray(from, from + batch), batch);
      // Accuracy is summed only after the clock stops: it is the bench's work, not the forecaster's.
      const step = (measure: boolean, errors: { model: number; naive: number }) => {
        if (at + batch > SERIES_ROWS) at = 0;
        const p = predict(at);
        if (measure) {
          for (let i = 0; i < batch; i++) {
            errors.model += Math.abs(p[i]! - rows.targets[at + i]!);
            errors.naive += rows.naive[at + i]!;
          }
        }
        at += batch;
      };
      const unused = { model: 0, naive: 0 };
      while (f.rowCount < warmupRows) step(false, unused);
      const start = f.rowCount;
      const t0 = performance.now();
      while (performance.now() - t0 < durationS * 1000) step(false, unused);
      const elapsed = performance.now() - t0;
      const timedRows = f.rowCount - start;
      const accuracy = { model: 0, naive: 0 };
      for (let i = 0; i < 20; i++) step(true, accuracy);
      f.dispose();
      const seconds = elapsed / 1000;
      results.push({
        backend, batch: batchOrStep, rows: timedRows, seconds,
        updatesPerS: timedRows / seconds,
        usPerUpdate: (seconds * 1e6) / timedRows,
        errorVsNaive: accuracy.model / accuracy.naive,
      });
    }
  }

  console.log("(1) the model alone: forecast() = TensorFlow.js predicting a batch of rows; step() = the detector's path, one row, plain-JS forward pass");
  const headers = ["backend", "call", "updates/s", "µs/update", "MAE ÷ naive"];
  const table = results.map((r) => [r.backend, r.batch === "step" ? "step()" : `forecast() ×${r.batch}`, si(r.updatesPerS), r.usPerUpdate.toFixed(2), r.errorVsNaive.toFixed(3)]);
  console.log(formatTable(headers, table));

  const keys = intFlag(flags, "keys", 1000, 1);
  const detector = await detectorCases(backends, keys, durationS);
  console.log(`\n(2) the detector (the detect actor's path: scoreObservation, an Observation for anomalous windows) over ${keys} keys of one stream (one model shared by the stream), model off vs on, same windows`);
  console.log(formatTable(
    ["model", "windows/s", "µs/window", `≥ ${si(TARGET_PER_S)}/s?`, "anomalous"],
    detector.map((r) => [r.model, si(r.updatesPerS), r.usPerUpdate.toFixed(2), r.model === "off" ? "(baseline)" : r.updatesPerS >= TARGET_PER_S ? "yes" : "NO", r.anomalous]),
  ));
  console.log(`\ntarget: ≥ ${TARGET_PER_S} window updates/s scored with the model on, one core`);
  console.log(JSON.stringify({ bench: "forecast", machine, importMs, wasmInitMs, model: { ...defaultForecasterOptions, ...model }, durationS, warmupRows, targetPerS: TARGET_PER_S, results, detector }));
}

interface DetectorCase {
  model: string;
  windows: number;
  updatesPerS: number;
  usPerUpdate: number;
  anomalous: number;
}

/**
 * Rounds of one window per key (a daily sine per key, phase by key, Gaussian-ish noise) through
 * the detect actor's scoring path, with no model and with each backend's; the first 300 rounds warm the keys past the
 * long layer's learning phase untimed, then rounds run for `durationS`.
 */
async function detectorCases(backends: readonly string[], keys: number, durationS: number): Promise<DetectorCase[]> {
  const config = detectorConfig({ windowMs: 300_000 });
  const out: DetectorCase[] = [];
  for (const backend of ["off", ...backends] as const) {
    const model = backend === "off" ? undefined : await createForecaster({ backend: backend as "cpu" | "wasm", lags: FORECAST_LAGS });
    const states = Array.from({ length: keys }, () => newKeyState());
    const random = mulberry32(7);
    let anomalous = 0;
    let rounds = 0;
    const round = () => {
      const ts = Date.UTC(2026, 0, 1) + rounds * 300_000;
      for (let k = 0; k < keys; k++) {
        const value = 100 + 20 * Math.sin((2 * Math.PI * rounds) / 288 + k) + 5 * (random() + random() + random() - 1.5);
        const scored = scoreObservation(states[k]!, value, config, 0, ts, model);
        if (scored.anomalous && toObservation(scored, config).anomalous) anomalous++;
      }
      rounds++;
    };
    while (rounds < 300) round();
    const t0 = performance.now();
    const first = rounds;
    while (performance.now() - t0 < durationS * 1000) round();
    const seconds = (performance.now() - t0) / 1000;
    const windows = (rounds - first) * keys;
    model?.dispose();
    out.push({ model: backend, windows, updatesPerS: windows / seconds, usPerUpdate: (seconds * 1e6) / windows, anomalous });
  }
  return out;
}
