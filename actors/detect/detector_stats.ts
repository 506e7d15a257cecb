/**
 * Tail probabilities the detector needs, in log space so that a count of millions against an
 * expected few (or a z of 1e4) yields a finite surprise instead of underflowing to p = 0.
 *
 * Pure functions, no dependencies. Accuracy targets a significance score, not a statistics
 * library: relative error of p below 1.5e-3 for Poisson tails; Student-t tails err on the
 * conservative side (p too large by < 40 % down to p = 1e-5 for ν ≥ 7). Both are far
 * below anything a threshold can see (a 40 % error in p moves −log10 p by 0.15).
 */

const LN10 = Math.LN10;
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
  -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
  1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~1e-15 relative). */
export function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) sum += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return LOG_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/**
 * e^{y²}·erfc(y) for y ≥ 0 (the scaled complementary error function), with the Chebyshev fit of
 * Numerical Recipes (`erfcc`), whose fractional error is below 1.2e-7 for every y.
 */
export function erfcx(y: number): number {
  const t = 1 / (1 + 0.5 * y);
  return t * Math.exp(
    -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
      t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 +
        t * 0.17087277)))))))),
  );
}

/** ln(1 − e^{lp}) for lp ≤ 0: the log of the complementary probability, without cancellation. */
export function log1mExp(lp: number): number {
  return lp > -Math.LN2 ? Math.log(-Math.expm1(lp)) : Math.log1p(-Math.exp(lp));
}

/** ln P(Z > z) for a standard normal Z. */
export function logNormalUpper(z: number): number {
  const y = Math.abs(z) / Math.SQRT2;
  const logTail = -y * y + Math.log(0.5 * erfcx(y)); // ln P(Z > |z|)
  return z >= 0 ? logTail : log1mExp(logTail);
}

// Below this shape the series / continued fraction converge in a few dozen terms; above it
// Temme's uniform expansion (leading term only) is within 1.5e-3 relative at a = 30,
// shrinking like 1/a, and costs O(1) however large the count.
const TEMME_MIN_A = 30;
const EPS = 1e-15;
const MAX_ITER = 500;

/** Series for ln P(a, x), used when x < a + 1. */
function logGammaPSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < MAX_ITER; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * EPS) break;
  }
  return Math.log(sum) - x + a * Math.log(x) - lnGamma(a);
}

/** Continued fraction (modified Lentz) for ln Q(a, x), used when x ≥ a + 1. */
function logGammaQFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITER; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.log(h) - x + a * Math.log(x) - lnGamma(a);
}

/**
 * Temme's uniform asymptotic expansion (leading correction term only). Returns ln of the smaller
 * tail and which tail it is: `upper` = Q(a, x) when x ≥ a, else P(a, x).
 */
function temme(a: number, x: number): { logSmall: number; upper: boolean } {
  const d = x / a - 1;
  const eta = Math.sign(d) * Math.sqrt(2 * (d - Math.log1p(d)));
  // C0(η) = 1/(λ−1) − 1/η, cancelling near η = 0, where its Taylor series is used instead.
  const c0 = Math.abs(eta) < 0.02
    ? -1 / 3 + eta / 12 - (2 * eta * eta) / 135 + (eta * eta * eta) / 864
    : 1 / d - 1 / eta;
  const y = Math.abs(eta) * Math.sqrt(a / 2);
  const r = c0 / Math.sqrt(2 * Math.PI * a);
  const upper = eta >= 0;
  const inner = 0.5 * erfcx(y) + (upper ? r : -r);
  return { logSmall: -y * y + Math.log(inner), upper };
}

/** ln P(a, x): the regularised lower incomplete gamma function, a > 0, x ≥ 0. */
export function logGammaP(a: number, x: number): number {
  if (x <= 0) return -Infinity;
  if (a >= TEMME_MIN_A) {
    const t = temme(a, x);
    return t.upper ? log1mExp(t.logSmall) : t.logSmall;
  }
  return x < a + 1 ? logGammaPSeries(a, x) : log1mExp(logGammaQFraction(a, x));
}

