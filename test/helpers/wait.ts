/**
 * Polling with a deadline for asynchronous outcomes: tests wait for a condition, never for a
 * fixed time, and fail with a useful message (the last observed value) when it does not come.
 */
export class WaitTimeoutError extends Error {}

/**
 * Calls `probe` until it returns a truthy value (returned) or `timeoutMs` passes (throws
 * WaitTimeoutError naming `what` and the last value seen). Polls every `intervalMs`.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<Exclude<T, false | 0 | "" | null | undefined>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 20;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last as Exclude<T, false | 0 | "" | null | undefined>;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${describe(last)}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const s = JSON.stringify(value);
    return s === undefined ? String(value) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
  } catch {
    return String(value);
  }
}

/** `promise`, or a WaitTimeoutError naming `what` if it has not settled within `timeoutMs`. */
export async function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeoutError(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
