/** Reading bench flags (parsed by app/cli.ts's parseArgs) into validated values. */
export class BenchUsageError extends Error {}

export function intFlag(flags: Record<string, string | boolean>, name: string, fallback: number, min: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === "string" ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min) throw new BenchUsageError(`--${name}: expected an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function listFlag<T extends string>(flags: Record<string, string | boolean>, name: string, allowed: readonly T[]): T[] {
  const raw = flags[name];
  if (raw === undefined) return [...allowed];
  if (typeof raw !== "string") throw new BenchUsageError(`--${name} needs a comma-separated list of ${allowed.join(", ")}`);
  const items = raw.split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new BenchUsageError(`--${name}: unknown value "${item}" (expected ${allowed.join(", ")})`);
  }
  if (items.length === 0) throw new BenchUsageError(`--${name} is empty`);
  return items as T[];
}

/** A non-negative number of seconds (fractions allowed, e.g. `--duration 0.5` for a smoke run). */
export function secondsFlag(flags: Record<string, string | boolean>, name: string, fallback: number, min: number): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = typeof raw === "string" ? Number(raw) : NaN;
  if (!Number.isFinite(n) || n < min) throw new BenchUsageError(`--${name}: expected seconds >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

/** Extra command-line arguments in one flag (`--run-args="--a 1 --b"`), split on whitespace; [] when absent. */
export function argsFlag(flags: Record<string, string | boolean>, name: string): string[] {
  const raw = flags[name];
  if (raw === undefined) return [];
  if (typeof raw !== "string") throw new BenchUsageError(`--${name} needs a value (note the =: --${name}="<args>")`);
  return raw.split(/\s+/).filter(Boolean);
}
