/**
 * The wire codec: every message that crosses an actor boundary is a MessagePack envelope
 * `{v, type, id, ts, body}`. One Encoder and one Decoder are reused (creating them per call
 * costs more than the encoding itself for small messages).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { CodecError } from "../core/errors.ts";

export const ENVELOPE_VERSION = 1;

export interface Envelope<T = unknown> {
  v: number;
  /** Message type name, e.g. "tw.raw_batch.v1". */
  type: string;
  /** Message id; also the transport's de-duplication id. */
  id: string;
  /** Creation time, epoch ms. */
  ts: number;
  body: T;
}

export class MessageCodec {
  // Reused: see the module comment. ignoreUndefined keeps optional fields off the wire.
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #decoder = new Decoder();

  encode<T>(envelope: Envelope<T>): Uint8Array {
    return this.#encoder.encode(envelope);
  }

  /** Raw MessagePack of any value (for object payloads such as persisted batches). */
  encodeValue(value: unknown): Uint8Array {
    return this.#encoder.encode(value);
  }

  decodeValue(bytes: Uint8Array): unknown {
    try {
      return this.#decoder.decode(bytes);
    } catch (cause) {
      throw new CodecError("not valid MessagePack", { cause });
    }
  }

  /** Decodes and checks the envelope shape; `expectedType`, when given, must match. */
  decode<T = unknown>(bytes: Uint8Array, expectedType?: string): Envelope<T> {
    const value = this.decodeValue(bytes) as Partial<Envelope<T>> | null;
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new CodecError("envelope: expected a map");
    }
    if (value.v !== ENVELOPE_VERSION) throw new CodecError(`envelope.v: expected ${ENVELOPE_VERSION}, got ${String(value.v)}`);
    if (typeof value.type !== "string") throw new CodecError("envelope.type: expected a string");
    if (typeof value.id !== "string") throw new CodecError("envelope.id: expected a string");
    if (typeof value.ts !== "number") throw new CodecError("envelope.ts: expected a number");
    if (expectedType !== undefined && value.type !== expectedType) {
      throw new CodecError(`envelope.type: expected ${expectedType}, got ${value.type}`);
    }
    return value as Envelope<T>;
  }
}
