// The wasm backend's attendCausal (../kv/causal.ts): argument checks, then the three causal
// kernels (kernels/causal.ts) over the cached entries and over the chunk's own.
import type { CausalAttentionKernel } from '../kv/causal.js';
import type { CoreKernelExports } from './kernels.js';

/** Byte address of v[off] after checking that v is in the backend's memory and v[off .. off+n) in range. */
type Addr = (kernel: string, arg: string, v: Float32Array, off: number, n: number) => number;

export function makeAttendCausal(addr: Addr, k: CoreKernelExports): CausalAttentionKernel['attendCausal'] {
  const kn = 'attendCausal';
  const count = (name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`wasm backend ${kn}: ${name} must be an integer >= ${min}, got ${v}`);
  };
  /** Rows of `width` floats `stride` apart from off: what they span. */
  const span = (rows: number, stride: number, width: number): number => (rows - 1) * stride + width;
  return (out, oOff, oStride, q, qOff, qStride, rows, keys, values, prior, chunkKeys, chunkValues, cOff, cStride, headDim, scale, att, aOff, aStride) => {
    count('rows', rows, 1); count('prior', prior, 0); count('headDim', headDim, 1);
    count('oStride', oStride, headDim); count('qStride', qStride, headDim); count('cStride', cStride, headDim);
    // Rows of att must not overlap: row i holds prior + i + 1 weights.
    count('aStride', aStride, prior + rows);
    if (headDim % 4 !== 0) return false;
    const o = addr(kn, 'out', out, oOff, span(rows, oStride, headDim)), qp = addr(kn, 'q', q, qOff, span(rows, qStride, headDim));
    const kp = addr(kn, 'keys', keys, 0, prior * headDim), vp = addr(kn, 'values', values, 0, prior * headDim);
    const ckp = addr(kn, 'chunkKeys', chunkKeys, cOff, span(rows, cStride, headDim));
    const cvp = addr(kn, 'chunkValues', chunkValues, cOff, span(rows, cStride, headDim));
    const ap = addr(kn, 'att', att, aOff, span(rows, aStride, prior + rows));
    // Scores against the cached entries (every row sees all), then against the chunk's (row i sees 0..i).
    if (prior > 0) k.scoresCausal(ap, aStride, qp, qStride, kp, headDim, rows, prior, prior, headDim, scale);
    k.scoresCausal(ap + 4 * prior, aStride, qp, qStride, ckp, cStride, rows, rows, 1, headDim, scale);
    k.softmaxCausal(ap, aStride, rows, prior + rows, prior + 1);
    k.weightedCausal(o, oStride, ap, aStride, vp, headDim, rows, prior, prior, headDim, 0);
    k.weightedCausal(o, oStride, ap + 4 * prior, aStride, cvp, cStride, rows, rows, 1, headDim, 1);
    return true;
  };
}
