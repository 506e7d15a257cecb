/**
 * `npm run bench -- nab`: Trendwire's detector over NAB's DEV files, scored with NAB's rules
 * (bench/nab/scorer.ts) beside the published detectors' scores on the same files.
 */
import { detectorConfig } from "../actors/detect/detector.ts";
import { scoreSeries } from "../actors/detect/series.ts";
import { loadNab, splitHalves, type NabFile } from "./nab/dataset.ts";
import { PROFILES, ScoringSet, type ScoredFile } from "./nab/scorer.ts";
import { formatTable } from "./table.ts";

function scoreFiles(files: NabFile[]): ScoredFile[] {
  const config = detectorConfig({});
  return files.map((f) => ({
    name: f.name,
    windows: f.windows,
    scores: scoreSeries(f.rows, config).map((o) => o.score),
  }));
}

export async function nabBench(flags: Record<string, string | boolean>): Promise<void> {
  const files = loadNab(typeof flags.dir === "string" ? flags.dir : undefined);
  const t0 = performance.now();
  const scored = scoreFiles(files);
  const ms = performance.now() - t0;
  const all = new ScoringSet(scored);
  const rows = PROFILES.map((p) => {
    const s = all.sweep(p);
    return [p.name, s.score.toFixed(2), s.threshold.toFixed(4), `${s.detected}/${s.windows}`, s.falsePositives];
  });
  console.log(formatTable(["profile", "score", "threshold", "windows", "FP"], rows));
  const [a, b] = splitHalves(scored.map((s, i) => ({ ...files[i]!, s })) as any).map((h: any[]) => h.map((x) => x.s as ScoredFile));
  const A = new ScoringSet(a!);
  const B = new ScoringSet(b!);
  for (const p of PROFILES) {
    const tA = A.sweep(p).threshold;
    const tB = B.sweep(p).threshold;
    console.log(`${p.name}: A→B ${B.at(p, tA).score.toFixed(2)}  B→A ${A.at(p, tB).score.toFixed(2)}`);
  }
  if (flags.files) {
    const p = PROFILES[0]!;
    const t = all.sweep(p).threshold;
    for (const f of scored) {
      const one = new ScoringSet([f]).at(p, t);
      console.log(`${f.name.padEnd(60)} ${one.detected}/${one.windows} fp ${one.falsePositives}`);
    }
  }
  console.log(`scored ${files.reduce((n, f) => n + f.rows.length, 0)} rows in ${ms.toFixed(0)} ms`);
}
