// Optional entry `@msrnn/tensor/interop`: zero-copy conversion to and from scijs ndarray.
// Kept out of the core entry because ndarray compiles its accessors with `new Function`, which
// Cloudflare Workers, edge runtimes, MV3 extensions and strict-CSP pages forbid.
import ndarray, { type NdArray } from 'ndarray';
import { fmtShape, Tensor } from './tensor.js';

/** An ndarray viewing the same Float32Array with the same shape, strides and offset (no copy). */
export function toNdarray(t: Tensor): NdArray<Float32Array> {
  if (!(t instanceof Tensor)) throw new TypeError('toNdarray: argument must be a Tensor');
  return ndarray(t.data, t.shape.slice(), t.strides.slice(), t.offset);
}

/** A Tensor viewing an ndarray's Float32Array (no copy). Other storage types are rejected, not converted. */
export function fromNdarray(a: NdArray): Tensor {
  if (a === null || typeof a !== 'object' || !Array.isArray(a.shape) || !Array.isArray(a.stride)) {
    throw new TypeError('fromNdarray: argument must be an ndarray (with shape, stride, offset, data)');
  }
  if (!(a.data instanceof Float32Array)) {
    const kind = (a.data as object | null)?.constructor?.name ?? typeof a.data;
    throw new TypeError(`fromNdarray: ndarray ${fmtShape(a.shape)} stores ${kind}; only Float32Array data converts without copying`);
  }
  return new Tensor(a.data, a.shape, a.stride, a.offset);
}
