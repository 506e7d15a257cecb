/**
 * The NAB scorer on hand-made files whose scores are worked out by hand below, from the rules in
 * ../shared/nab-dev/README.md (σ(p) = 2/(1 + e^{5p}) − 1 = −tanh(5p/2)).
 *
 * Most cases use n = 40 rows: probation = floor(0.15·40) = 6 (rows 0–5 are never scored) and one
 * window [10, 14], W = 5. With one window, standard profile: null = −1, perfect = 1, so
 * score = 100·(raw + 1)/2.
 *
 * σ values used (to 8 decimals):
 *   σ(−1)   =  0.98661430   (the top of a window: a detection at L earns exactly tp)
 *   σ(−0.6) =  0.90514825   → /σ(−1) = 0.91742868   (row 12: p = −(14 − 12 + 1)/5)
 *   σ(−0.2) =  0.46211716   → /σ(−1) = 0.46838684   (row 14: p = −1/5)
 *   σ(0.25) = −0.55459972   (row 15: p = (15 − 14)/(5 − 1))
 *   σ(0.5)  = −0.84828364   (row 7 after a window [1, 5]: p = 2/4)
 *   σ(1.5)  = −0.99889444   (row 20: p = 6/4)
 *   σ(2)    = −0.99990920   (row 22: p = 8/4)
 *   σ(3)    = −0.99999939   (row 26: p = 12/4, still σ; row 27: p = 3.25 > 3 → −1)
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PROFILES, probationRows, ScoringSet, sigma, type Profile, type ScoredFile } from "./scorer.ts";

const [standard, lowFp, lowFn] = PROFILES as [Profile, Profile, Profile];
const WINDOW: [number, number] = [10, 14];

/** A file of n rows scoring 0 except the given rows. */
function file(n: number, windows: [number, number][], scores: Record<number, number>, name = "f.csv"): ScoredFile {
  const s = new Array<number>(n).fill(0);
  for (const [i, v] of Object.entries(scores)) s[Number(i)] = v;
  return { name, scores: s, windows };
}

/** Detections (score 1) at the given rows of the standard 40-row, one-window file. */
function detections(...rows: number[]): ScoredFile {
  return file(40, [WINDOW], Object.fromEntries(rows.map((r) => [r, 1])));
}

function close(actual: number, expected: number, what: string, eps = 1e-6): void {
  assert.ok(Math.abs(actual - expected) < eps, `${what}: expected ${expected}, got ${actual}`);
}

test("σ and probation follow the README's formulas", () => {
  close(sigma(-1), 0.9866143, "σ(−1)");
  close(sigma(0), 0, "σ(0)");
  close(sigma(3), -0.99999939, "σ(3)");
  assert.is(probationRows(20), 3);
  assert.is(probationRows(40), 6);
  assert.is(probationRows(10_000), 750); // 1500 capped at 750
});

test("a detection at the first row of a window earns exactly tp", () => {
  const t = new ScoringSet([detections(10)]).at(standard, 0.5);
  close(t.raw, 1, "raw"); // σ(−1)/σ(−1)
  close(t.score, 100, "score");
  assert.is(t.detected, 1);
  assert.is(t.falsePositives, 0);
});

test("a detection at the window's last row earns σ(−1/W)/σ(−1)", () => {
  const t = new ScoringSet([detections(14)]).at(standard, 0.5);
  close(t.raw, 0.46838684, "raw"); // 0.46211716 / 0.98661430
  close(t.score, 73.419342, "score"); // 100·1.46838684/2
});

test("two detections in one window: only the earlier (better) one counts", () => {
  const t = new ScoringSet([detections(12, 14)]).at(standard, 0.5);
  close(t.raw, 0.91742868, "raw"); // row 12 only; row 14's 0.468 is not added
  close(t.score, 95.871434, "score");
  assert.is(t.detected, 1);
  assert.is(t.falsePositives, 0);
});

test("a window without a detection costs −fn", () => {
  const t = new ScoringSet([detections()]).at(standard, 0.5);
  close(t.raw, -1, "raw");
  close(t.score, 0, "score");
  assert.is(t.detected, 0);
});

