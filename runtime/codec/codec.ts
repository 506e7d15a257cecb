/**
 * The wire codec: every message that crosses an actor boundary is a MessagePack envelope
 * `{v, type, id, ts, body}`. One Encoder and one Decoder are reused (creating them per call
 * costs more than the encoding itself for small messages); the Encoder is replaced after an
 * encoding that grew its buffer past MAX_RETAINED_BUFFER, since it never shrinks (one large
 * checkpoint would otherwise pin hundreds of MB for the life of the process).
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { CodecError } from "../core/errors.ts";
import { binHeader, concatParts, EncodedValue, markLargeBinaries, spliceBinaries, spliceSteps } from "./large_binaries.ts";
import { mapEntries, NOT_SCALAR, scalarAt, valueEnd } from "./msgpack_extent.ts";

export { EncodedValue } from "./large_binaries.ts";

/** The Encoder's buffer is let go once it has grown beyond this (bytes). */
export const MAX_RETAINED_BUFFER = 4 << 20;
/** encodeWithList gathers its items' bytes in chunks of at most this size. */
const LIST_CHUNK = 1 << 20;
/**
 * encodeWithList passes on binaries of at least this size inside its items (a raw batch's
 * request bodies, in an archive object) as parts of their own, not copied: each was otherwise
 * copied twice, into the Encoder's buffer and then into a chunk, and the chunks (an archive
 * object's worth of fresh buffers) lived until the object was written.
 */
export const LIST_SPLICED_BINARY = 16 << 10;
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

/** A decoded envelope (a same-process publish hands one along with the bytes). */
export function isEnvelope(value: unknown): value is Envelope {
  return typeof value === "object" && value !== null && (value as Envelope).v === 1 && typeof (value as Envelope).type === "string";
}

const EMPTY_ARRAY = 0x90;

