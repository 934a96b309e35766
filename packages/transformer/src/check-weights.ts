// Shape checks of a loader's weights against the config, before the first step reads them.
import type { WeightMatrix } from '@msrnn/tensor';
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
