/**
 * Reading a request body with a byte limit, without buffering more than the limit: the
 * Web-standard path (any runtime). The Node adapter has a faster path straight from the
 * IncomingMessage (readIncoming in runtime/platform/node_direct_routes.ts).
 */
import { concatBytes } from "../bytes.ts";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`body exceeds ${limit} bytes`);
    this.name = "BodyTooLargeError";
  }
}

export function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : concatBytes(chunks, total);
}

export async function readWebBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw new BodyTooLargeError(maxBytes);
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new BodyTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return concatChunks(chunks, total);
}