/** A MessagePack array header for `n` items. */
function arrayHeader(n: number): Uint8Array {
  if (n < 16) return Uint8Array.of(EMPTY_ARRAY | n);
  if (n < 0x10000) return Uint8Array.of(0xdc, n >>> 8, n & 0xff);
  return Uint8Array.of(0xdd, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

export class MessageCodec {
  // Reused: see the module comment. ignoreUndefined keeps optional fields off the wire.
  #encoder = new Encoder(encoderOptions);
  #bufferBytes = 0;
  readonly #decoder = new Decoder();
  /** Marks the binaries encodeLarge and encodeWithList splice in (random, so no data can forge a marker). */
  readonly #nonce = crypto.getRandomValues(new Uint8Array(12));

  /** A fresh, exactly sized copy the caller owns: publishers hand it to the transport as `owned`. */
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
    const parts = spliceBinaries(this.#encodeShared(marked.value), marked.binaries, this.#nonce, marked.encoded);
    this.#release();
    return parts;
  }

  /**
   * encodeValue({ ...head, [key]: items }) — the list last — as parts to be written one after
   * the other: the items are encoded one at a time and gathered in chunks of at most 1 MiB (or
   * one larger item), so the Encoder's buffer holds one item, never the whole value. (A persist flush of ~20 MB encoded
   * whole grew a fresh Encoder's buffer from 2 KB, and had it let go, every second.) Binaries
   * of LIST_SPLICED_BINARY bytes or more inside the items are parts of their own, as they are:
   * they must not change until the parts have been written. An EncodedValue inside the items is
   * written as its bytes (a part of its own from LIST_SPLICED_BINARY bytes on, as a binary is).
   */
  encodeWithList(head: Record<string, unknown>, key: string, items: readonly unknown[]): Uint8Array[] {
    const prefix = this.#encodeCopy({ ...head, [key]: [] });
    if (prefix[prefix.length - 1] !== EMPTY_ARRAY || key in head) throw new RangeError(`encodeWithList: "${key}" must be the last field, and only the list`);
    const parts = [prefix.subarray(0, prefix.length - 1), arrayHeader(items.length)];
    let chunk = new Uint8Array(0);
    // The chunk's bytes [start, used) are not in `parts` yet.
    let start = 0;
    let used = 0;
    // `itemBytes`: the encoded size of the item these bytes belong to (for a spliced one, with
    // its markers in place of its binaries), so that a new chunk holds the items left.
    const append = (bytes: Uint8Array, itemBytes: number, itemsLeft: number) => {
      if (used + bytes.length > chunk.length) {
        if (used > start) parts.push(chunk.subarray(start, used));
        // Sized for the items left as if each were this one's size, within a chunk: a list of a
        // few small records (a trends or dead-letter object) does not take a whole MiB.
        chunk = new Uint8Array(Math.max(bytes.length, Math.min(LIST_CHUNK, itemBytes * itemsLeft)));
        start = used = 0;
      }
      chunk.set(bytes, used);
      used += bytes.length;
    };
    for (let i = 0; i < items.length; i++) {
      const marked = markLargeBinaries(items[i], this.#nonce, LIST_SPLICED_BINARY);
      if (marked.binaries.length === 0) {
        const bytes = this.#encodeShared(items[i]);
        append(bytes, bytes.length, items.length - i);
        continue;
      }
      const encoded = this.#encodeShared(marked.value);
      for (const step of spliceSteps(encoded, marked.binaries, this.#nonce, marked.encoded)) {
        if ("piece" in step) append(step.piece, encoded.length, items.length - i);
        else if ("binLength" in step) append(binHeader(step.binLength), encoded.length, items.length - i);
        else if ("value" in step && step.value.length < LIST_SPLICED_BINARY) append(step.value, encoded.length + step.value.length, items.length - i);
        else {
          if (used > start) parts.push(chunk.subarray(start, used));
          start = used;
          parts.push("value" in step ? step.value : step.binary);
        }
      }
    }
    if (used > start) parts.push(chunk.subarray(start, used));
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

  /**
   * decode, for an envelope whose body is a map, leaving the body's fields named in `lazy`
   * undecoded until first read (each is decoded then, once; bytes of a lazy field that are not
   * MessagePack throw the CodecError then). The body's own bytes are kept:
   * `publishedBytesOf(body)` gives them, for passing the body on as it was published
   * (EncodedValue). So a receiver that reads a few fields of a large body pays for those only.
   */
  decodeShallow<T = unknown>(bytes: Uint8Array, lazy: readonly string[]): Envelope<T> {
    let envelope: Record<string, unknown>;
    try {
      envelope = this.#decodeShallow(bytes, lazy);
    } catch (cause) {
      if (cause instanceof CodecError) throw cause;
      throw new CodecError("not valid MessagePack", { cause });
    }
    return checkEnvelope<T>(envelope);
  }

  #decodeShallow(bytes: Uint8Array, lazy: readonly string[]): Record<string, unknown> {
    // The body comes last (as envelopes are built): neither it nor its last field (a raw
    // batch's parts) is walked past; each is checked when decoded.
    const top = mapEntries(bytes, 0, bytes.length);
    const envelope: Record<string, unknown> = {};
    for (const { key, start, end } of top.entries) {
      refuseProtoKey(key);
      if (key !== "body" || !isMapHeader(bytes[start]!)) {
        envelope[key] = this.#valueAt(bytes, start, end);
        continue;
      }
      const body: Record<string, unknown> = {};
      const fields = mapEntries(bytes, start, end);
      // Its last field runs to `end` unwalked; a map with no fields ends at its header.
      if (fields.end !== end) throw new CodecError(`MessagePack: bytes after the value at ${start}`);
      for (const field of fields.entries) {
        refuseProtoKey(field.key);
        const range = bytes.subarray(field.start, field.end);
        if (!lazy.includes(field.key)) {
          body[field.key] = this.#valueAt(bytes, field.start, field.end);
          continue;
        }
        const decode = () => this.decodeValue(range);
        Object.defineProperty(body, field.key, {
          enumerable: true,
          configurable: true,
          get() {
            const value = decode();
            Object.defineProperty(body, field.key, { value, enumerable: true, configurable: true, writable: true });
            return value;
          },
          set(value: unknown) {
            Object.defineProperty(body, field.key, { value, enumerable: true, configurable: true, writable: true });
          },
        });
      }
      publishedBodies.set(body, bytes.subarray(start, end));
      envelope[key] = body;
    }
    return envelope;
  }

  /**
   * The value at [start, end): a header's scalar read directly, anything else decoded. The range
   * may not have been walked (mapEntries with an end): it must hold exactly one value.
   */
  #valueAt(bytes: Uint8Array, start: number, end: number): unknown {
    if (valueEnd(bytes, start) !== end) throw new CodecError(`MessagePack: bytes after the value at ${start}`);
    const scalar = scalarAt(bytes, start, end);
    return scalar === NOT_SCALAR ? this.decodeValue(bytes.subarray(start, end)) : scalar;
  }

  /** Decodes and checks the envelope shape; `expectedType`, when given, must match. */
  decode<T = unknown>(bytes: Uint8Array, expectedType?: string): Envelope<T> {
    const envelope = checkEnvelope<T>(this.decodeValue(bytes));
    if (expectedType !== undefined && envelope.type !== expectedType) {
      throw new CodecError(`envelope.type: expected ${expectedType}, got ${envelope.type}`);
    }
    return envelope;
  }
}

function checkEnvelope<T>(decoded: unknown): Envelope<T> {
  const value = decoded as Partial<Envelope<T>> | null;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new CodecError("envelope: expected a map");
  }
  if (value.v !== ENVELOPE_VERSION) throw new CodecError(`envelope.v: expected ${ENVELOPE_VERSION}, got ${String(value.v)}`);
  if (typeof value.type !== "string") throw new CodecError("envelope.type: expected a string");
  if (typeof value.id !== "string") throw new CodecError("envelope.id: expected a string");
  if (typeof value.ts !== "number") throw new CodecError("envelope.ts: expected a number");
  return value as Envelope<T>;
}

/** As the Decoder does: a `__proto__` key would set the object's prototype rather than a field. */
function refuseProtoKey(key: string): void {
  if (key === "__proto__") throw new CodecError("The key __proto__ is not allowed");
}

function isMapHeader(b: number): boolean {
  return (b >= 0x80 && b <= 0x8f) || b === 0xde || b === 0xdf;
}

/** Bodies decodeShallow made, with their bytes as published. */
const publishedBodies = new WeakMap<object, Uint8Array>();

/**
 * The MessagePack bytes `body` was decoded from by decodeShallow (fields set on it since, such as
 * this process's own attachments, are not in them), or undefined.
 */
export function publishedBytesOf(body: object): Uint8Array | undefined {
  return publishedBodies.get(body);
}
