// A GGUF file (any architecture describeGgufLlama maps) → the model's config and weights. Projection matrices and the token embedding
// stay in the file's types (ggml blocks, used in place by the weight dispatch): on the js backend
// they are views of the caller's bytes (fresh arrays when the file is read from a source); on the
// wasm backend each is read once straight into its memory, where its kernels read. Norm weights
// are small and become float32 in the backend's memory. Nothing is read here: the bytes are
// planned (../read-plan.ts) and arrive when the caller runs the plan.
import { dequantizeGgmlRow, ggmlWeightsUnscanned, packRows4, rows4Suits, type QuantAlloc, type WeightMatrix } from '@msrnn/tensor';
import type { ModelConfig } from '../config.js';
import { linear, norm, type LayerWeights, type Linear, type Norm, type Weights } from '../weights.js';
import { describeGgufLlama, type GgufLinear, type GgufNorm } from './llama.js';
import type { GgufIndex, GgufTensorEntry } from './parse.js';
import type { ByteSource } from '../byte-source.js';
import type { ReadPlan } from '../read-plan.js';
import { ModelFileError } from '../file-errors.js';
import { finiteTensorCheck } from '../finite-tensor.js';

export interface GgufModelParts {
  config: ModelConfig;
  weights: Weights;
  /** e.g. "GGUF v3 llama: Q5_0 ×31, F16 ×5, F32 ×11". */
  format: string;
}

/**
 * `file` is the parsed header of `bytes`; `mem` the backend's storage (a backend, or the
 * Allocations a model will own); `plan` receives the reads that fill the weights. The layout's
 * rope_freqs tensor is read by describeGgufLlama: pass `tensorData` when `file` has no views.
 */
export function ggufModelParts(file: GgufIndex, bytes: ByteSource, mem: QuantAlloc, plan: ReadPlan,
  tensorData?: (t: GgufTensorEntry) => Uint8Array): GgufModelParts {
  const layout = describeGgufLlama(file, tensorData);
  const source = file.source;

  /**
   * Rows of a matrix: ggml rows are whole blocks, so a row range is a byte range. `use` says how the
   * model reads it: a matrix only looked up (an untied token embedding) keeps the file's layout,
   * whose rows its lookups read directly; the backend's four-rows layout is for the products.
   */
  const matrix = (t: GgufTensorEntry, row0 = 0, rows = t.dims[1]!, use: 'projection' | 'classifier' | 'lookup' = 'projection'): WeightMatrix => {
    const [cols, total] = t.dims as [number, number];
    const rowBytes = t.byteLength / total;
    // F32 and F16 rows are read as typed arrays: on the js backend (a view) they need aligned bytes.
    const align = t.type.name === 'F32' ? 4 : t.type.name === 'F16' ? 2 : 1;
    const data = plan.place(bytes, t.fileOffset + row0 * rowBytes, rows * rowBytes, `tensor ${t.name}`, mem.allocU8?.bind(mem), align,
      finiteTensorCheck(mem, source, t.name, t.type.id, cols, row0));
    // (the bytes already are where the model keeps them, and the check scans them as they are read)
    const w = ggmlWeightsUnscanned(t.type.id, rows, cols, data, `${source}: tensor ${t.name}`);
    if (use === 'lookup' || !mem.rows4Types?.includes(t.type.id) || !rows4Suits(t.type.id, rows, cols, use === 'classifier')) return w;
    // The backend's faster layout for decoding, rewritten in place once the bytes are read and checked.
    plan.afterReads(() => packRows4(t.type.id, data, rows, cols));
    return { ...w, layout: 'rows4' };
  };
  const vectors = new Map<GgufTensorEntry, Float32Array>(); // a fused bias is read once, then sliced
  const vector = (t: GgufTensorEntry): Float32Array => {
    const done = vectors.get(t);
    if (done) return done;
    const out = mem.alloc(t.elements);
    plan.convert(bytes, t.fileOffset, t.byteLength, `tensor ${t.name}`, (data) => {
      dequantizeGgmlRow(t.type.id, data, 0, t.elements, out, 0);
      for (let i = 0; i < out.length; i++) {
        if (!Number.isFinite(out[i]!)) throw new ModelFileError(`${source}: tensor ${t.name}[${i}] is ${out[i]} — the file is corrupt`);
      }
    });
    vectors.set(t, out);
    return out;
  };
  const lin = (x: GgufLinear): Linear => linear(
    matrix(x.weight.tensor, x.weight.row0, x.weight.rows),
    x.bias ? vector(x.bias.tensor).subarray(x.bias.row0, x.bias.row0 + x.bias.rows) : null,
  );
  const nrm = (x: GgufNorm): Norm => norm(vector(x.weight), x.bias ? vector(x.bias) : null);

  const tied = layout.classifier === layout.tokenEmbedding;
  const tokenEmbedding = matrix(layout.tokenEmbedding, 0, undefined, tied ? 'classifier' : 'lookup');
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
  const classifier = tied ? tokenEmbedding : matrix(layout.classifier, 0, undefined, 'classifier');
  const weights: Weights = {
    tokenEmbedding, positionEmbedding: layout.positionEmbedding ? vector(layout.positionEmbedding) : null,
    layers, finalNorm: nrm(layout.finalNorm), classifier: linear(classifier),
  };
  return { config: layout.config, weights, format: `GGUF v${file.version} ${file.metadata.string('general.architecture')}: ${typeSummary(file)}` };
}

/** Tensor types by count, most common first. */
function typeSummary(file: GgufIndex): string {
  const counts = new Map<string, number>();
  for (const t of file.tensors) counts.set(t.type.name, (counts.get(t.type.name) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ×${n}`).join(', ');
}
