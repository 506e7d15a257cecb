/**
 * Typed errors of the in-process transport. (NoStreamError, FilterSpansStreamsError and
 * GroupConflictError describe contract violations any transport can meet; they may move to
 * transport.ts once the JetStream transport needs them.)
 */
import { TrendwireError } from "../core/errors.ts";

/** No stream captures this subject (publish) or filter (consume). */
export class NoStreamError extends TrendwireError {
  constructor(readonly subject: string) {
    super(`no stream captures subject ${JSON.stringify(subject)}`);
  }
}

/** A consume filter reaches messages of more than one stream; a consumer reads one stream. */
export class FilterSpansStreamsError extends TrendwireError {
  constructor(readonly filter: string, readonly streams: string[]) {
    super(`filter ${JSON.stringify(filter)} spans streams ${streams.join(", ")}`);
  }
}

/** A subject or filter that is not well formed (empty token, wildcard in a publish subject). */
export class InvalidSubjectError extends TrendwireError {
  constructor(readonly subject: string) {
    super(`invalid subject ${JSON.stringify(subject)}`);
  }
}

/** A group is being consumed with a different filter by a member that is still attached. */
export class GroupConflictError extends TrendwireError {
  constructor(readonly group: string, readonly filter: string, readonly activeFilter: string) {
    super(`group ${group} is consuming ${activeFilter}; cannot also consume ${filter}`);
  }
}

/** A consumer state file that cannot be read (it is written atomically, so this is damage). */
export class ConsumerStateError extends TrendwireError {
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super(`unreadable consumer state ${path}`, options);
  }
}