test("a detection before any window costs the full −fp", () => {
  const t = new ScoringSet([detections(7, 10)]).at(standard, 0.5);
  close(t.raw, 0.89, "raw"); // 1 − 0.11
  close(t.score, 94.5, "score");
  assert.is(t.falsePositives, 1);
  // No window in the file at all: every detection is before any window.
  close(new ScoringSet([file(40, [], { 20: 1, 30: 1 })]).at(standard, 0.5).raw, -0.22, "raw, no windows");
});

test("a detection right after a window costs little; the cost grows to −fp at p > 3", () => {
  // Row 15: p = 1/4 → 0.11·σ(0.25) = −0.06100597.
  close(new ScoringSet([detections(10, 15)]).at(standard, 0.5).raw, 1 - 0.06100597, "row 15");
  // Row 22: p = 2 → 0.11·σ(2) = −0.10999001.
  close(new ScoringSet([detections(10, 22)]).at(standard, 0.5).raw, 1 - 0.10999001, "row 22", 1e-8);
  // Row 26: p = 3 exactly, still σ(3): −0.10999993; row 27: p = 3.25 > 3 → −0.11.
  close(new ScoringSet([detections(10, 26)]).at(standard, 0.5).raw, 1 - 0.10999993, "row 26", 1e-8);
  close(new ScoringSet([detections(10, 27)]).at(standard, 0.5).raw, 1 - 0.11, "row 27", 1e-12);
});

test("the last window before a false positive sets its weight, even one inside probation", () => {
  // n = 40, windows [1, 5] (all in probation, W = 5) and [30, 34]; row 7: p = (7 − 5)/4 = 0.5,
  // σ(0.5) = −tanh(1.25) = −0.84828364 → −0.09331120 (not the −0.11 of "no window before");
  // both windows missed: −2.
  const t = new ScoringSet([file(40, [[1, 5], [30, 34]], { 7: 1 })]).at(standard, 0.5);
  close(t.raw, -2.0933112, "raw");
});

test("detections inside probation are ignored; windows there still count", () => {
  // Window [2, 4] lies in probation (rows 0–5): the detection at row 3 does not catch it, and
  // the one at row 5 is not a false positive either.
  const t = new ScoringSet([file(40, [[2, 4]], { 3: 1, 5: 1 })]).at(standard, 0.5);
  close(t.raw, -1, "raw");
  assert.is(t.windows, 1);
  assert.is(t.detected, 0);
  assert.is(t.falsePositives, 0);
  // Row 6 is the first scored row: a detection there (no window before it) costs −fp.
  close(new ScoringSet([detections(6)]).at(standard, 0.5).raw, -1.11, "row 6");
});

test("the three profiles weigh the same detections differently", () => {
  // Windows [10, 14] and [30, 34] (null = −fn·2, perfect = 2): a detection at row 14 (+0.46838684),
  // a miss of [30, 34] (−fn), a false positive at row 7 (before any window: −fp) and one at row
  // 15 (fp·σ(0.25) = −0.55459972·fp).
  const set = new ScoringSet([file(40, [[10, 14], [30, 34]], { 7: 1, 14: 1, 15: 1 })]);
  const standardT = set.at(standard, 0.5);
  close(standardT.raw, 0.46838684 - 1 - 0.11 * (1 + 0.55459972), "standard raw"); // −0.70261913
  close(standardT.score, 32.434522, "standard score"); // 100·(−0.70261913 + 2)/4
  const lowFpT = set.at(lowFp, 0.5);
  close(lowFpT.raw, 0.46838684 - 1 - 0.22 * (1 + 0.55459972), "low FP raw"); // −0.87362510
  close(lowFpT.score, 28.159373, "low FP score"); // 100·(−0.87362510 + 2)/4
  const lowFnT = set.at(lowFn, 0.5);
  close(lowFnT.raw, 0.46838684 - 2 - 0.11 * (1 + 0.55459972), "low FN raw"); // −1.70261913
  close(lowFnT.score, 38.289681, "low FN score"); // 100·(−1.70261913 + 4)/6
  assert.is(standardT.falsePositives, 2);
});

