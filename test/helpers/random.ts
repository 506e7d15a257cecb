/**
 * Seeded randomness, so runs (tests, bench bodies) repeat exactly: mulberry32, a tiny PRNG
 * uniform in [0, 1), and exact Poisson and standard normal samples drawn from it.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exact Poisson sample: Knuth's product method on chunks of ≤ 50 (sums of Poissons are Poisson). */
export function poisson(random: () => number, lambda: number): number {
  let total = 0;
  for (let rest = lambda; rest > 0; rest -= 50) {
    const limit = Math.exp(-Math.min(rest, 50));
    let p = random();
    while (p > limit) {
      total++;
      p *= random();
    }
  }
  return total;
}

/** Standard normal sample (Box–Muller). */
export function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}
