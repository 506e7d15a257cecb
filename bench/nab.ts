/**
 * `npm run bench -- nab`: Trendwire's detector (scoreSeries, one row at a time, no look-ahead)
 * over NAB's DEV files, scored with NAB's rules (bench/nab/scorer.ts) beside the published
 * detectors' scores on the same files. Two figures per profile: the threshold tuned on all the
 * files being scored (NAB's convention, flattering) and an honest one (tuned on one half of the
 * files, scored on the other). The detector runs as `trendwire detect --csv` runs it, with the
 * TensorFlow.js forecast model (a fresh one per file) unless `--model off`; the same files are
 * also scored with the model off, side by side, so the model's contribution shows.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { detectorConfig } from "../actors/detect/detector.ts";
import { scoreSeries } from "../actors/detect/series.ts";
import { StreamModels } from "../actors/detect/stream_models.ts";
import type { ForecastBackend } from "../actors/detect/tf_loader.ts";
import type { NabFile } from "./nab/dataset.ts";
import { defaultNabDir, loadNab, splitHalves } from "./nab/dataset.ts";
import { PROFILES, ScoringSet, type Profile, type ScoredFile, type Sweep } from "./nab/scorer.ts";
import { BenchUsageError } from "./flags.ts";
import { describeMachine, machineInfo } from "./machine.ts";
import { formatTable, si } from "./table.ts";

export const nabHelp = `Usage: npm run bench -- nab [--dir DIR] [--model wasm|cpu|off] [--files]

Scores Trendwire's detector on NAB's DEV files with NAB's rules (standard, reward low FP,
reward low FN) and prints them beside the published detectors' scores on the same files.

  --dir DIR   the NAB DEV folder (data/, labels/combined_windows.json);
              default $TW_NAB_DIR, else ../shared/nab-dev from the current directory
  --model M   the forecast vote's backend, or off (default wasm, as trendwire run/detect);
              unless off, the files are also scored with the model off, side by side
  --files     also print, per file, windows caught and false positives at the standard
              threshold tuned on all files

Output: the machine, rows scored and time, (a) every detector by DEV standard score with
Trendwire's row tuned on all files (NAB's convention) and the targets (above ARTime), (b) the
honest split: threshold tuned on half A, scored on half B, and the reverse, (c) with --files the
per-file detail, (d) model on vs off, and one JSON object as the last line. A threshold of null (∞) means never
firing scored best.
`;

interface Published {
  detector: string;
  standard: number;
  lowFp: number;
  lowFn: number;
}

/**
 * Published detectors' scores on these 24 DEV files (NAB's scoring with null, perfect and
 * threshold computed on the subset): the "Anchors" table of ../shared/nab-dev/README.md.
 */
const PUBLISHED: readonly Published[] = [
  { detector: "ARTime", standard: 68.77, lowFp: 60.04, lowFn: 74.05 },
  { detector: "numenta (HTM)", standard: 64.85, lowFp: 59.12, lowFn: 69.85 },
  { detector: "contextOSE", standard: 57.54, lowFp: 53.84, lowFn: 61.43 },
  { detector: "htmjava", standard: 63.58, lowFp: 56.68, lowFn: 68.03 },
  { detector: "numentaTM", standard: 60.01, lowFp: 50.3, lowFn: 65.65 },
  { detector: "earthgeckoSkyline", standard: 42.61, lowFp: 37.87, lowFn: 45.5 },
  { detector: "knncad", standard: 53.51, lowFp: 38.24, lowFn: 61.31 },
  { detector: "relativeEntropy", standard: 45.27, lowFp: 35.63, lowFn: 50.69 },
  { detector: "randomCutForest", standard: 55.71, lowFp: 43.09, lowFn: 63.64 },
  { detector: "twitterADVec", standard: 39.23, lowFp: 30.05, lowFn: 44.1 },
  { detector: "windowedGaussian", standard: 28.16, lowFp: 22.38, lowFn: 31.59 },
  { detector: "skyline (Etsy)", standard: 31.48, lowFp: 20.36, lowFn: 36.37 },
  { detector: "bayesChangePt", standard: 17.81, lowFp: 0.67, lowFn: 36.66 },
  { detector: "expose", standard: 18.39, lowFp: 7.77, lowFn: 23.37 },
  { detector: "random (one seed)", standard: 17.76, lowFp: 9.77, lowFn: 27.22 },
  { detector: "null", standard: 0, lowFp: 0, lowFn: 0 },
  { detector: "rolling z-score, window 200", standard: 31.79, lowFp: 19.6, lowFn: 37.44 },
];

