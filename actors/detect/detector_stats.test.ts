import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  degreesFromGeary, lnGamma, logGammaP, logGammaQ, logNormalUpper, logPoissonLower, logPoissonUpper,
  logStudentUpper, poissonDeviate, studentGeary, surprise,
} from "./detector_stats.ts";

/** ln P(X ≥ k) and ln P(X ≤ k) for integer k by summing the pmf in log space (the reference). */
function bruteTails(k: number, lambda: number): { upper: number; lower: number } {
  const logPmf = (i: number) => i * Math.log(lambda) - lambda - lnGamma(i + 1);
  const logSum = (from: number, to: number) => {
    let max = -Infinity;
    for (let i = from; i <= to; i++) max = Math.max(max, logPmf(i));
    let sum = 0;
    for (let i = from; i <= to; i++) sum += Math.exp(logPmf(i) - max);
    return max + Math.log(sum);
  };
  const top = Math.ceil(Math.max(k, lambda) + 40 * Math.sqrt(lambda + 1) + 50);
  return { upper: logSum(k, top), lower: logSum(0, k) };
}

function assertClose(actual: number, expected: number, relTol: number, what: string): void {
  const ok = Math.abs(actual - expected) <= relTol * Math.max(1, Math.abs(expected));
  assert.ok(ok, `${what}: got ${actual}, expected ${expected}`);
}

test("lnGamma matches known values", () => {
  assertClose(lnGamma(1), 0, 1e-13, "lnΓ(1)");
  assertClose(lnGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-13, "lnΓ(1/2)");
  assertClose(lnGamma(10), Math.log(362880), 1e-13, "lnΓ(10)");
  assertClose(lnGamma(101), 363.73937555556347, 1e-13, "lnΓ(101)");
});

test("Poisson tails match pmf summation, small and large counts (p accurate to 0.2 %)", () => {
  const cases: Array<[number, number]> = [
    [0, 0.5], [1, 0.5], [3, 0.2], [6, 0.5], [0, 3], [10, 3], [40, 20], [5, 20], [30, 20],
    [80, 20], [142, 21.3], [1100, 1000], [900, 1000], [1300, 1000], [60, 100],
  ];
  for (const [k, lambda] of cases) {
    const ref = bruteTails(k, lambda);
    if (k > 0) assertClose(logPoissonUpper(k, lambda), ref.upper, 2e-3, `ln P(X ≥ ${k} | ${lambda})`);
    assertClose(logPoissonLower(k, lambda), ref.lower, 2e-3, `ln P(X ≤ ${k} | ${lambda})`);
  }
  assert.is(logPoissonUpper(0, 5), 0, "P(X ≥ 0) = 1");
});

test("tails stay finite in log space where p underflows", () => {
  const up = logPoissonUpper(1e6, 10); // p ≈ 10^-5.6e6
  assert.ok(Number.isFinite(up) && up < -1e6, `upper ${up}`);
  const down = logPoissonLower(0, 2e6); // ln p = −2e6 exactly
  assertClose(down, -2e6, 1e-6, "ln P(X ≤ 0 | 2e6)");
  assert.ok(Number.isFinite(surprise(up)) && surprise(up) > 1e5);
  assertClose(logNormalUpper(40), -804.608, 1e-4, "ln P(Z > 40)");
});

test("regularised gamma P and Q are complementary across the series/fraction/Temme boundaries", () => {
  for (const a of [0.3, 2, 29.5, 30, 31, 500]) {
    for (const f of [0.3, 0.9, 1, 1.1, 3]) {
      const x = a * f;
      const sum = Math.exp(logGammaP(a, x)) + Math.exp(logGammaQ(a, x));
      assertClose(sum, 1, 1e-9, `P+Q at a=${a}, x=${x}`);
    }
  }
});

test("normal and Student-t tails", () => {
  assertClose(Math.exp(logNormalUpper(0)), 0.5, 1e-7, "P(Z > 0)");
  assertClose(Math.exp(logNormalUpper(1.959964)), 0.025, 1e-6, "P(Z > 1.96)");
  assertClose(Math.exp(logNormalUpper(-3)), 0.9986501, 1e-6, "P(Z > −3)");
  // t with 7 df: P(T > 3.4995) = 0.005; the normalising approximation is conservative but close.
  const p = Math.exp(logStudentUpper(3.4995, 7));
  assert.ok(p >= 0.005 && p < 0.0065, `t7 tail ${p}`);
  // Many degrees of freedom ≈ normal.
  assertClose(logStudentUpper(3, 1e7), logNormalUpper(3), 1e-6, "t∞ = normal");
});

test("Poisson deviate is near zero-mean and unit-variance even for sparse counts; zero is never high", () => {
  for (const lambda of [1e-6, 0.01, 0.3, 1, 5]) assert.ok(poissonDeviate(0, lambda) <= 0.17, `deviate(0 | ${lambda})`);
  for (const lambda of [0.5, 2, 20, 500]) {
    let mean = 0;
    let square = 0;
    let mass = 0;
    for (let i = 0; i < lambda + 60 * Math.sqrt(lambda) + 40; i++) {
      const pmf = Math.exp(i * Math.log(lambda) - lambda - lnGamma(i + 1));
      const d = poissonDeviate(i, lambda);
      mean += pmf * d;
      square += pmf * d * d;
      mass += pmf;
    }
    assert.ok(Math.abs(mass - 1) < 1e-9);
    assert.ok(Math.abs(mean) < 0.12, `mean ${mean} at λ=${lambda}`);
    assert.ok(Math.abs(square - mean * mean - 1) < 0.25, `variance ${square - mean * mean} at λ=${lambda}`);
  }
});

test("degreesFromGeary inverts the t's Geary ratio; normal ratio means infinite df", () => {
  for (const nu of [2.5, 3, 4, 6, 10, 30, 200]) {
    assertClose(degreesFromGeary(studentGeary(nu)), nu, 0.02, `ν=${nu}`);
  }
  assert.is(degreesFromGeary(Math.sqrt(2 / Math.PI) + 0.01), Infinity);
  assert.is(degreesFromGeary(0.1), degreesFromGeary(0.2)); // floored
});

test.run();
