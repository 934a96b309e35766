// Which architecture a loaded model is written as. A model in memory is a config plus weights;
// the family is read from what makes the architectures differ (arch.ts): learned positions →
// gpt2, post norms → gemma2, per-head q/k norms → qwen3, q/k/v biases → qwen2, partial rotary →
// phi3, else llama (mistral in a Hugging Face folder when every layer has one sliding window).
// The file it came from may have named another family that computes the same thing (phi3 with
// full rotary, mistral as GGUF llama): the written file is the same model, checked by logits.
import { headDimOf, rotaryDimOf } from '../config.js';
import type { Model } from '../model.js';

export type ExportFamily = 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gpt2';

export function exportFamily(model: Model): ExportFamily {
  const c = model.config, L = model.weights.layers[0];
  if (c.arch.positions.kind === 'learned') return 'gpt2';
  if (L?.postAttnNorm) return 'gemma2';
  if (L?.qNorm) return 'qwen3';
  if (L?.q.bias) return 'qwen2';
  if (rotaryDimOf(c) !== headDimOf(c)) return 'phi3';
  const w = c.arch.slidingWindow;
  return w !== null && w.every((x) => x === w[0] && x !== Infinity) ? 'mistral' : 'llama';
}

/**
 * Throws unless every feature of the model is one the family's file layout can state; `what`
 * names the target ("GGUF", "Hugging Face folder") in the message.
 */
export function checkExpressible(model: Model, family: ExportFamily, what: string): void {
  const c = model.config, a = c.arch, L = model.weights.layers;
  const fail = (feature: string): never => { throw new Error(`${model.source}: ${feature} cannot be written as a ${family} ${what}`); };
  const gemma = family === 'gemma2', gpt2 = family === 'gpt2';
  if (a.norm !== (gpt2 ? 'layernorm' : 'rmsnorm')) fail(`norm ${a.norm}`);
  if (a.activation !== (gemma || gpt2 ? 'gelu_tanh' : 'silu')) fail(`activation ${a.activation}`);
  if (!gemma && (a.attnSoftcap !== 0 || a.finalSoftcap !== 0 || a.queryPreAttnScalar !== null)) fail('soft-capping or query_pre_attn_scalar');
  if (!gemma && a.embedScale !== 1) fail(`embedding scale ${a.embedScale}`);
  if (gemma && Math.abs(a.embedScale - Math.sqrt(c.dim)) > 1e-2 * Math.sqrt(c.dim)) fail(`embedding scale ${a.embedScale} (gemma2 scales by sqrt(hidden) = ${Math.sqrt(c.dim)})`);
  const biases = L.some((l) => l.q.bias || l.k.bias || l.v.bias), otherBiases = L.some((l) => l.o.bias || l.up.bias || l.down.bias || l.gate?.bias);
  if (!gpt2 && otherBiases) fail('a bias on the output or feed-forward projections');
  if (!gpt2 && family !== 'qwen2' && biases) fail('q/k/v biases');
  if (!gpt2 && L.some((l) => l.gate === null)) fail('a feed-forward block without a gate');
  if (model.weights.classifier.bias) fail('a classifier bias');
}