/** The bar to clear: the best published detector on these files. */
const TARGET = PUBLISHED[0]!;
const KEYS = ["standard", "lowFp", "lowFn"] as const;
const targetOf = (profileIndex: number): number => TARGET[KEYS[profileIndex]!];

const fixed = (n: number) => n.toFixed(2);
/** Thresholds print as ∞ on screen and null in JSON (never fire). */
const thresholdText = (t: number) => (Number.isFinite(t) ? t.toPrecision(4) : "∞");

interface SplitResult {
  profile: string;
  /** Tuned on A, scored on B; tuned on B, scored on A; their mean. */
  thresholdA: number;
  scoreBWithA: number;
  thresholdB: number;
  scoreAWithB: number;
  mean: number;
}

function honestSplit(a: ScoringSet, b: ScoringSet, profile: Profile): SplitResult {
  const thresholdA = a.sweep(profile).threshold;
  const thresholdB = b.sweep(profile).threshold;
  const scoreBWithA = b.at(profile, thresholdA).score;
  const scoreAWithB = a.at(profile, thresholdB).score;
  return { profile: profile.name, thresholdA, scoreBWithA, thresholdB, scoreAWithB, mean: (scoreBWithA + scoreAWithB) / 2 };
}

/** Every file scored one row at a time, each with a fresh model of `model`'s backend (as `trendwire detect` gives it). */
async function scoreFiles(files: NabFile[], model: ForecastBackend | "off"): Promise<{ scored: (ScoredFile & { category: string })[]; scoringMs: number }> {
  const config = detectorConfig({});
  const models = model === "off" ? undefined : await StreamModels.load(model);
  const t0 = performance.now();
  const scored = files.map((f) => {
    const scores = scoreSeries(f.rows, config, models?.get(f.name)).map((o) => o.score);
    models?.dispose();
    return { name: f.name, category: f.category, windows: f.windows, scores };
  });
  return { scored, scoringMs: performance.now() - t0 };
}

const MODELS = ["wasm", "cpu", "off"] as const;

