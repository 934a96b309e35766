// Writes safetensors bytes, the inverse of parse.ts: u64 header length, the JSON header padded
// with spaces to a multiple of 8 (so the data starts aligned, as the reference writer lays it
// out), then each tensor's bytes in the order given.
import { SAFETENSORS_DTYPES, type SafetensorsDtype } from './parse.js';

export interface SafetensorWrite {
  dtype: SafetensorsDtype;
  /** Dimensions, slowest first (PyTorch's order). */
  shape: readonly number[];
  /** Exactly the elements' little-endian bytes. */
  bytes: Uint8Array;
}

/** One safetensors file; `metadata` becomes the header's __metadata__ (string values). */
export function writeSafetensors(tensors: Readonly<Record<string, SafetensorWrite>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const size = SAFETENSORS_DTYPES[t.dtype];
    if (size === undefined) throw new Error(`writeSafetensors: tensor ${name} has dtype ${String(t.dtype)} (writable: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (elements * size !== t.bytes.length) throw new Error(`writeSafetensors: tensor ${name} (${t.dtype} [${t.shape.join(', ')}]) needs ${elements * size} bytes, got ${t.bytes.length}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  const encoder = new TextEncoder();
  let text = JSON.stringify(header);
  text += ' '.repeat((8 - ((8 + encoder.encode(text).length) % 8)) % 8);
  const head = encoder.encode(text);
  const out = new Uint8Array(8 + head.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of Object.values(tensors)) { out.set(t.bytes, p); p += t.bytes.length; }
  return out;
}
