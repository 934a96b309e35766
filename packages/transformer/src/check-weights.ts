// Shape checks of a loader's weights against the config, before the first step reads them, and
// the Inf/NaN check of weights a caller built itself (loaders check as they read).
import { describeNonFiniteGgml, findNonFiniteGgml, GGML, ggmlTypeInfo, type NonFiniteGgml, type WeightMatrix } from '@msrnn/tensor';
import { headDimOf, kvDimOf, qDimOf, type ModelConfig } from './config.js';
import type { Linear, Norm, Weights } from './weights.js';
import { ModelFileError } from './file-errors.js';

/** Throws an error naming the first tensor whose shape does not fit `c`. */
export function checkWeights(c: ModelConfig, w: Weights, source: string): void {
  const fail = (what: string): never => { throw new ModelFileError(`${source}: ${what}`); };
  const matrix = (name: string, m: WeightMatrix, rows: number, cols: number): void => {
    if (m.rows !== rows || m.cols !== cols) fail(`${name} is ${m.rows}×${m.cols}, the config needs ${rows}×${cols}`);
  };
  const vector = (name: string, v: Float32Array, n: number): void => {
    if (v.length !== n) fail(`${name} holds ${v.length} floats, the config needs ${n}`);
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

/** A scan for Inf/NaN as findNonFiniteGgml (a backend's faster one where it has it). */
export type NonFiniteScan = (type: number, bytes: Uint8Array) => NonFiniteGgml | null;

/**
 * Throws an error naming the first weight holding an Inf or NaN: a float32 vector's value, a
 * matrix's value or block scale (a quantized matrix's float scales). The kernels would turn it into
 * NaN logits far from its cause, or (the wasm kernels, an f16 scale) into finite garbage.
 */
export function checkFiniteWeights(w: Weights, source: string, scan: NonFiniteScan = findNonFiniteGgml): void {
  const fail = (name: string, type: number, cols: number, bad: NonFiniteGgml): never => {
    throw new ModelFileError(`${source}: ${name} ${describeNonFiniteGgml(type, cols, bad)} — weights must be finite`);
  };
  const floats = (name: string, v: Float32Array, cols: number): void => {
    const bad = scan(GGML.F32, new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    if (bad) fail(name, GGML.F32, cols, bad);
  };
  const matrix = (name: string, m: WeightMatrix): void => {
    switch (m.type) {
      case 'f32': floats(name, m.data.subarray(m.offset, m.offset + m.rows * m.cols), m.cols); return;
      case 'f16': {
        const bad = scan(GGML.F16, new Uint8Array(m.bits.buffer, m.bits.byteOffset, m.bits.byteLength));
        if (bad) fail(name, GGML.F16, m.cols, bad);
        return;
      }
      case 'q8': floats(`${name}'s block scales`, m.scales, Math.ceil(m.cols / 32)); return;
      case 'ggml': {
        const bad = scan(m.ggmlType, m.data);
        if (bad) fail(`${name} (${ggmlTypeInfo(m.ggmlType).name})`, m.ggmlType, m.cols, bad);
      }
    }
  };
  const vector = (name: string, v: Float32Array | null): void => { if (v) floats(name, v, v.length); };
  const lin = (name: string, L: Linear): void => { matrix(name, L.weight); vector(`${name} bias`, L.bias); };
  const nrm = (name: string, n: Norm | null): void => { if (n) { vector(name, n.weight); vector(`${name} bias`, n.bias); } };
  matrix('token embedding', w.tokenEmbedding);
  if (w.classifier.weight !== w.tokenEmbedding) matrix('classifier', w.classifier.weight);
  vector('classifier bias', w.classifier.bias);
  nrm('final norm', w.finalNorm);
  vector('position embedding', w.positionEmbedding);
  w.layers.forEach((L, l) => {
    const at = `layer ${l}`;
    nrm(`${at} attention norm`, L.attnNorm);
    lin(`${at} q`, L.q); lin(`${at} k`, L.k); lin(`${at} v`, L.v);
    vector(`${at} q norm`, L.qNorm); vector(`${at} k norm`, L.kNorm);
    lin(`${at} attention output`, L.o);
    nrm(`${at} post-attention norm`, L.postAttnNorm);
    nrm(`${at} FFN norm`, L.ffnNorm);
    if (L.gate) lin(`${at} FFN gate`, L.gate);
    lin(`${at} FFN up`, L.up); lin(`${at} FFN down`, L.down);
    nrm(`${at} post-FFN norm`, L.postFfnNorm);
  });
}
