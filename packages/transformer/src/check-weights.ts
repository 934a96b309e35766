// Shape checks of a loader's weights against the config, before the first step reads them, and
// the Inf/NaN check of weights a caller built itself (loaders check theirs as they read them).
import { describeNonFiniteGgml, forEachGroup4, GGML, ggmlTypeInfo, type GgmlWeights, type NonFiniteGgml, type WeightMatrix } from '@msrnn/tensor';
import { headDimOf, kvDimOf, qDimOf, type ModelConfig } from './config.js';
import type { Linear, Norm, Weights } from './weights.js';
import { ModelFileError } from './file-errors.js';

/** A scan for Inf/NaN as findNonFiniteGgml (a backend's faster one where it has it). */
export type NonFiniteScan = (type: number, bytes: Uint8Array) => NonFiniteGgml | null;

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/**
 * Throws an error naming the first tensor whose shape does not fit `c`; with `scan`, also the first
 * weight holding an Inf or NaN (a value, or a q8/ggml block scale): the kernels would turn it into
 * NaN logits far from its cause, or (the wasm kernels, an f16 scale) into finite garbage.
 */
export function checkWeights(c: ModelConfig, w: Weights, source: string, scan?: NonFiniteScan): void {
  const fail = (what: string): never => { throw new ModelFileError(`${source}: ${what}`); };
  const finite = (name: string, type: number, bytes: Uint8Array, cols: number): void => {
    const bad = scan?.(type, bytes);
    if (bad) fail(`${name} ${describeNonFiniteGgml(type, cols, bad)} — weights must be finite`);
  };
  const matrix = (name: string, m: WeightMatrix, rows: number, cols: number): void => {
    if (m.rows !== rows || m.cols !== cols) fail(`${name} is ${m.rows}×${m.cols}, the config needs ${rows}×${cols}`);
    if (m.type === 'f32') finite(name, GGML.F32, bytesOf(m.data.subarray(m.offset, m.offset + rows * cols)), cols);
    else if (m.type === 'f16') finite(name, GGML.F16, bytesOf(m.bits), cols);
    else if (m.type === 'q8') finite(`${name}'s block scales`, GGML.F32, bytesOf(m.scales), Math.ceil(cols / 32));
    else if (m.layout === 'rows4') rows4(`${name} (${ggmlTypeInfo(m.ggmlType).name})`, m);
    else finite(`${name} (${ggmlTypeInfo(m.ggmlType).name})`, m.ggmlType, m.data, cols);
  };
  // The four-rows layout (a wasm load's) interleaves each group's rows: scan them a group of four
  // rows at a time as ggml lays them out, counting blocks from the matrix's start so the error names the right row.
  const rows4 = (name: string, m: GgmlWeights): void => {
    if (!scan) return;
    const blocksPerGroup = 4 * m.rowBytes / ggmlTypeInfo(m.ggmlType).blockBytes;
    forEachGroup4(m.ggmlType, m.data, m.rows, m.cols, (rows, g) => {
      const bad = scan(m.ggmlType, rows);
      if (bad) fail(`${name} ${describeNonFiniteGgml(m.ggmlType, m.cols, { ...bad, block: bad.block + g * blocksPerGroup })} — weights must be finite`);
    });
  };
  const vector = (name: string, v: Float32Array, n: number): void => {
    if (v.length !== n) fail(`${name} holds ${v.length} floats, the config needs ${n}`);
    finite(name, GGML.F32, bytesOf(v), n);
  };
  const lin = (name: string, L: Linear, rows: number, cols: number): void => {
    matrix(name, L.weight, rows, cols);
    if (L.bias !== null) vector(`${name} bias`, L.bias, rows);
  };
  const nrm = (name: string, n: Norm | null): void => {
    if (n === null) return;
    vector(name, n.weight, c.dim);
    if (n.bias !== null) vector(`${name} bias`, n.bias, c.dim);
    if (n.bias !== null && c.arch.norm === 'rmsnorm') fail(`${name} has a bias, which RMSNorm does not use (arch.norm is rmsnorm)`);
  };
  const dim = c.dim, qDim = qDimOf(c), kvDim = kvDimOf(c), hd = headDimOf(c);
  matrix('token embedding', w.tokenEmbedding, c.vocabSize, dim);
  lin('classifier', w.classifier, c.vocabSize, dim);
  nrm('final norm', w.finalNorm);
  const learned = c.arch.positions.kind === 'learned';
  if (learned !== (w.positionEmbedding !== null)) fail(learned ? 'learned positions need a position embedding table' : 'a position embedding table was given but the model uses RoPE');
  if (w.positionEmbedding !== null && (w.positionEmbedding.length === 0 || w.positionEmbedding.length % dim !== 0)) {
    fail(`position embedding holds ${w.positionEmbedding.length} floats, not a positive multiple of dim ${dim}`);
  }
  if (w.positionEmbedding !== null) finite('position embedding', GGML.F32, bytesOf(w.positionEmbedding), dim);
  if (w.layers.length !== c.nLayers) fail(`${w.layers.length} layers of weights, the config has ${c.nLayers}`);
  w.layers.forEach((L, l) => {
    const at = `layer ${l}`;
    nrm(`${at} attention norm`, L.attnNorm);
    lin(`${at} q`, L.q, qDim, dim);
    lin(`${at} k`, L.k, kvDim, dim);
    lin(`${at} v`, L.v, kvDim, dim);
    if (L.qNorm !== null) vector(`${at} q norm`, L.qNorm, hd);
    if (L.kNorm !== null) vector(`${at} k norm`, L.kNorm, hd);
    lin(`${at} attention output`, L.o, dim, qDim);
    nrm(`${at} post-attention norm`, L.postAttnNorm);
    nrm(`${at} FFN norm`, L.ffnNorm);
    if (L.gate !== null) lin(`${at} FFN gate`, L.gate, c.hiddenDim, dim);
    lin(`${at} FFN up`, L.up, c.hiddenDim, dim);
    lin(`${at} FFN down`, L.down, dim, c.hiddenDim);
    nrm(`${at} post-FFN norm`, L.postFfnNorm);
  });
}
