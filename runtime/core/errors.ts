/** Typed errors of the runtime. Code and tests branch on the class, never on message text. */
export class TrendwireError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A bounded resource is full; the caller should retry after `retryAfterMs`. */
export class BackpressureError extends TrendwireError {
  constructor(message: string, readonly retryAfterMs = 1000, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The transport cannot take or hand out messages right now (closed, disconnected). */
export class TransportUnavailableError extends TrendwireError {
  constructor(message: string, readonly retryAfterMs = 1000, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A configuration value is invalid; `field` names it. */
export class ConfigError extends TrendwireError {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
  }
}

/** Bytes that are not a valid message envelope. */
export class CodecError extends TrendwireError {}

/** A supervisor gave up: restarts exceeded its intensity. */
export class EscalationError extends TrendwireError {
  constructor(readonly child: string, options?: { cause?: unknown }) {
    super(`restart intensity exceeded for ${child}`, options);
  }
}