export async function nabBench(flags: Record<string, string | boolean>): Promise<void> {
  const dir = typeof flags.dir === "string" ? flags.dir : defaultNabDir();
  if (!existsSync(join(dir, "labels", "combined_windows.json"))) throw new BenchUsageError(`${dir} has no labels/combined_windows.json: pass --dir or set TW_NAB_DIR`);
  const model = (flags.model ?? "wasm") as (typeof MODELS)[number];
  if (!MODELS.includes(model)) throw new BenchUsageError(`--model: expected one of ${MODELS.join(", ")}, got ${String(flags.model)}`);
  const machine = machineInfo();
  console.log(describeMachine(machine));
  const files = loadNab(dir);

  const { scored, scoringMs } = await scoreFiles(files, model);
  const rows = files.reduce((n, f) => n + f.rows.length, 0);
  const rowsPerSec = rows / (scoringMs / 1000);
  const all = new ScoringSet(scored);
  console.log(`${dir}: ${files.length} files, ${all.windows} windows, ${rows} rows scored with the forecast model ${model === "off" ? "off" : `on (${model})`} in ${scoringMs.toFixed(0)} ms (${si(rowsPerSec)} rows/s)\n`);

  // (a) Threshold tuned on all files, NAB's convention, beside the published detectors.
  const tuned: Sweep[] = PROFILES.map((p) => all.sweep(p));
  const ours: Published = { detector: "→ Trendwire (this run)", standard: tuned[0]!.score, lowFp: tuned[1]!.score, lowFn: tuned[2]!.score };
  const ranked = [...PUBLISHED, ours].sort((x, y) => y.standard - x.standard);
  console.log("(a) NAB DEV scores, threshold tuned on all files (NAB's convention); published scores from ../shared/nab-dev/README.md");
  console.log(formatTable(["detector", "standard", "low FP", "low FN"], ranked.map((d) => [d.detector, fixed(d.standard), fixed(d.lowFp), fixed(d.lowFn)]), [false, true, true, true]));
  console.log("");
  console.log(
    formatTable(
      ["profile", "Trendwire", `target (> ${TARGET.detector})`, "met", "threshold", "windows caught", "FP rows"],
      tuned.map((s, i) => [s.profile, fixed(s.score), `> ${fixed(targetOf(i))}`, s.score > targetOf(i) ? "yes" : "NO", thresholdText(s.threshold), `${s.detected}/${s.windows}`, s.falsePositives]),
      [false, true, true, false, true, true, true],
    ),
  );

  // (b) Honest figure: tune on one half, score the other.
  const [halfA, halfB] = splitHalves(scored);
  const a = new ScoringSet(halfA);
  const b = new ScoringSet(halfB);
  const split = PROFILES.map((p) => honestSplit(a, b, p));
  console.log(`\n(b) Honest split (halves alternate by name within each category): A = ${halfA.length} files, ${a.windows} windows; B = ${halfB.length} files, ${b.windows} windows`);
  console.log(
    formatTable(
      ["profile", "tuned on A", "B scored", "tuned on B", "A scored", "mean", "tuned on all"],
      split.map((s, i) => [s.profile, thresholdText(s.thresholdA), fixed(s.scoreBWithA), thresholdText(s.thresholdB), fixed(s.scoreAWithB), fixed(s.mean), fixed(tuned[i]!.score)]),
    ),
  );

  // (c) Per file, at the standard threshold tuned on all files.
  const standardThreshold = tuned[0]!.threshold;
  const perFile = scored.map((f: ScoredFile) => {
    const t = new ScoringSet([f]).at(PROFILES[0]!, standardThreshold);
    return { file: f.name, rows: f.scores.length, windows: t.windows, caught: t.detected, falsePositives: t.falsePositives };
  });
  if (flags.files) {
    console.log(`\n(c) Per file at the standard threshold tuned on all files (${thresholdText(standardThreshold)})`);
    console.log(formatTable(["file", "rows", "windows caught", "FP rows"], perFile.map((f) => [f.file, f.rows, `${f.caught}/${f.windows}`, f.falsePositives])));
  }

  // (d) The forecast vote's contribution: the same files with the model off.
  let comparison: { model: string; tunedOnAll: number[]; splitMean: number[]; rowsPerSec: number }[] | undefined;
  if (model !== "off") {
    const off = await scoreFiles(files, "off");
    const offAll = new ScoringSet(off.scored);
    const [offA, offB] = splitHalves(off.scored).map((h) => new ScoringSet(h));
    comparison = [
      { model, tunedOnAll: tuned.map((t) => t.score), splitMean: split.map((x) => x.mean), rowsPerSec },
      { model: "off", tunedOnAll: PROFILES.map((p) => offAll.sweep(p).score), splitMean: PROFILES.map((p) => honestSplit(offA!, offB!, p).mean), rowsPerSec: rows / (off.scoringMs / 1000) },
    ];
    console.log("\n(d) The forecast model's contribution: the same files, model on and off (tuned on all files | honest split mean)");
    console.log(formatTable(
      ["forecast model", "standard", "low FP", "low FN", "split standard", "split low FP", "split low FN", "rows/s"],
      comparison.map((c) => [c.model === "off" ? "off" : `on (${c.model})`, ...c.tunedOnAll.map(fixed), ...c.splitMean.map(fixed), si(c.rowsPerSec)]),
      [false, true, true, true, true, true, true, true],
    ));
  }

  console.log("");
  console.log(
    JSON.stringify({
      bench: "nab",
      model,
      machine,
      dir,
      files: files.length,
      windows: all.windows,
      rows,
      scoringMs,
      rowsPerSec,
      targets: { detector: TARGET.detector, standard: TARGET.standard, lowFp: TARGET.lowFp, lowFn: TARGET.lowFn },
      tunedOnAll: tuned.map((s, i) => ({ ...s, met: s.score > targetOf(i) })),
      split: { halfA: halfA.map((f) => f.name), halfB: halfB.map((f) => f.name), profiles: split },
      published: PUBLISHED,
      ...(comparison ? { comparison } : {}),
      ...(flags.files ? { perFile } : {}),
    }),
  );
}
