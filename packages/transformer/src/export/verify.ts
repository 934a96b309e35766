// The check every conversion ends with: the written file, loaded back, must give the source
// model's logits on a run of tokens, within what the written type's rounding allows.
import { createState, type Model } from '../model.js';
import { step } from '../step.js';

export interface LogitComparison {
  /** Tokens run through both models. */
  tokens: number;
  /** Largest |logit difference| over all tokens and vocabulary entries. */
  maxAbsDiff: number;
  /** Largest |logit| of the source (the scale the difference is judged against). */
  maxAbsLogit: number;
  /** Positions where the two models' argmax differ. */
  argmaxDisagreements: number;
}

/**
 * Tolerances on max |diff| relative to max(1, max |logit|): float32 arithmetic (1e-4, any change
 * of summation order), then each type's weight rounding, generous enough for a trained model yet
 * far below what a wrong layout (a swapped tensor, an unpermuted rope) produces.
 */
export const LOGIT_TOLERANCE: Readonly<Record<string, number>> = {
  F32: 1e-4, F16: 5e-3, BF16: 5e-2, Q8_0: 0.1, Q5_0: 0.6, Q5_1: 0.6, Q4_0: 1.2, Q4_1: 1.2,
};

/** `count` token ids spread over the vocabulary (deterministic; long enough to cross the tiny models' 16-token windows). */
export function verificationTokens(model: Model, count = 32): number[] {
  return Array.from({ length: count }, (_, i) => (1 + i * 7919) % model.config.vocabSize);
}

/** Runs `tokens` through both models (each from an empty, unbounded state) and compares every step's logits. */
export function compareLogits(source: Model, written: Model, tokens: readonly number[]): LogitComparison {
  if (source.config.vocabSize !== written.config.vocabSize) throw new Error(`the written model has vocabulary ${written.config.vocabSize}, the source ${source.config.vocabSize}`);
  const a = createState(source), b = createState(written);
  // Each backend writes logits only into its own memory.
  const la = source.backend.alloc(source.config.vocabSize), lb = written.backend.alloc(written.config.vocabSize);
  let maxAbsDiff = 0, maxAbsLogit = 0, argmaxDisagreements = 0;
  for (const t of tokens) {
    step(source, a, t, la);
    step(written, b, t, lb);
    let ia = 0, ib = 0;
    for (let i = 0; i < la.length; i++) {
      const d = Math.abs(la[i]! - lb[i]!);
      // NaN must fail the check, not slip past a `>` comparison.
      if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
      maxAbsLogit = Math.max(maxAbsLogit, Math.abs(la[i]!));
      if (la[i]! > la[ia]!) ia = i;
      if (lb[i]! > lb[ib]!) ib = i;
    }
    if (ia !== ib) argmaxDisagreements++;
  }
  return { tokens: tokens.length, maxAbsDiff, maxAbsLogit, argmaxDisagreements };
}

/** Whether `c` is within the tolerance of `type` (a LOGIT_TOLERANCE key). */
export function withinTolerance(c: LogitComparison, type: string): boolean {
  const tol = LOGIT_TOLERANCE[type];
  if (tol === undefined) throw new Error(`no logit tolerance for type ${type} (known: ${Object.keys(LOGIT_TOLERANCE).join(', ')})`);
  return c.maxAbsDiff <= tol * Math.max(1, c.maxAbsLogit);
}
