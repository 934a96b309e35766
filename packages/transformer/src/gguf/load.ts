// A GGUF llama file → the model's config and weights. Projection matrices and the token embedding
// stay in the file's types (ggml blocks, used in place by the weight dispatch): on the js backend
// they are views of the caller's bytes; the wasm backend copies them once into its memory, where
// its kernels read. Norm weights are small and become float32 in the backend's memory.
import { dequantizeGgmlRow, ggmlWeights, type Backend, type QuantAlloc, type WeightMatrix } from '@msrnn/tensor';
import type { ModelConfig } from '../config.js';
import { linear, norm, type LayerWeights, type Weights } from '../weights.js';
import { describeGgufLlama } from './llama.js';
import type { GgufFile, GgufTensor } from './parse.js';

export interface GgufModelParts {
  config: ModelConfig;
  weights: Weights;
  /** e.g. "GGUF v3 llama: Q5_0 ×31, F16 ×5, F32 ×11". */
  format: string;
}

export function ggufModelParts(file: GgufFile, backend: Backend): GgufModelParts {
  const layout = describeGgufLlama(file);
  const mem = backend as Backend & QuantAlloc;
  const source = file.source;

  const matrix = (t: GgufTensor): WeightMatrix => {
    const [cols, rows] = t.dims as [number, number];
    let bytes = t.data;
    // F32 and F16 rows are read as typed arrays: on the js backend (a view) they need aligned bytes.
    const align = t.type.name === 'F32' ? 4 : t.type.name === 'F16' ? 2 : 1;
    if (!mem.allocU8 && bytes.byteOffset % align !== 0) bytes = new Uint8Array(bytes); // an aligned copy
    return ggmlWeights(t.type.id, rows, cols, bytes, mem, `${source}: tensor ${t.name}`);
  };
  const vector = (t: GgufTensor): Float32Array => {
    const out = backend.alloc(t.elements);
    dequantizeGgmlRow(t.type.id, t.data, 0, t.elements, out, 0);
    for (let i = 0; i < out.length; i++) {
      if (!Number.isFinite(out[i]!)) throw new Error(`${source}: tensor ${t.name}[${i}] is ${out[i]} — the file is corrupt`);
    }
    return out;
  };

  const tokenEmbedding = matrix(layout.tokenEmbedding);
  const bias = (t: GgufTensor | undefined): Float32Array | null => (t ? vector(t) : null);
  const layers = layout.layers.map((L, l): LayerWeights => ({
    attnNorm: norm(vector(L.attnNorm)),
    q: linear(matrix(L.q), bias(layout.biases[l]!.q)), k: linear(matrix(L.k), bias(layout.biases[l]!.k)), v: linear(matrix(L.v), bias(layout.biases[l]!.v)),
    qNorm: null, kNorm: null,
    o: linear(matrix(L.o), bias(layout.biases[l]!.o)),
    postAttnNorm: null,
    ffnNorm: norm(vector(L.ffnNorm)),
    gate: linear(matrix(L.gate)), up: linear(matrix(L.up)), down: linear(matrix(L.down)),
    postFfnNorm: null,
  }));
  const classifier = layout.classifier === layout.tokenEmbedding ? tokenEmbedding : matrix(layout.classifier);
  const weights: Weights = {
    tokenEmbedding, positionEmbedding: null, layers, finalNorm: norm(vector(layout.finalNorm)), classifier: linear(classifier),
  };
  return { config: layout.config, weights, format: `GGUF v${file.version} ${file.metadata.string('general.architecture')}: ${typeSummary(file)}` };
}

/** Tensor types by count, most common first. */
function typeSummary(file: GgufFile): string {
  const counts = new Map<string, number>();
  for (const t of file.tensors) counts.set(t.type.name, (counts.get(t.type.name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ×${n}`).join(', ');
}
