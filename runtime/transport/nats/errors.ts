/**
 * Typed errors of the NATS JetStream transport, and the one place that turns nats.js errors
 * into them. Mapping goes by error class and JetStream API error code (`err_code`), never by
 * message text. Every error keeps the nats.js error as `cause`.
 */
import { AuthorizationError, errors as natsErrors, PermissionViolationError, RequestError, UserAuthenticationExpiredError } from "@nats-io/nats-core";
import { JetStreamApiError } from "@nats-io/jetstream";
import { BackpressureError, TransportUnavailableError, TrendwireError } from "../../core/errors.ts";

/** JetStream API error codes (server/errors.json) this transport branches on. */
export const ApiCode = {
  /** JSStreamStoreFailedF: a store refused the message; with discard new, "maximum bytes/messages exceeded". */
  StreamStoreFailed: 10077,
  /** JSAccountResourcesExceededErr: the account's JetStream limits are reached. */
  AccountResourcesExceeded: 10002,
  /** JSStorageResourcesExceededErr: the server is out of JetStream storage. */
  StorageResourcesExceeded: 10047,
  /** JSInsufficientResourcesErr */
  InsufficientResources: 10023,
  ConsumerNotFound: 10014,
  StreamNotFound: 10059,
  /** JSConsumerAlreadyExists: a create with a different config (then we update). */
  ConsumerAlreadyExists: 10148,
  /** JSConsumerNameExistErr: an older spelling of the same. */
  ConsumerNameExists: 10013,
} as const;

const FULL = new Set<number>([
  ApiCode.StreamStoreFailed, ApiCode.AccountResourcesExceeded, ApiCode.StorageResourcesExceeded, ApiCode.InsufficientResources,
]);

/** A stream is full (discard new): the publish was refused, nothing was stored. */
export class StreamFullError extends BackpressureError {
  constructor(readonly subject: string, readonly code: number, options?: { cause?: unknown }) {
    super(`stream refused ${subject}: full (JetStream error ${code})`);
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** The server rejected the credentials (or they expired). Retrying with the same ones will not help. */
export class NatsAuthError extends TrendwireError {
  constructor(readonly servers: string[], options?: { cause?: unknown }) {
    super(`NATS authentication failed at ${servers.join(", ")}`, options);
  }
}

/** A subject the account may not publish or subscribe to. */
export class NatsPermissionError extends TrendwireError {
  constructor(readonly subject: string, options?: { cause?: unknown }) {
    super(`permission denied for ${subject}`, options);
  }
}

/** A JetStream API call (stream or consumer management) failed; `code` is the API err_code. */
export class JetStreamRequestError extends TrendwireError {
  constructor(message: string, readonly code: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True for the JetStream API error `code`. */
export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

/**
 * What a failed connect() means: bad credentials → NatsAuthError; anything else (refused,
 * timed out, TLS) → TransportUnavailableError.
 */
export function mapConnectError(error: unknown, servers: string[]): Error {
  if (error instanceof AuthorizationError || error instanceof UserAuthenticationExpiredError) return new NatsAuthError(servers, { cause: error });
  return new TransportUnavailableError(`cannot connect to NATS at ${servers.join(", ")}`, 1000, { cause: error });
}

/**
 * What a failed publish means. Full stream → StreamFullError (a BackpressureError); no answer
 * in time, no JetStream responder, a closed or draining connection → TransportUnavailableError;
 * other API errors → JetStreamRequestError. (No responders for a subject no stream captures
 * is resolved by the caller, which can ask the server.)
 */
export function mapPublishError(error: unknown, subject: string): Error {
  if (error instanceof JetStreamApiError) {
    if (FULL.has(error.code)) return new StreamFullError(subject, error.code, { cause: error });
    return new JetStreamRequestError(`publish to ${subject} failed (JetStream error ${error.code})`, error.code, { cause: error });
  }
  if (error instanceof PermissionViolationError) return new NatsPermissionError(subject, { cause: error });
  if (
    error instanceof natsErrors.TimeoutError || error instanceof RequestError || isNoResponders(error) ||
    error instanceof natsErrors.ClosedConnectionError || error instanceof natsErrors.DrainingConnectionError ||
    error instanceof natsErrors.ConnectionError
  ) {
    return new TransportUnavailableError(`publish to ${subject}: no PubAck (${(error as Error).name})`, 1000, { cause: error });
  }
  return new JetStreamRequestError(`publish to ${subject} failed`, undefined, { cause: error });
}

/**
 * nats.js reports "no responders" on a JetStream publish as JetStreamNotEnabled (not exported
 * by @nats-io/jetstream) whose cause is a RequestError that says so.
 */
export function isNoResponders(error: unknown): boolean {
  if (error instanceof RequestError) return error.isNoResponders();
  return error instanceof Error && error.cause instanceof RequestError && error.cause.isNoResponders();
}

/** For management calls (ensureStreams, consumers): unavailable vs. a real API refusal. */
export function mapApiError(error: unknown, what: string): Error {
  if (error instanceof TrendwireError) return error;
  if (error instanceof JetStreamApiError) return new JetStreamRequestError(`${what} failed (JetStream error ${error.code})`, error.code, { cause: error });
  if (error instanceof natsErrors.InvalidArgumentError) return new JetStreamRequestError(`${what}: invalid argument`, undefined, { cause: error });
  return new TransportUnavailableError(`${what}: NATS unavailable`, 1000, { cause: error });
}
