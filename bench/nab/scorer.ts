/**
 * NAB's scoring rules (Lavin & Ahmad 2015, as summarised in ../shared/nab-dev/README.md),
 * written from the rules, not from NAB's code:
 *
 *  - the first min(floor(0.15·n), 750) rows of a file are probation: never scored;
 *  - a detection is a row whose score ≥ the threshold;
 *  - the best (earliest) detection inside window [L, R] (W rows) earns tp·σ(p)/σ(−1) with
 *    p = −(R − i + 1)/W; a window without one costs −fn;
 *  - a detection outside every window costs fp·σ(p), p = (i − R_prev)/(W_prev − 1) after the last
 *    window before it, and −fp when p > 3 or when no window comes before it;
 *  - one threshold per profile for the whole set maximises the raw score (ties: the higher one);
 *  - score = 100·(raw − null)/(perfect − null), null = −fn·#windows, perfect = tp·#windows.
 *
 * σ(p) = 2/(1 + e^{5p}) − 1.
 */

export interface Profile {
  name: string;
  tp: number;
  fp: number;
  fn: number;
}

export const PROFILES: readonly Profile[] = Object.freeze([
  { name: "standard", tp: 1, fp: 0.11, fn: 1 },
  { name: "low FP", tp: 1, fp: 0.22, fn: 1 },
  { name: "low FN", tp: 1, fp: 0.11, fn: 2 },
]);

/** One labelled file: its scores and its windows as inclusive row-index ranges, in time order. */
export interface ScoredFile {
  name: string;
  scores: ArrayLike<number>;
  /** [L, R] row indices, inclusive, sorted, not overlapping. */
  windows: readonly (readonly [number, number])[];
}

export function sigma(p: number): number {
  return 2 / (1 + Math.exp(5 * p)) - 1;
}

export function probationRows(n: number): number {
  return Math.min(Math.floor(0.15 * n), 750);
}

/**
 * What a detection at each scored row would be worth, unweighted: inside a window, the window's
 * index and σ(p)/σ(−1) ∈ (0, 1]; outside, window −1 and σ(p) ∈ [−1, 0] (to be weighted by fp).
 */
interface RowValue {
  score: number;
  /** Global window index (across files), or −1 for a row outside every window. */
  window: number;
  value: number;
}

/** The sweep sorts by score and matches windows in order: both break silently on bad input. */
function check(file: ScoredFile): void {
  const n = file.scores.length;
  let previousEnd = -1;
  for (const [l, r] of file.windows) {
    if (!(Number.isInteger(l) && Number.isInteger(r) && previousEnd < l && l <= r && r < n)) {
      throw new Error(`${file.name}: windows must be sorted, disjoint row ranges within 0..${n - 1}, got [${l}, ${r}]`);
    }
    previousEnd = r;
  }
  for (let i = 0; i < n; i++) if (Number.isNaN(file.scores[i])) throw new Error(`${file.name}: score at row ${i} is NaN`);
}

function rowValues(file: ScoredFile, firstWindow: number): RowValue[] {
  check(file);
  const n = file.scores.length;
  const out: RowValue[] = [];
  const probation = probationRows(n);
  let w = 0; // next window not yet passed
  const top = sigma(-1);
  for (let i = probation; i < n; i++) {
    while (w < file.windows.length && file.windows[w]![1] < i) w++;
    const current = file.windows[w];
    let window = -1;
    let value: number;
    if (current && current[0] <= i) {
      const width = current[1] - current[0] + 1;
      window = firstWindow + w;
      value = sigma(-(current[1] - i + 1) / width) / top;
    } else if (w === 0) {
      value = -1;
    } else {
      const [l, r] = file.windows[w - 1]!;
      const p = (i - r) / (r - l); // W_prev − 1 = R − L; a one-row window gives p = ∞, hence −fp
      value = p > 3 ? -1 : sigma(p);
    }
    out.push({ score: file.scores[i]!, window, value });
  }
  return out;
}

export interface Tally {
  raw: number;
  /** Windows with at least one detection. */
  detected: number;
  windows: number;
  /** Detections outside every window (after probation). */
  falsePositives: number;
  /** 100·(raw − null)/(perfect − null). */
  score: number;
}

export interface Sweep extends Tally {
  profile: string;
  /** The threshold chosen (Infinity: never firing was best). */
  threshold: number;
}

/** The rows of several files, ready to be swept or scored at a threshold. */
export class ScoringSet {
  readonly windows: number;
  readonly #rows: RowValue[];

  constructor(files: readonly ScoredFile[]) {
    const rows: RowValue[] = [];
    let windows = 0;
    for (const f of files) {
      for (const r of rowValues(f, windows)) rows.push(r);
      windows += f.windows.length;
    }
    rows.sort((a, b) => b.score - a.score);
    this.#rows = rows;
    this.windows = windows;
  }

  #normalise(raw: number, profile: Profile): number {
    const nul = -profile.fn * this.windows;
    const perfect = profile.tp * this.windows;
    return perfect === nul ? 0 : (100 * (raw - nul)) / (perfect - nul);
  }

  /** Raw score and counts at one threshold (Infinity: never fire; −Infinity: every row fires). */
  at(profile: Profile, threshold: number): Tally {
    if (Number.isNaN(threshold)) throw new Error("threshold is NaN");
    return this.#walk(profile, threshold).best;
  }

  /** The threshold that maximises the raw score (ties to the higher threshold), with its tally. */
  sweep(profile: Profile): Sweep {
    const { best, threshold } = this.#walk(profile, undefined);
    return { profile: profile.name, threshold, ...best };
  }

  /**
   * Walks the rows from the highest score down, evaluating after each distinct score. With a
   * `fixed` threshold it stops below it and returns the tally at it; without, it returns the
   * best tally seen (strictly better only, so ties keep the higher threshold).
   */
  #walk(profile: Profile, fixed: number | undefined): { best: Tally; threshold: number } {
    const best: number[] = new Array(this.windows).fill(0);
    const hit: boolean[] = new Array(this.windows).fill(false);
    let raw = -profile.fn * this.windows;
    let detected = 0;
    let falsePositives = 0;
    const tally = (): Tally => ({ raw, detected, windows: this.windows, falsePositives, score: this.#normalise(raw, profile) });
    let bestTally = tally();
    let bestThreshold = Infinity;
    const rows = this.#rows;
    for (let i = 0; i < rows.length;) {
      const t = rows[i]!.score;
      if (fixed !== undefined && t < fixed) break;
      for (; i < rows.length && rows[i]!.score === t; i++) {
        const r = rows[i]!;
        if (r.window < 0) {
          raw += profile.fp * r.value;
          falsePositives++;
          continue;
        }
        const v = profile.tp * r.value;
        if (!hit[r.window]) {
          hit[r.window] = true;
          detected++;
          raw += v + profile.fn;
          best[r.window] = v;
        } else if (v > best[r.window]!) {
          raw += v - best[r.window]!;
          best[r.window] = v;
        }
      }
      if (fixed !== undefined || raw > bestTally.raw) {
        bestTally = tally();
        bestThreshold = t;
      }
    }
    return { best: bestTally, threshold: bestThreshold };
  }
}
