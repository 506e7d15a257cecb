/**
 * Explanations contain the numbers they claim: for every scored window of series that provoke
 * each detector (poisson, robust-z, cusum, moving-z, seasonal, forecast, out-of-range), scored
 * with and without the TensorFlow.js forecast model, the explanation
 * prints the observation's own observed, expected and spread (formatNumber), its score and
 * threshold (formatScores), and names the test that decided.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { detectorConfig, formatNumber, formatScores, type DetectorName, type Observation } from "./detector.ts";
import { scoreSeries } from "./series.ts";
import { createForecaster } from "./forecaster.ts";
import { FORECAST_LAGS } from "./likelihood.ts";
import { dailySine, gaussianAround, poissonAround, ROWS_PER_DAY, syntheticSeries, type Shape } from "../../test/helpers/series.ts";

const config = detectorConfig();

/** How each detector is named in its explanation. */
const WORDING: Record<Exclude<DetectorName, "warmup">, string> = {
  poisson: "poisson",
  "robust-z": "robust-z",
  cusum: "cusum",
  "moving-z": "moving-z",
  seasonal: "seasonal (hour-of-week profile)",
  forecast: "forecast (TensorFlow.js MLP)",
  "out-of-range": "out-of-range",
};

const SERIES: [string, number, Shape][] = [
  ["count spike, young key", 200, poissonAround((row) => (row === 60 ? 60 : 20))],
  ["value spike, young key", 200, gaussianAround((row) => (row === 60 ? 150 : 100), 5)],
  ["ramp, young key", 200, gaussianAround((row) => 100 + Math.max(0, row - 60), 5)],
  ["spike, old key", 500, gaussianAround((row) => (row === 400 ? 150 : 100), 5)],
  ["ramp, old key", 700, gaussianAround((row) => 100 + Math.max(0, row - 400) * 0.5, 5)],
  ["count noise", 3000, poissonAround(() => 10)],
  // Two early outliers widen the key's range, so a later shift stays in range for moving-z to judge.
  ["in-range shift, old key", 500, gaussianAround((row) => (row === 20 ? 200 : row === 30 ? 0 : row >= 400 && row < 420 ? 130 : 100), 5)],
  ["daily pattern shifted 6 h on day 11", 12 * ROWS_PER_DAY, gaussianAround(dailySine(100, () => 20, (row) => (row >= 11 * ROWS_PER_DAY ? Math.PI / 2 : 0)), 3)],
];

function checkExplanation(o: Observation, where: string): void {
  const text = o.explanation;
  const [score, threshold] = formatScores(o.score, o.threshold);
  for (const [what, printed] of [
    ["observed", formatNumber(o.observed)], ["expected", formatNumber(o.expected)], ["spread", formatNumber(o.spread)],
    ["score", `score ${score}`], ["threshold", `threshold ${threshold}`],
  ] as const) {
    assert.ok(text.includes(printed), `${where}: ${what} ${printed} missing from "${text}"`);
  }
  assert.ok(text.includes(WORDING[o.detector as keyof typeof WORDING]), `${where}: detector ${o.detector} not named in "${text}"`);
}

test("every scored window's explanation prints its observed, expected, spread, score, threshold and detector; anomalous ones of all seven detectors are among them", async () => {
  const anomalousBy = new Map<DetectorName, number>();
  let checked = 0;
  for (const [name, rows, shape] of SERIES) {
    for (const seed of [1, 2, 3]) {
      for (const withModel of [false, true]) {
        const model = withModel ? await createForecaster({ backend: "cpu", lags: FORECAST_LAGS }) : undefined;
        const obs = scoreSeries(syntheticSeries(rows, seed, shape), config, model);
        model?.dispose();
        obs.forEach((o, row) => {
          if (o.detector === "warmup") return;
          checkExplanation(o, `${name}, seed ${seed}${withModel ? ", with model" : ""}, row ${row}`);
          checked++;
          if (o.anomalous) anomalousBy.set(o.detector, (anomalousBy.get(o.detector) ?? 0) + 1);
        });
      }
    }
  }
  assert.ok(checked > 20_000, `windows checked: ${checked}`);
  for (const detector of Object.keys(WORDING) as DetectorName[]) {
    assert.ok((anomalousBy.get(detector) ?? 0) > 0, `no anomalous ${detector} window provoked (${JSON.stringify([...anomalousBy])})`);
  }
});

test("an anomalous window's explanation says which way it went and how far", () => {
  const obs = scoreSeries(syntheticSeries(200, 1, gaussianAround((row) => (row === 60 ? 150 : 100), 5)), config);
  const spike = obs[60]!;
  assert.ok(spike.anomalous, spike.explanation);
  assert.match(spike.explanation, /^surge: value /);
  assert.match(spike.explanation, `vs expected ${formatNumber(spike.expected)} ± ${formatNumber(spike.spread)}`);
  assert.match(spike.explanation, `score ${formatScores(spike.score, spike.threshold)[0]} ≥ threshold`);
});

test.run();
