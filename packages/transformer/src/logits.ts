// The output end of the model: final norm, classifier, and the final soft-cap (gemma2).
import type { Model } from './model.js';
import { linearRows } from './linear.js';
import { normRows } from './norm.js';
import { softcap } from './softcap.js';

/**
 * out (t × vocab) = logits of the t residual rows of x from xOff (dim floats each); `normed` is
 * scratch of t × dim floats (from offset 0).
 */
export function logitsRows(model: Model, out: Float32Array, x: Float32Array, xOff: number, t: number, normed: Float32Array): void {
  const w = model.weights, cap = model.config.arch.finalSoftcap;
  normRows(model, normed, x, t, w.finalNorm, xOff);
  linearRows(model.backend, out, normed, t, w.classifier);
  if (cap !== 0) softcap(out, 0, t * model.config.vocabSize, cap);
}
