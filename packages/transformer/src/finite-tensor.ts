// The load-time refusal of a weight matrix whose file bytes hold an Inf or NaN (a block scale of a
// quantized type, or a value of an F32/F16/BF16 one). Such a file is corrupt, and the backends would
// not even agree on it (the wasm kernels read an Inf/NaN f16 scale as a large finite number), so the
// loader names the file, the tensor, its type and the first bad block instead of running it.
import { describeNonFiniteGgml, ggmlTypeInfo, nonFiniteScanFor, type QuantAlloc } from '@msrnn/tensor';
import { ModelFileError } from './file-errors.js';
import type { ReadCheck } from './read-plan.js';

/**
 * A check for ReadPlan.place / copy: the bytes are rows [row0, ..) of tensor `tensor` of `source`,
 * `cols` values of ggml type `type` each; throws a ModelFileError at the first Inf/NaN. `mem` (the
 * memory the bytes are read into) may scan faster (the wasm backend's SIMD scan).
 */
export function finiteTensorCheck(mem: QuantAlloc, source: string, tensor: string, type: number, cols: number, row0 = 0): ReadCheck {
  const scan = nonFiniteScanFor(mem);
  const info = ggmlTypeInfo(type), block0 = row0 * (cols / info.blockSize);
  return {
    unit: info.blockBytes,
    run(bytes, at) {
      const bad = scan(type, bytes);
      if (bad === null) return;
      const where = describeNonFiniteGgml(type, cols, bad, block0 + at / info.blockBytes);
      throw new ModelFileError(`${source}: tensor ${tensor} (${info.name}) ${where} — the file is corrupt`);
    },
  };
}
