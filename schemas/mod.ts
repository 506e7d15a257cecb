/**
 * Public surface of schemas/: message types and their envelope type names, producer-event
 * parsing, message-body validators, and the key/stream/partition helpers subjects are built
 * from. Imports nothing else of Trendwire.
 */
export type {
  AggBatch,
  CanonicalEvent,
  DeadLetterEntry,
  Direction,
  EventBatch,
  EventInput,
  MessageTypeName,
  RawBatch,
  RawFormat,
  TagValue,
  TrendSignal,
  WindowAggregate,
} from "./types.ts";
export { MessageType } from "./types.ts";

export type { ValidationIssue, Validator } from "./issues.ts";
export { assertValid, ValidationError } from "./issues.ts";

export type { EventLimits, ParseEventOptions, ParseEventResult, ParseEventsResult } from "./event.ts";
export { defaultEventLimits, parseEvent, parseEvents } from "./event.ts";

export {
  MAX_MESSAGE_ISSUES,
  validateAggBatch,
  validateDeadLetter,
  validateEventBatch,
  validateRawBatch,
  validateTrendSignal,
} from "./messages.ts";

export { MAX_KEY_BYTES, validateKey } from "./key.ts";
export { MAX_STREAM_NAME_LENGTH, validateStreamName } from "./stream_name.ts";
export { decodeSubjectToken, encodeSubjectToken } from "./subject_token.ts";
export { partitionOf } from "./partition.ts";
export { BodyParseError, TooManyEventsError, formatOfContentType, parseRawBody, supportedMediaTypes } from "./raw_body.ts";
