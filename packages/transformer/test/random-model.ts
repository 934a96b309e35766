// Random-weight models of every architecture shape the layer body covers (llama, qwen2, qwen3,
// gpt2, gemma2, phi3, llama3 scaling, GGUF rope factors), for tests that run them against a
// reference (arch.test.ts) or write and read them back (export-shapes.test.ts).
import { f32Weights, type Backend } from '@msrnn/tensor';
import {
  architecture, linear, modelFromWeights, norm, type Architecture, type LayerWeights, type Linear, type Model, type ModelConfig, type Weights,
} from '../src/index.js';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296 - 0.5; };
}

export interface Shape {
  arch: Partial<Architecture>;
  headDim?: number;
  biases?: 'qkv' | 'all';
  qkNorm?: boolean;
  gated?: boolean;
  postNorms?: boolean;
  tied?: boolean;
}

export const BASE = { dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, vocabSize: 40, seqLen: 32, normEps: 1e-5 };

/** A random-weight model of the given shape (sizes: BASE, with `sizes` replacing some); every array allocated through the backend. */
export function randomModel(shape: Shape, backend: Backend, seed: number, sizes: Partial<typeof BASE> = {}): Model {
  const B = { ...BASE, ...sizes };
  const r = rng(seed), alloc = (n: number) => backend.alloc(n);
  const arr = (n: number, scale = 1, offset = 0) => { const a = alloc(n); for (let i = 0; i < n; i++) a[i] = offset + scale * r(); return a; };
  const config: ModelConfig = { ...B, sharedClassifier: shape.tied ?? false, arch: architecture(shape.arch), ...(shape.headDim ? { headDim: shape.headDim } : {}) };
  const hd = shape.headDim ?? B.dim / B.nHeads, qDim = hd * B.nHeads, kvDim = hd * B.nKvHeads;
  const layernorm = config.arch.norm === 'layernorm';
  const nrm = () => norm(arr(B.dim, 0.4, 1), layernorm ? arr(B.dim, 0.2) : null);
  const lin = (rows: number, cols: number, bias: boolean): Linear => linear(f32Weights(arr(rows * cols, 0.6), 0, rows, cols), bias ? arr(rows, 0.3) : null);
  const qkvBias = shape.biases !== undefined, allBias = shape.biases === 'all';
  const layers = Array.from({ length: B.nLayers }, (): LayerWeights => ({
    attnNorm: nrm(),
    q: lin(qDim, B.dim, qkvBias), k: lin(kvDim, B.dim, qkvBias), v: lin(kvDim, B.dim, qkvBias),
    qNorm: shape.qkNorm ? arr(hd, 0.4, 1) : null, kNorm: shape.qkNorm ? arr(hd, 0.4, 1) : null,
    o: lin(B.dim, qDim, allBias),
    postAttnNorm: shape.postNorms ? nrm() : null,
    ffnNorm: nrm(),
    gate: shape.gated === false ? null : lin(B.hiddenDim, B.dim, allBias),
    up: lin(B.hiddenDim, B.dim, allBias),
    down: lin(B.dim, B.hiddenDim, allBias),
    postFfnNorm: shape.postNorms ? nrm() : null,
  }));
  const tokenEmbedding = f32Weights(arr(B.vocabSize * B.dim), 0, B.vocabSize, B.dim);
  const weights: Weights = {
    tokenEmbedding,
    positionEmbedding: config.arch.positions.kind === 'learned' ? arr(B.seqLen * B.dim, 0.5) : null,
    layers,
    finalNorm: nrm(),
    classifier: shape.tied ? linear(tokenEmbedding) : lin(B.vocabSize, B.dim, false),
  };
  return modelFromWeights(config, weights, { backend, source: 'random' });
}

export const rope = (o: Partial<Architecture['positions'] & { kind: 'rope' }>): Architecture['positions'] =>
  ({ kind: 'rope', theta: 10000, layout: 'interleaved', rotaryDim: null, scaling: null, ...o });

/** Tiny original context (8) so that the 4 pairs of a head of 8 fall in all three bands. */
export const LLAMA3_SCALING = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8 } as const;

export const SHAPES: Record<string, Shape> = {
  'llama (llama2.c)': { arch: {} },
  'qwen2: q/k/v biases, half-layout RoPE, theta 1e6': { arch: { positions: rope({ layout: 'half', theta: 1e6 }) }, biases: 'qkv', tied: true },
  'qwen3: per-head q/k RMSNorm, head_dim apart from dim/heads': { arch: { positions: rope({ layout: 'half' }) }, qkNorm: true, headDim: 6 },
  'gpt2: LayerNorm with bias, GELU MLP, learned positions, biases everywhere, tied': {
    arch: { norm: 'layernorm', activation: 'gelu_tanh', positions: { kind: 'learned' } }, biases: 'all', gated: false, tied: true,
  },
  'gemma2: GeGLU, post norms, soft-caps, embedding scale, query_pre_attn_scalar': {
    arch: { activation: 'gelu_tanh', positions: rope({ layout: 'half' }), embedScale: 4, attnSoftcap: 0.5, finalSoftcap: 2, queryPreAttnScalar: 20 },
    postNorms: true, headDim: 8, tied: true,
  },
  'phi3: partial rotary (4 of 8 dims), half layout': { arch: { positions: rope({ layout: 'half', rotaryDim: 4 }) }, headDim: 8 },
  'llama3 frequency scaling': { arch: { positions: rope({ scaling: LLAMA3_SCALING }) }, headDim: 8 },
  'GGUF rope_freqs factors': { arch: { positions: rope({ scaling: { type: 'factors', factors: [1, 2, 4, 8] } }) }, headDim: 8 },
};

