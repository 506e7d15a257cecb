/**
 * Structured logs: one JSON object per line on stderr, `{"t":…,"level":…,"actor":…,"msg":…,…}`.
 * Loggers are values passed in (no global), so tests can capture them.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export type LogSink = (line: string) => void;

const stderrSink: LogSink = (line) => console.error(line);

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value.cause ? { cause: errorFields(value.cause) } : {}) };
  }
  return value;
}

export function createLogger(options: { level?: LogLevel; sink?: LogSink; fields?: LogFields } = {}): Logger {
  const min = rank[options.level ?? "info"];
  const sink = options.sink ?? stderrSink;
  const base = options.fields ?? {};
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[level] < min) return;
    const entry: LogFields = { t: new Date().toISOString(), level, ...base, msg };
    if (fields) for (const [k, v] of Object.entries(fields)) entry[k] = errorFields(v);
    sink(JSON.stringify(entry));
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ level: options.level ?? "info", sink, fields: { ...base, ...fields } }),
  };
}

/** Collects lines in memory (tests). */
export function memoryLogger(level: LogLevel = "debug"): Logger & { lines: LogFields[] } {
  const lines: LogFields[] = [];
  const logger = createLogger({ level, sink: (line) => lines.push(JSON.parse(line)) });
  return Object.assign(logger, { lines });
}

/**
 * A warning that can come with every request while a condition lasts (storage unavailable):
 * logged the first time, then at most once per `intervalMs`, with how many were left out since
 * the last one (`suppressed`), so a failure under load cannot flood the log. `over` logs, once,
 * that the condition ended, with the count not yet reported.
 */
export function throttledWarning(log: Logger, msg: string, now: () => number, intervalMs = 10_000): { warn(fields?: LogFields): void; over(msg: string): void } {
  let lastAt = -Infinity;
  let suppressed = 0;
  let active = false;
  return {
    warn(fields) {
      active = true;
      const at = now();
      if (at - lastAt < intervalMs) {
        suppressed++;
        return;
      }
      log.warn(msg, suppressed > 0 ? { ...fields, suppressed } : fields);
      lastAt = at;
      suppressed = 0;
    },
    over(endMsg) {
      if (!active) return;
      log.info(endMsg, suppressed > 0 ? { suppressed } : undefined);
      active = false;
      lastAt = -Infinity;
      suppressed = 0;
    },
  };
}