/** ln Q(a, x) = ln(1 − P(a, x)): the regularised upper incomplete gamma function. */
export function logGammaQ(a: number, x: number): number {
  if (x <= 0) return 0;
  if (a >= TEMME_MIN_A) {
    const t = temme(a, x);
    return t.upper ? t.logSmall : log1mExp(t.logSmall);
  }
  return x < a + 1 ? log1mExp(logGammaPSeries(a, x)) : logGammaQFraction(a, x);
}

/**
 * ln P(X ≥ k) for X ~ Poisson(λ). Real k is allowed (the gamma-function continuation), which is
 * what the over-dispersed (quasi-Poisson) test feeds in after scaling counts by 1/φ.
 */
export function logPoissonUpper(k: number, lambda: number): number {
  return k <= 0 ? 0 : logGammaP(k, lambda);
}

/** ln P(X ≤ k) for X ~ Poisson(λ), real k ≥ 0 allowed. */
export function logPoissonLower(k: number, lambda: number): number {
  return k < 0 ? -Infinity : logGammaQ(k + 1, lambda);
}

/**
 * A near-normal deviate for a Poisson count: the signed deviance residual plus Pierce & Schafer's
 * 1/(6√λ) bias correction (held at 1/6 below λ = 1, where it would swamp the residual and turn
 * a zero count positive). Closed form and cheap, and, unlike (x−λ)/√λ, close to N(0, 1) even
 * for λ below 1, so the change-point statistic built on it keeps its calibration on sparse keys.
 */
export function poissonDeviate(x: number, lambda: number): number {
  const dev = x > 0 ? x * Math.log(x / lambda) - (x - lambda) : lambda;
  const r = Math.sqrt(2 * Math.max(0, dev));
  return (x >= lambda ? r : -r) + 1 / (6 * Math.sqrt(Math.max(1, lambda)));
}

/**
 * Maps Student's t with ν degrees of freedom to a near-normal deviate by the normalising
 * transform of Gaver & Kafadar / Wallace, z = √((ν − 2/3 + 1/(10ν))·ln(1 + t²/ν)), which stays
 * usable deep into the tail where treating t as normal is off by orders of magnitude.
 */
export function studentToNormal(t: number, nu: number): number {
  if (nu > 1e6) return t;
  const z = Math.sqrt(Math.max(0, (nu - 2 / 3 + 1 / (10 * nu)) * Math.log1p((t * t) / nu)));
  return t >= 0 ? z : -z;
}

/** ln P(T > t) for Student's t with ν degrees of freedom. */
export function logStudentUpper(t: number, nu: number): number {
  return logNormalUpper(studentToNormal(t, nu));
}

/** Geary's ratio E|T| / sd(T) of Student's t with ν > 2 degrees of freedom (√(2/π) as ν → ∞). */
export function studentGeary(nu: number): number {
  const meanAbs = (2 * Math.sqrt(nu) * Math.exp(lnGamma((nu + 1) / 2) - lnGamma(nu / 2))) / (Math.sqrt(Math.PI) * (nu - 1));
  return meanAbs / Math.sqrt(nu / (nu - 2));
}

const GEARY_NU: number[] = [];
const GEARY_G: number[] = [];
for (let i = 0; i <= 96; i++) {
  const nu = 2 + 0.2 * Math.pow(10, i / 24); // 2.2 … 2002, dense where the ratio moves
  GEARY_NU.push(nu);
  GEARY_G.push(studentGeary(nu));
}

/**
 * The Student-t degrees of freedom whose Geary ratio is `g` (mean absolute / RMS deviation):
 * a tail-weight estimate from two running moments. Infinity for g at or above the normal's
 * √(2/π); never below 2.2.
 */
export function degreesFromGeary(g: number): number {
  if (!(g < GEARY_G[GEARY_G.length - 1]!)) return Infinity;
  if (g <= GEARY_G[0]!) return GEARY_NU[0]!;
  let lo = 0;
  let hi = GEARY_G.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (GEARY_G[mid]! <= g) lo = mid; else hi = mid;
  }
  const f = (g - GEARY_G[lo]!) / (GEARY_G[hi]! - GEARY_G[lo]!);
  return GEARY_NU[lo]! + f * (GEARY_NU[hi]! - GEARY_NU[lo]!);
}

/** −log10 of a probability given as its natural log: the "surprise" in decimal digits. */
export function surprise(logP: number): number {
  return Math.max(0, -logP / LN10);
}