test("the sweep picks the threshold with the best raw score", () => {
  // Row 7 scores 0.9 (before the window), row 12 0.8 (in it), row 20 0.3 (after it, p = 1.5):
  //   threshold ∞ (never fire): −1
  //   0.9: −1 − 0.11 = −1.11
  //   0.8: −0.11 + 0.91742868 = 0.80742868   ← best
  //   0.3: 0.80742868 + 0.11·σ(1.5) = 0.80742868 − 0.10987839 = 0.69755029
  //   0: every scored row fires, worse still.
  const set = new ScoringSet([file(40, [WINDOW], { 7: 0.9, 12: 0.8, 20: 0.3 })]);
  const s = set.sweep(standard);
  assert.is(s.profile, "standard");
  assert.is(s.threshold, 0.8);
  close(s.raw, 0.80742868, "raw");
  close(s.score, 90.371434, "score");
  close(set.at(standard, 0.3).raw, 0.69755029, "raw at 0.3");
  close(set.at(standard, 0.9).raw, -1.11, "raw at 0.9");
  // A threshold between scores means the same detections as the next score up.
  assert.equal(set.at(standard, 0.85), set.at(standard, 0.9));
});

test("ties go to the higher threshold", () => {
  // Row 12 scores 0.9, row 13 0.7: both in the window, and row 13 adds nothing to row 12's
  // 0.91742868, so thresholds 0.9 and 0.7 tie exactly; the sweep keeps 0.9.
  const s = new ScoringSet([file(40, [WINDOW], { 12: 0.9, 13: 0.7 })]).sweep(standard);
  assert.is(s.threshold, 0.9);
  close(s.raw, 0.91742868, "raw");
});

test("never firing: threshold ∞ scores the null baseline, 0", () => {
  // Firing only ever adds false positives: the sweep keeps threshold ∞ (never fire).
  const set = new ScoringSet([file(40, [WINDOW], { 20: 0.9 })]);
  const s = set.sweep(standard);
  assert.is(s.threshold, Infinity);
  close(s.raw, -1, "raw");
  close(s.score, 0, "score");
  assert.is(s.detected, 0);
  assert.is(s.falsePositives, 0);
  assert.equal(set.at(standard, Infinity), { raw: -1, detected: 0, windows: 1, falsePositives: 0, score: 0 });
});

test("normalisation over several files: perfect → 100, null → 0", () => {
  // Two files with one window each, caught at their first row, and one file without windows or
  // detections: raw = 2 = perfect for every profile.
  const set = new ScoringSet([
    file(40, [WINDOW], { 10: 1 }, "a.csv"),
    file(30, [[20, 24]], { 20: 1 }, "b.csv"),
    file(40, [], {}, "c.csv"),
  ]);
  assert.is(set.windows, 2);
  for (const p of PROFILES) {
    const t = set.at(p, 0.5);
    close(t.raw, 2, `${p.name} raw`);
    close(t.score, 100, `${p.name} score`);
    assert.is(t.detected, 2);
    close(set.at(p, Infinity).score, 0, `${p.name} null`);
    close(set.at(p, Infinity).raw, -2 * p.fn, `${p.name} null raw`);
  }
});

test("a fixed threshold of −∞ fires on every scored row (it does not sweep)", () => {
  const set = new ScoringSet([file(40, [WINDOW], { 7: 0.9, 12: 0.8, 20: 0.3 })]);
  // Every score is ≥ 0, so −∞ and 0 select the same rows: all 34 scored rows.
  assert.equal(set.at(standard, -Infinity), set.at(standard, 0));
  assert.is(set.at(standard, -Infinity).falsePositives, 34 - 5);
  assert.throws(() => set.at(standard, NaN), /NaN/);
});

test("windows out of order, overlapping or out of range, and NaN scores, are rejected", () => {
  assert.throws(() => new ScoringSet([file(40, [[20, 24], [10, 14]], {})]), /f\.csv: windows/);
  assert.throws(() => new ScoringSet([file(40, [[10, 14], [14, 18]], {})]), /windows/);
  assert.throws(() => new ScoringSet([file(40, [[35, 40]], {})]), /windows/);
  assert.throws(() => new ScoringSet([file(40, [], { 9: NaN })]), /row 9 is NaN/);
});

test.run();
