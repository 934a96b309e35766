// One attention head over entries stored as KvRows (f32, f16 or q8), read as they are stored: no
// dequantized copy of the cache is made. The wasm backend runs SIMD kernels for these (duck-typed
// below, as ../quant does for weights); every other backend runs the pure-TS ones here.
import type { Backend } from '../backend.js';
import { float16Table } from '../fp16.js';
import { attendHead } from '../raw/attention.js';
import { matmul, matvec } from '../raw/linalg.js';
import { softmax } from '../raw/softmax.js';
import { Q8_BLOCK, matvecF16Js, matvecQ8Js } from '../quant/weights.js';
import type { KvRows } from './rows.js';

/** The kernel a backend may add for reduced-precision entries (the wasm backend does); false = shape it has no kernel for. */
export interface KvAttentionKernel {
  attendHeadKv(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number): boolean;
}

function hasKvKernel(b: Backend): b is Backend & KvAttentionKernel {
  return typeof (b as Partial<KvAttentionKernel>).attendHeadKv === 'function';
}

/**
 * Backend.attendHead's contract over KvRows: att[aOff+i] = softmax_i(scale · q·k_i), out[oOff+d] =
 * Σ_i att[aOff+i] · v_i[d], i < count. Keys and values may differ in type (re-indexed keys are f32
 * copies beside stored values). f32 entries take the backend's own attendHead.
 */
export function attendHeadKv(backend: Backend, out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
  count: number, headDim: number, scale: number, att: Float32Array, aOff: number): void {
  if (keys.width !== headDim || values.width !== headDim) throw new RangeError(`attendHeadKv: rows of ${keys.width} keys / ${values.width} values for head dim ${headDim}`);
  if (keys.type === 'f32' && values.type === 'f32') {
    backend.attendHead(out, oOff, q, qOff, keys.f32, values.f32, count, headDim, scale, att, aOff);
    return;
  }
  if (hasKvKernel(backend) && backend.attendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff)) return;
  attendHeadKvJs(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff);
}

/** A backend that can defer heads and run a layer's heads as one job over its threads (the wasm backend). */
interface DeferredHeads {
  deferAttendHeadKv(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
    count: number, headDim: number, scale: number, att: Float32Array, aOff: number): boolean;
  runDeferredHeads(): void;
}

function defers(b: Backend): b is Backend & DeferredHeads {
  return typeof (b as Partial<DeferredHeads>).deferAttendHeadKv === 'function';
}

/**
 * attendHeadKv, but the head may run later, at the next runDeferredHeads(backend), together with
 * the other deferred heads (the wasm backend splits them over its threads, one head per chunk;
 * every head runs the same kernel call as attendHeadKv, so the numbers are the same). Inputs and
 * outputs must stay untouched until then. Where the backend cannot defer, the head runs now.
 */
export function deferAttendHeadKv(backend: Backend, out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
  count: number, headDim: number, scale: number, att: Float32Array, aOff: number): void {
  if (keys.width !== headDim || values.width !== headDim) throw new RangeError(`deferAttendHeadKv: rows of ${keys.width} keys / ${values.width} values for head dim ${headDim}`);
  if (defers(backend) && backend.deferAttendHeadKv(out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff)) return;
  attendHeadKv(backend, out, oOff, q, qOff, keys, values, count, headDim, scale, att, aOff);
}

/** Runs the heads deferAttendHeadKv (and CausalAttentionKernel.deferAttendCausal) left for later (nothing where the backend does not defer). */
export function runDeferredHeads(backend: Backend): void {
  const b = backend as Backend & Partial<DeferredHeads>;
  if (typeof b.runDeferredHeads === 'function') b.runDeferredHeads();
}

/** The pure-TS attendHeadKv (what a backend without the kernel runs); f32 entries give raw.attendHead's bits. */
export function attendHeadKvJs(out: Float32Array, oOff: number, q: Float32Array, qOff: number, keys: KvRows, values: KvRows,
  count: number, headDim: number, scale: number, att: Float32Array, aOff: number): void {
  if (keys.type === 'f32' && values.type === 'f32') { attendHead(out, oOff, q, qOff, keys.f32, 0, values.f32, 0, count, headDim, scale, att, aOff); return; }
  kvScores(att, aOff, q, qOff, keys, count, scale);
  softmax(att, aOff, count);
  kvWeightedSum(out, oOff, att, aOff, values, count);
}

/** att[aOff+i] = scale · q·k_i, i < count: the key rows as a (count × width) matrix in their stored type. */
export function kvScores(att: Float32Array, aOff: number, q: Float32Array, qOff: number, keys: KvRows, count: number, scale: number): void {
  const w = keys.width;
  if (keys.type === 'f32') matvec(att, aOff, keys.f32, 0, q, qOff, count, w);
  else if (keys.type === 'f16') matvecF16Js(att, aOff, keys.bits, 0, q, qOff, count, w);
  else matvecQ8Js(att, aOff, keys.q, 0, keys.scales, 0, q, qOff, count, w);
  for (let i = 0; i < count; i++) att[aOff + i] = att[aOff + i]! * scale;
}

/** out[oOff+d] = Σ_i att[aOff+i] · v_i[d], i < count, decoding each value row as stored. */
export function kvWeightedSum(out: Float32Array, oOff: number, att: Float32Array, aOff: number, values: KvRows, count: number): void {
  const w = values.width;
  if (values.type === 'f32') { matmul(out, oOff, att, aOff, values.f32, 0, 1, w, count); return; }
  out.fill(0, oOff, oOff + w);
  if (values.type === 'f16') {
    const t = float16Table(), bits = values.bits;
    for (let i = 0; i < count; i++) {
      const a = att[aOff + i]!, r = i * w;
      for (let d = 0; d < w; d++) out[oOff + d] = out[oOff + d]! + a * t[bits[r + d]!]!;
    }
    return;
  }
  const qv = values.q, scales = values.scales, blocks = values.blocks;
  for (let i = 0; i < count; i++) {
    const a = att[aOff + i]!, r = i * w;
    for (let b = 0; b < blocks; b++) {
      const as = a * scales[i * blocks + b]!, c0 = b * Q8_BLOCK, c1 = Math.min(w, c0 + Q8_BLOCK);
      for (let d = c0; d < c1; d++) out[oOff + d] = out[oOff + d]! + as * qv[r + d]!;
    }
  }
}
