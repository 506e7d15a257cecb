/**
 * `npm run bench -- forecast`: window updates/s through the detect stage's OnlineForecaster
 * (prediction + its scheduled training steps) at several batch sizes, on the cpu and the wasm
 * TensorFlow.js backends side by side in one run, with the model's accuracy on the same rows
 * (mean |error| over the last rows ÷ the naive last-value error) so a faster schedule's cost in
 * accuracy shows beside its speed. Also times the first import of TensorFlow.js. One core:
 * everything runs in this process. Prints the machine, a table and, last, one JSON object.
 */
import { describeMachine, machineInfo } from "./machine.ts";
import { formatTable, si } from "./table.ts";
import { BenchUsageError, intFlag, listFlag, secondsFlag } from "./flags.ts";
import { createForecaster, defaultForecasterOptions, type ForecasterOptions } from "../actors/detect/forecaster.ts";
import { forecastBackends, loadTf } from "../actors/detect/tf_loader.ts";
import { mulberry32 } from "../test/helpers/random.ts";

export const forecastHelp = `Usage: npm run bench -- forecast [options]

Window updates/s through OnlineForecaster (predict + scheduled training) per backend and batch size.

Options:
  --backends cpu,wasm        backends to compare (default both)
  --batches 1,10,100,1000    rows per forecast() call
  --duration 2               seconds measured per case (after --warmup-rows)
  --warmup-rows 20000        rows fed before timing (the model is trained by then)
  --lags 8 --hidden 16 --train-every 256 --minibatch 128    model and schedule
`;

const known = ["backends", "batches", "duration", "warmup-rows", "lags", "hidden", "train-every", "minibatch"];
const TARGET_PER_S = 100_000;
const SERIES_ROWS = 200_000;

interface CaseResult {
  backend: string;
  batch: number;
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
    for (const batch of batches) {
      const f = await createForecaster({ ...model, backend });
      let at = 0;
      // Accuracy is summed only after the clock stops: it is the bench's work, not the forecaster's.
      const step = (measure: boolean, errors: { model: number; naive: number }) => {
        if (at + batch > SERIES_ROWS) at = 0;
        const p = f.forecast(rows.inputs.subarray(at * lags, (at + batch) * lags), rows.targets.subarray(at, at + batch), batch);
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
        backend, batch, rows: timedRows, seconds,
        updatesPerS: timedRows / seconds,
        usPerUpdate: (seconds * 1e6) / timedRows,
        errorVsNaive: accuracy.model / accuracy.naive,
      });
    }
  }

  const headers = ["backend", "batch", "updates/s", "µs/update", `≥ ${si(TARGET_PER_S)}/s?`, "MAE ÷ naive"];
  const table = results.map((r) => [r.backend, r.batch, si(r.updatesPerS), r.usPerUpdate.toFixed(2), r.batch >= 100 ? (r.updatesPerS >= TARGET_PER_S ? "yes" : "NO") : "(batch < 100)", r.errorVsNaive.toFixed(3)]);
  console.log(formatTable(headers, table));
  console.log(`\ntarget: ≥ ${TARGET_PER_S} window updates/s at batch ≥ 100 on one core (the live detect actor sees AggBatches of up to ~1000 windows)`);
  console.log(JSON.stringify({ bench: "forecast", machine, importMs, wasmInitMs, model: { ...defaultForecasterOptions, ...model }, durationS, warmupRows, targetPerS: TARGET_PER_S, results }));
}
