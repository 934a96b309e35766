// Small safetensors files for tests, written by the library's own writer (src/safetensors/write.ts).
import { writeSafetensors } from '../../src/safetensors/write.js';

export { writeSafetensors };

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
