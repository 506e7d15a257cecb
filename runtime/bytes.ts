/** Byte-buffer helpers shared by the runtime's codec, platform adapters, stores and HTTP body reading. */

/** The parts one after the other in one new buffer (`total`: their summed length, when the caller knows it). */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (total === undefined) {
    total = 0;
    for (const p of parts) total += p.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
