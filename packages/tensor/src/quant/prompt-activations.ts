// How a prompt's projections treat their activations (matmulWeights, the transformer's prefill):
// 'exact' multiplies the float32 activations (every prompt logit equals stepping token by token up
// to float summation order); 'q8_0' quantizes them per block of 32 to int8 first, as ggml's CPU
// backend does for Q8_0 and Q4_0 weights, and runs integer block dot products (faster, but each
// activation moves by up to half its block's step, max|x|/254). Only Q8_0 and Q4_0 weights on a
// backend with the kernel (wasm) take the q8_0 path; every other weight type and backend stays exact.
export type PromptActivations = 'exact' | 'q8_0';
export const PROMPT_ACTIVATIONS: readonly PromptActivations[] = ['exact', 'q8_0'];

/** Validates a prompt-activations mode; `what` names the option in the error. */
export function checkPromptActivations(value: unknown, what = 'activations'): PromptActivations {
  if (PROMPT_ACTIVATIONS.includes(value as PromptActivations)) return value as PromptActivations;
  throw new RangeError(`${what} must be one of ${PROMPT_ACTIVATIONS.map((v) => JSON.stringify(v)).join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
}
