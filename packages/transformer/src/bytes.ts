// How model and tokenizer bytes come in: a path read whole (Node, Deno, Bun), or what browsers and
// fetch hand out: a Uint8Array (Node's Buffer is one) or an ArrayBuffer. Paths are read by
// '#read-file' (node:fs on Node, the runtime's own API on Deno/Bun, a clear error in browsers).
export { openFileSource, readFileBytes, readOptionalFileBytes, type FileByteSource } from '#read-file';

export type BytesLike = Uint8Array | ArrayBuffer;

/** A Uint8Array view of `input`, or a TypeError naming `what` was expected. */
export function asBytes(input: unknown, what: string): Uint8Array {
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  const got = input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input === 'object' ? (input.constructor?.name ?? 'an object') : typeof input;
  throw new TypeError(`${what}: expected a file path, a Uint8Array or an ArrayBuffer, got ${got}`);
}

/**
 * What a file that failed to parse looks like instead, from its first bytes (GGUF, PNG, zip,
 * safetensors, protobuf, text), or null. Asked only after a header was rejected, so an unlucky
 * valid header is never misread as one of these.
 */
export function recognizeOtherFormat(bytes: Uint8Array): string | null {
  const magic = String.fromCharCode(...bytes.subarray(0, 4));
  if (magic === 'GGUF') return 'a GGUF file';
  if (magic === '\x89PNG') return 'a PNG image';
  if (magic === 'PK\x03\x04') return 'a zip archive (a PyTorch .pt/.pth checkpoint?)';
  if (bytes.length > 8 && bytes[8] === 0x7b && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return 'a safetensors file';
  if (bytes[0] === 0x0a) return 'a protobuf file (a SentencePiece tokenizer.model?)';
  if (looksLikeText(bytes.subarray(0, 256))) return 'a text file';
  return null;
}

/** No control bytes but tab and line ends, and valid UTF-8 (a character cut at the end allowed). */
function looksLikeText(head: Uint8Array): boolean {
  if (head.length === 0 || head.some((b) => (b < 32 && b !== 9 && b !== 10 && b !== 13) || b === 127)) return false;
  let end = head.length;
  while (end > head.length - 3 && end > 0 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && head[end - 1]! >= 0xc0) end--;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
    return true;
  } catch {
    return false;
  }
}
