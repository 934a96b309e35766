// A chunk of consecutive queries of one head attending causally: row i sees the cached entries
// [0, prior) and the chunk's own entries 0..i. A prompt's attention as matrix work (shared keys,
// outputs kept in registers) instead of one attendHead per token; the wasm backend has the
// kernels (../wasm/causal-attention.ts), other backends answer false and the caller attends one
// query at a time.
import type { Backend } from '../backend.js';

export interface CausalAttentionKernel {
  /**
   * For rows i < rows: att[aOff + i·aStride + j] = softmax_j(scale · q_i·k_j) over j < prior + i + 1,
   * where k_j is keys row j (headDim floats each) for j < prior, else chunkKeys[cOff + (j − prior)·cStride ..];
   * out[oOff + i·oStride + d] = Σ_j att[..j] · v_j[d] (values / chunkValues alike). q_i at
   * q[qOff + i·qStride ..]. Each row equals attendHead of q_i over those entries, bit for bit.
   * false (nothing done): a shape the kernels do not take (headDim not a multiple of 4).
   */
  attendCausal(out: Float32Array, oOff: number, oStride: number, q: Float32Array, qOff: number, qStride: number, rows: number,
    keys: Float32Array, values: Float32Array, prior: number, chunkKeys: Float32Array, chunkValues: Float32Array, cOff: number, cStride: number,
    headDim: number, scale: number, att: Float32Array, aOff: number, aStride: number): boolean;
  /**
   * attendCausal, but the head may run later, at the next runDeferredHeads(backend), together with
   * the other deferred heads: the wasm backend with threads runs them as one job, each head's rows
   * cut into blocks, split over the threads. Every row is computed as attendCausal computes it, so
   * the bits are the same. Inputs and outputs must stay untouched until then; false as attendCausal.
   */
  deferAttendCausal(out: Float32Array, oOff: number, oStride: number, q: Float32Array, qOff: number, qStride: number, rows: number,
    keys: Float32Array, values: Float32Array, prior: number, chunkKeys: Float32Array, chunkValues: Float32Array, cOff: number, cStride: number,
    headDim: number, scale: number, att: Float32Array, aOff: number, aStride: number): boolean;
}

/** Whether `backend` attends a chunk of queries at once (else: one attendHead per query). */
export function hasCausalAttention(backend: Backend): backend is Backend & CausalAttentionKernel {
  const b = backend as Partial<CausalAttentionKernel>;
  return typeof b.attendCausal === 'function' && typeof b.deferAttendCausal === 'function';
}
