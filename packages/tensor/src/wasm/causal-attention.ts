// The wasm backend's attendCausal and deferAttendCausal (../kv/causal.ts): argument checks, then a
// causal head described as one row of the AttendCausal job (../threads/protocol.ts) and run now by
// the three causal kernels (kernels/causal.ts), or deferred to the next runDeferredHeads, where the
// layer's heads run as one job of head × query-row blocks over the threads (./jobs.ts).
import type { CausalAttentionKernel } from '../kv/causal.js';
import { CAUSAL_ARGS, CausalArg, floatToSlot, runCausalBlock } from '../threads/protocol.js';
import type { JobRunner } from './jobs.js';
import type { KernelExports } from './kernels.js';

/** Byte address of v[off] after checking that v is in the backend's memory and v[off .. off+n) in range. */
type Addr = (kernel: string, arg: string, v: Float32Array, off: number, n: number) => number;

export function makeAttendCausal(addr: Addr, k: KernelExports, jobs: JobRunner): Pick<CausalAttentionKernel, 'attendCausal' | 'deferAttendCausal'> {
  const row = new Int32Array(CAUSAL_ARGS);
  const count = (kn: string, name: string, v: number, min: number): void => {
    if (!Number.isInteger(v) || v < min) throw new RangeError(`wasm backend ${kn}: ${name} must be an integer >= ${min}, got ${v}`);
  };
  /** Rows of `width` floats `stride` apart from off: what they span. */
  const span = (rows: number, stride: number, width: number): number => (rows - 1) * stride + width;
  /** Checks the arguments and describes the head in `row`; false: a shape the kernels do not take. */
  const describe = (kn: string, out: Float32Array, oOff: number, oStride: number, q: Float32Array, qOff: number, qStride: number, rows: number,
    keys: Float32Array, values: Float32Array, prior: number, chunkKeys: Float32Array, chunkValues: Float32Array, cOff: number, cStride: number,
    headDim: number, scale: number, att: Float32Array, aOff: number, aStride: number): boolean => {
    count(kn, 'rows', rows, 1); count(kn, 'prior', prior, 0); count(kn, 'headDim', headDim, 1);
    count(kn, 'oStride', oStride, headDim); count(kn, 'qStride', qStride, headDim); count(kn, 'cStride', cStride, headDim);
    // Rows of att must not overlap: row i holds prior + i + 1 weights.
    count(kn, 'aStride', aStride, prior + rows);
    if (headDim % 4 !== 0) return false;
    row[CausalArg.OUT] = addr(kn, 'out', out, oOff, span(rows, oStride, headDim)); row[CausalArg.O_STRIDE] = oStride;
    row[CausalArg.Q] = addr(kn, 'q', q, qOff, span(rows, qStride, headDim)); row[CausalArg.Q_STRIDE] = qStride;
    row[CausalArg.KEYS] = addr(kn, 'keys', keys, 0, prior * headDim); row[CausalArg.VALUES] = addr(kn, 'values', values, 0, prior * headDim);
    row[CausalArg.PRIOR] = prior;
    row[CausalArg.CHUNK_KEYS] = addr(kn, 'chunkKeys', chunkKeys, cOff, span(rows, cStride, headDim));
    row[CausalArg.CHUNK_VALUES] = addr(kn, 'chunkValues', chunkValues, cOff, span(rows, cStride, headDim)); row[CausalArg.C_STRIDE] = cStride;
    row[CausalArg.ATT] = addr(kn, 'att', att, aOff, span(rows, aStride, prior + rows)); row[CausalArg.A_STRIDE] = aStride;
    row[CausalArg.HEAD_DIM] = headDim; row[CausalArg.SCALE] = floatToSlot(scale);
    row[CausalArg.FIRST_ROW] = 0; row[CausalArg.END_ROW] = rows;
    return true;
  };
  // Explicit parameters, not rest arguments: called per head per chunk, it allocates nothing.
  return {
    attendCausal(out, oOff, oStride, q, qOff, qStride, rows, keys, values, prior, chunkKeys, chunkValues, cOff, cStride, headDim, scale, att, aOff, aStride) {
      if (!describe('attendCausal', out, oOff, oStride, q, qOff, qStride, rows, keys, values, prior, chunkKeys, chunkValues, cOff, cStride, headDim, scale, att, aOff, aStride)) return false;
      runCausalBlock(k, row, 0);
      return true;
    },
    deferAttendCausal(out, oOff, oStride, q, qOff, qStride, rows, keys, values, prior, chunkKeys, chunkValues, cOff, cStride, headDim, scale, att, aOff, aStride) {
      if (!describe('deferAttendCausal', out, oOff, oStride, q, qOff, qStride, rows, keys, values, prior, chunkKeys, chunkValues, cOff, cStride, headDim, scale, att, aOff, aStride)) return false;
      jobs.deferCausal(row);
      return true;
    },
  };
}
