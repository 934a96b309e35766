// A stand-in for the transformer: drives policies through MultiState with synthetic attention
// that is a pure function of (layer, step, query head, entry position), so a plain list-based
// reference can recompute the very same weights without knowing the slot layout.
import { MultiState, type AttentionStep, type Policy } from '@msrnn/msrnn';
import { uniform } from '../src/hash.js';

export const geometry = { nLayers: 2, nKvHeads: 2, headDim: 4 };
export const nHeads = 4;
export const groupSize = nHeads / geometry.nKvHeads;

/** Unnormalized log-weight of entry `pos` for query head q at step `step` of layer `layer`. */
export function logit(layer: number, step: number, q: number, pos: number): number {
  return 4 * uniform(7, layer * 100 + q, step, pos);
}

/** Post-softmax weights of query head q over the given positions. */
export function softmaxOver(layer: number, step: number, q: number, positions: ArrayLike<number>, n: number, out: Float64Array | Float32Array, off = 0): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logit(layer, step, q, positions[i]!));
  for (let i = 0; i < n; i++) out[off + i] = Math.exp(logit(layer, step, q, positions[i]!)) / sum;
}

/** Key of entry `pos` in KV head h: norms differ by position so knorm has something to rank. */
export function keyValue(layer: number, h: number, pos: number, d: number): number {
  return uniform(11, layer * 10 + h, pos, d) * 2 - 1;
}

/** Feeds `steps` tokens: append to every head, attend (synthetic), let the policy evict. */
export function run(policy: Policy, steps: number, onStep?: (state: MultiState, pos: number) => void): MultiState {
  const state = new MultiState(geometry, { policy });
  runFrom(state, steps, onStep);
  return state;
}

export function runFrom(state: MultiState, steps: number, onStep?: (state: MultiState, pos: number) => void): void {
  const stride = 1024;
  const att = new Float32Array(nHeads * stride);
  for (let n = 0; n < steps; n++) {
    const pos = state.seen;
    for (const layer of state.layers) {
      for (let h = 0; h < layer.heads.length; h++) {
        const head = layer.heads[h]!;
        const slot = head.push(pos);
        for (let d = 0; d < head.headDim; d++) head.keys[slot * head.headDim + d] = keyValue(layer.index, h, pos, d);
      }
      for (let q = 0; q < nHeads; q++) {
        const head = layer.heads[Math.floor(q / groupSize)]!;
        softmaxOver(layer.index, pos, q, head.positions, head.count, att, q * stride);
      }
      const step: AttentionStep = { layer: layer.index, position: pos, att, attStride: stride, nHeads, groupSize };
      state.policy.afterAttention(layer, step);
    }
    state.seen++;
    onStep?.(state, pos);
  }
}
