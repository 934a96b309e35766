// The tokenizer a model file carries (GGUF: tokenizer.ggml.* metadata), or null when its format
// keeps the vocabulary elsewhere (llama2.c: a separate tokenizer.bin).
import type { Model } from './model.js';
import { tokenizerFromGgufMetadata } from './tokenizers/gguf.js';
import type { Tokenizer } from './tokenizers/types.js';

export function embeddedTokenizer(model: Model): Tokenizer | null {
  const m = model.metadata;
  if (m === null || !m.has('tokenizer.ggml.model')) return null;
  const tokenizer = tokenizerFromGgufMetadata(m.entries, model.source);
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new Error(`${model.source}: the embedded tokenizer has ${tokenizer.vocabSize} tokens, more than the model's ${model.config.vocabSize} embedding rows`);
  }
  return tokenizer;
}
