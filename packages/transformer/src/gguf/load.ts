// A GGUF file (any architecture describeGgufLlama maps) → the model's config and weights. Projection matrices and the token embedding
// stay in the file's types (ggml blocks, used in place by the weight dispatch): on the js backend
// they are views of the caller's bytes; the wasm backend copies them once into its memory, where
// its kernels read. Norm weights are small and become float32 in the backend's memory.
import { dequantizeGgmlRow, ggmlWeights, type QuantAlloc, type WeightMatrix } from '@msrnn/tensor';
import type { ModelConfig } from '../config.js';
import { linear, norm, type LayerWeights, type Linear, type Norm, type Weights } from '../weights.js';
import { describeGgufLlama, type GgufLinear, type GgufNorm } from './llama.js';
import type { GgufFile, GgufTensor } from './parse.js';
import { ModelFileError } from '../file-errors.js';

export interface GgufModelParts {
  config: ModelConfig;
  weights: Weights;
  /** e.g. "GGUF v3 llama: Q5_0 ×31, F16 ×5, F32 ×11". */
  format: string;
}

/** `mem` is the backend's storage (a backend, or the Allocations a model will own). */
export function ggufModelParts(file: GgufFile, mem: QuantAlloc): GgufModelParts {
  const layout = describeGgufLlama(file);
  const source = file.source;

  /** Rows of a matrix: ggml rows are whole blocks, so a row range is a byte range. */
  const matrix = (t: GgufTensor, row0 = 0, rows = t.dims[1]!): WeightMatrix => {
    const [cols, total] = t.dims as [number, number];
    const rowBytes = t.data.byteLength / total;
    let bytes = t.data.subarray(row0 * rowBytes, (row0 + rows) * rowBytes);
    // F32 and F16 rows are read as typed arrays: on the js backend (a view) they need aligned bytes.
    const align = t.type.name === 'F32' ? 4 : t.type.name === 'F16' ? 2 : 1;
    if (!mem.allocU8 && bytes.byteOffset % align !== 0) bytes = new Uint8Array(bytes); // an aligned copy
    return ggmlWeights(t.type.id, rows, cols, bytes, mem, `${source}: tensor ${t.name}`);
  };
  const vectors = new Map<GgufTensor, Float32Array>(); // a fused bias is read once, then sliced
  const vector = (t: GgufTensor): Float32Array => {
    const done = vectors.get(t);
    if (done) return done;
    const out = mem.alloc(t.elements);
    dequantizeGgmlRow(t.type.id, t.data, 0, t.elements, out, 0);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i]!)) throw new ModelFileError(`${source}: tensor ${t.name}[${i}] is ${out[i]} — the file is corrupt`);
    }
    vectors.set(t, out);
    return out;
  };
  const lin = (x: GgufLinear): Linear => linear(
    matrix(x.weight.tensor, x.weight.row0, x.weight.rows),
    x.bias ? vector(x.bias.tensor).subarray(x.bias.row0, x.bias.row0 + x.bias.rows) : null,
  );
  const nrm = (x: GgufNorm): Norm => norm(vector(x.weight), x.bias ? vector(x.bias) : null);

  const tokenEmbedding = matrix(layout.tokenEmbedding);
  const layers = layout.layers.map((L): LayerWeights => ({
    attnNorm: nrm(L.attnNorm),
    q: lin(L.q), k: lin(L.k), v: lin(L.v),
    qNorm: L.qNorm ? vector(L.qNorm) : null, kNorm: L.kNorm ? vector(L.kNorm) : null,
    o: lin(L.o),
    postAttnNorm: L.postAttnNorm ? nrm(L.postAttnNorm) : null,
    ffnNorm: nrm(L.ffnNorm),
    gate: L.gate ? lin(L.gate) : null, up: lin(L.up), down: lin(L.down),
    postFfnNorm: L.postFfnNorm ? nrm(L.postFfnNorm) : null,
  }));
  const classifier = layout.classifier === layout.tokenEmbedding ? tokenEmbedding : matrix(layout.classifier);
  const weights: Weights = {
    tokenEmbedding, positionEmbedding: layout.positionEmbedding ? vector(layout.positionEmbedding) : null,
    layers, finalNorm: nrm(layout.finalNorm), classifier: linear(classifier),
  };
  return { config: layout.config, weights, format: `GGUF v${file.version} ${file.metadata.string('general.architecture')}: ${typeSummary(file)}` };
}

/** Tensor types by count, most common first. */
function typeSummary(file: GgufFile): string {
  const counts = new Map<string, number>();
  for (const t of file.tensors) counts.set(t.type.name, (counts.get(t.type.name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ×${n}`).join(', ');
}
