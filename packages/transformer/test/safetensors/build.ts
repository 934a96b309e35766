// Writes safetensors bytes for tests: header JSON padded with spaces to a multiple of 8, then the
// tensors' bytes in order (as the reference writer lays them out).
export interface TensorSpec { dtype: string; shape: number[]; bytes: Uint8Array }

export function writeSafetensors(tensors: Record<string, TensorSpec>, metadata?: Record<string, string>, header?: Record<string, unknown>): Uint8Array {
  const json: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let at = 0;
  for (const [name, t] of Object.entries(tensors)) {
    json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.bytes.length] };
    at += t.bytes.length;
  }
  Object.assign(json, header);
  let text = JSON.stringify(json);
  while ((8 + new TextEncoder().encode(text).length) % 8 !== 0) text += ' ';
  const head = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + head.length + at);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let p = 8 + head.length;
  for (const t of Object.values(tensors)) { out.set(t.bytes, p); p += t.bytes.length; }
  return out;
}

export const f32 = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
export const u16 = (values: number[]): Uint8Array => new Uint8Array(Uint16Array.from(values).buffer);

/** A small valid file with all three dtypes. */
export function sampleSafetensors(): Uint8Array {
  return writeSafetensors({
    'a.weight': { dtype: 'F32', shape: [2, 3], bytes: f32([1, 2, 3, 4, 5, 6]) },
    'b.half': { dtype: 'F16', shape: [4], bytes: u16([0x3c00, 0xc000, 0x7bff, 0x0001]) },
    'c.bf16': { dtype: 'BF16', shape: [2, 1], bytes: u16([0x3f80, 0xbfc0]) },
    'empty': { dtype: 'F32', shape: [0, 5], bytes: new Uint8Array(0) },
  }, { format: 'pt' });
}
