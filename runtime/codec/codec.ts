/**
 * The wire codec: every message that crosses an actor boundary is a MessagePack envelope
 * `{v, type, id, ts, body}`. One Encoder and one Decoder are reused (creating them per call
 * costs more than the encoding itself for small messages); the Encoder is replaced after an
 * encoding that grew its buffer past MAX_RETAINED_BUFFER, since it never shrinks (one large
 * checkpoint would otherwise pin hundreds of MB for the life of the process).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { CodecError } from "../core/errors.ts";
import { concatParts, markLargeBinaries, spliceBinaries } from "./large_binaries.ts";

/** The Encoder's buffer is let go once it has grown beyond this (bytes). */
export const MAX_RETAINED_BUFFER = 4 << 20;
const encoderOptions = { ignoreUndefined: true };

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
  #encoder = new Encoder(encoderOptions);
  #bufferBytes = 0;
  readonly #decoder = new Decoder();
  /** Marks large binaries in encodeLarge (random, so no data can forge a marker). */
  readonly #nonce = crypto.getRandomValues(new Uint8Array(12));

  encode<T>(envelope: Envelope<T>): Uint8Array {
    return this.#encodeCopy(envelope);
  }

  /** Raw MessagePack of any value (for object payloads such as persisted batches). */
  encodeValue(value: unknown): Uint8Array {
    return this.#encodeCopy(value);
  }

  /**
   * The same bytes as encodeValue, for values holding large binaries (checkpoints): those of
   * 1 MiB or more are copied once, straight into an exactly sized result, instead of through
   * the Encoder's buffer (large_binaries.ts).
   */
  encodeLarge(value: unknown): Uint8Array {
    return concatParts(this.encodeLargeParts(value));
  }

  /**
   * encodeLarge's bytes as parts to be written one after the other, the large binaries among
   * them as they are (not copied): they must not change until the parts have been written.
   */
  encodeLargeParts(value: unknown): Uint8Array[] {
    const marked = markLargeBinaries(value, this.#nonce);
    if (marked.binaries.length === 0) return [this.#encodeCopy(value)];
    const parts = spliceBinaries(this.#encodeShared(marked.value), marked.binaries, this.#nonce);
    this.#release();
    return parts;
  }

  /** Bytes held by the Encoder's buffer (it grows to fit the largest recent encoding, up to MAX_RETAINED_BUFFER). */
  get bufferBytes(): number {
    return this.#bufferBytes;
  }

  #encodeShared(value: unknown): Uint8Array {
    const shared = this.#encoder.encodeSharedRef(value);
    this.#bufferBytes = shared.buffer.byteLength;
    return shared;
  }

  #encodeCopy(value: unknown): Uint8Array {
    const out = this.#encodeShared(value).slice();
    this.#release();
    return out;
  }

  /** A fresh Encoder once this one's buffer has grown too large to keep. */
  #release(): void {
    if (this.#bufferBytes <= MAX_RETAINED_BUFFER) return;
    this.#encoder = new Encoder(encoderOptions);
    this.#bufferBytes = 0;
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
