/**
 * Exact latency percentiles: every sample is kept (a growable Float64Array: 8 bytes a
 * request, a few MB for a 10 s single-event run) and sorted once at the end.
 */
export interface LatencySummary {
  count: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LatencyRecorder {
  #samples = new Float64Array(1 << 16);
  #count = 0;

  add(ms: number): void {
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = ms;
  }

  summary(): LatencySummary {
    const s = this.#samples.subarray(0, this.#count).sort();
    const n = s.length;
    if (n === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
    let sum = 0;
    for (let i = 0; i < n; i++) sum += s[i]!;
    // Nearest-rank percentile: the smallest sample with at least q of all samples at or below it.
    const at = (q: number) => s[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
    return { count: n, meanMs: sum / n, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99), maxMs: s[n - 1]! };
  }
}
