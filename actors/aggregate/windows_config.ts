/**
 * Configuration and errors of event-time windowing: per-stream window size, out-of-order bound,
 * allowed lateness and idle timeout, resolved once per stream from defaults plus per-stream
 * overrides and validated by field name, so a bad value fails at start-up, not mid-stream.
 */

/** How one stream's windows behave. All values are milliseconds. */
export interface WindowConfig {
  /** Tumbling window length. Defaults to 10 000. */
  sizeMs: number;
  /** How far behind the newest event time the watermark trails. Defaults to 2 000. */
  maxOutOfOrderMs: number;
  /** How long after emission a window still accepts events (each one re-emits it). Defaults to 0. */
  allowedLatenessMs: number;
  /** Processing time without events after which a stream counts as idle. Defaults to `sizeMs`. */
  idleTimeoutMs: number;
}

export interface WindowerOptions {
  /** Applied to every stream; missing fields take the documented defaults. */
  defaults?: Partial<WindowConfig>;
  /** Overrides per stream name, over `defaults`. */
  perStream?: Record<string, Partial<WindowConfig>>;
  /** Upper bound on windows held in memory over all streams. Defaults to 1 000 000. */
  maxOpenWindows?: number;
  /**
   * Streams that hold no window whose state (watermark) is kept at most; beyond it the least
   * recently active of them are forgotten (see Windower). Defaults to 10 000.
   */
  maxIdleStreams?: number;
}

export const DEFAULT_WINDOW_SIZE_MS = 10_000;
export const DEFAULT_MAX_OUT_OF_ORDER_MS = 2_000;
export const DEFAULT_ALLOWED_LATENESS_MS = 0;
export const DEFAULT_MAX_OPEN_WINDOWS = 1_000_000;
export const DEFAULT_MAX_IDLE_STREAMS = 10_000;

/** Base class of this module's errors; code branches on the subclass, never on message text. */
export class WindowError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A configuration value is invalid; `field` names it (e.g. `perStream.clicks.sizeMs`). */
export class WindowConfigError extends WindowError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** An event reached the windower with a non-finite `ts` or `value` (a validation bug upstream). */
export class WindowInputError extends WindowError {
  constructor(readonly stream: string, readonly index: number, message: string) {
    super(`${stream}[${index}]: ${message}`);
  }
}

/** A snapshot cannot be restored: malformed, or incompatible with the configuration given. */
export class WindowRestoreError extends WindowError {}

function checkMs(field: string, value: number, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new WindowConfigError(field, `expected an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function own(record: Record<string, Partial<WindowConfig>> | undefined, stream: string) {
  return record !== undefined && Object.hasOwn(record, stream) ? record[stream] : undefined;
}

function merge(d: Partial<WindowConfig>, s: Partial<WindowConfig>, prefix: string): Readonly<WindowConfig> {
  const at = (name: keyof WindowConfig) => (s[name] !== undefined ? `${prefix}.${name}` : `defaults.${name}`);
  const sizeMs = checkMs(at("sizeMs"), s.sizeMs ?? d.sizeMs ?? DEFAULT_WINDOW_SIZE_MS, 1);
  return Object.freeze({
    sizeMs,
    maxOutOfOrderMs: checkMs(
      at("maxOutOfOrderMs"),
      s.maxOutOfOrderMs ?? d.maxOutOfOrderMs ?? DEFAULT_MAX_OUT_OF_ORDER_MS,
      0,
    ),
    allowedLatenessMs: checkMs(
      at("allowedLatenessMs"),
      s.allowedLatenessMs ?? d.allowedLatenessMs ?? DEFAULT_ALLOWED_LATENESS_MS,
      0,
    ),
    // An idle stream is one quiet for a whole window unless configured otherwise.
    idleTimeoutMs: checkMs(at("idleTimeoutMs"), s.idleTimeoutMs ?? d.idleTimeoutMs ?? sizeMs, 1),
  });
}

/** The frozen, validated config of `stream`: per-stream override, then defaults, then built-ins. */
export function resolveWindowConfig(options: WindowerOptions, stream: string): Readonly<WindowConfig> {
  return merge(options.defaults ?? {}, own(options.perStream, stream) ?? {}, `perStream.${stream}`);
}

/** Validates the defaults, every configured stream and the global bounds at once; returns the bounds. */
export function validateWindowerOptions(options: WindowerOptions): { maxOpenWindows: number; maxIdleStreams: number } {
  merge(options.defaults ?? {}, {}, "defaults");
  for (const stream of Object.keys(options.perStream ?? {})) resolveWindowConfig(options, stream);
  return {
    maxOpenWindows: checkMs("maxOpenWindows", options.maxOpenWindows ?? DEFAULT_MAX_OPEN_WINDOWS, 1),
    maxIdleStreams: checkMs("maxIdleStreams", options.maxIdleStreams ?? DEFAULT_MAX_IDLE_STREAMS, 1),
  };
}
