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
  RawPart,
  RawSource,
  TagValue,
  TrendSignal,
  WindowAggregate,
} from "./types.ts";
export { MessageType } from "./types.ts";

export type { ValidationIssue, Validator } from "./issues.ts";
export { assertValid, ValidationError } from "./issues.ts";

export type {
  EventColumns, EventLimits, InvalidEvent, ParseEventColumnsResult, ParseEventOptions, ParseEventResult, ParseEventsResult,
} from "./event.ts";
export { defaultEventLimits, parseEvent, parseEventColumns, parseEvents } from "./event.ts";

export type { LocalEventBatch, PackedColumns } from "./event_batch.ts";
export { float32Bytes, float64Bytes, readFloat32s, readFloat64s, readUint32s, uint32Bytes } from "./typed_bytes.ts";
export {
  EventBatchError, KEY_SEPARATOR, columnsOf, eventAt, eventBatch, eventColumnsOf, eventsOf, isPackedColumns, packColumns, packedEventBatch, unpackColumns, withColumns,
} from "./event_batch.ts";

export {
  MAX_MESSAGE_ISSUES,
  validateAggBatch,
  validateDeadLetter,
  validateEventBatch,
  validateRawBatch,
  validateTrendSignal,
} from "./messages.ts";

export { MAX_KEY_BYTES, validateKey } from "./key.ts";
export { MAX_STREAM_NAME_LENGTH, isStreamName, validateStreamName } from "./stream_name.ts";
export { decodeSubjectToken, encodeSubjectToken } from "./subject_token.ts";
export { partitionerOf, partitionOf } from "./partition.ts";
export type { ParsedBody } from "./raw_body.ts";
export { BodyParseError, TooManyEventsError, formatOfContentType, parseBodyColumns, parseRawBody, supportedMediaTypes } from "./raw_body.ts";
