// Streaming generation: prefill the prompt, then sample token by token, yielding each token and
// the text it adds (UTF-8 characters split across tokens are held back until complete).
import type { MultiState } from '@msrnn/msrnn';
import type { Model } from './model.js';
import { prefill, type PrefillOptions } from './prefill.js';
import { Sampler, type SamplerOptions } from './sampler.js';
import type { SentinelStream } from './sentinel.js';
import { step } from './step.js';
import type { Tokenizer } from './tokenizers/types.js';

export interface GenerateOptions extends SamplerOptions {
  /** New tokens to generate at most (default 256). */
  maxNewTokens?: number;
  /** Stop when the model emits one of the tokenizer's stopIds, e.g. EOS (default true; the stop token is not yielded). */
  stopAtEnd?: boolean;
  /** The sampler to draw with (e.g. one whose RNG state was restored); default a new one from these options. */
  sampler?: Sampler;
  /**
   * Resume: the state already holds the text and these are the logits of its last step (saved with
   * it), so nothing is prefilled; `promptTokens` is then only the decoder's context and may be empty.
   */
  startLogits?: Float32Array;
  /** Where each step's logits go (must be the backend's memory: model.backend.alloc); read it after the run to save them. */
  logitsOut?: Float32Array;
  /** Passed to the prompt's prefill (chunk size, progress). */
  prefill?: Pick<PrefillOptions, 'chunkSize' | 'onProgress' | 'activations'>;
  /**
   * Sentinel compression: every token (prompt and sampled) goes through this stream, which inserts
   * <CL>/<CR> by its span rule; `state` must be its state. The prompt is stepped, not prefilled.
   */
  sentinels?: SentinelStream;
}

export interface GeneratedPiece {
  token: number;
  /** Text this token adds (may be '' while a multi-byte character is incomplete). */
  text: string;
}

/**
 * Runs `promptTokens` (normally starting with BOS, e.g. tokenizer.encode(prompt)) through the
 * state, then yields up to maxNewTokens sampled tokens, each already fed into the state (updated
 * in place). A character left incomplete by the last token is not emitted.
 */
export async function* generate(
  model: Model, tokenizer: Tokenizer, state: MultiState, promptTokens: ArrayLike<number>, opts: GenerateOptions = {},
): AsyncGenerator<GeneratedPiece, void, undefined> {
  const maxNew = opts.maxNewTokens ?? 256;
  if (!Number.isInteger(maxNew) || maxNew < 0) throw new RangeError(`maxNewTokens must be a non-negative integer, got ${maxNew}`);
  if (promptTokens.length === 0 && !opts.startLogits) throw new RangeError('generate: the prompt has no tokens (encode with BOS)');
  const sampler = opts.sampler ?? new Sampler(model.config.vocabSize, opts);
  const stopAtEnd = opts.stopAtEnd ?? true;
  const logitsBuf = opts.logitsOut ?? model.backend.alloc(model.config.vocabSize); // kernels write it: must live in the backend's memory
  if (logitsBuf.length < model.config.vocabSize) throw new RangeError(`generate: logitsOut holds ${logitsBuf.length} floats, needs ${model.config.vocabSize}`);
  let logits = logitsBuf;
  const sentinels = opts.sentinels;
  if (sentinels && sentinels.state !== state) throw new RangeError('generate: with sentinels, the state must be the sentinel stream\'s (stream.state)');
  // One step of the text: through the sentinel stream when there is one.
  const feed = sentinels ? (token: number) => sentinels.text(token, logitsBuf) : (token: number) => step(model, state, token, logitsBuf);
  if (opts.startLogits) {
    if (opts.startLogits.length !== model.config.vocabSize) throw new RangeError(`generate: startLogits has ${opts.startLogits.length} floats, the vocabulary ${model.config.vocabSize}`);
    logitsBuf.set(opts.startLogits);
  } else if (sentinels) {
    for (let i = 0; i < promptTokens.length; i++) logits = feed(promptTokens[i]!);
    opts.prefill?.onProgress?.(promptTokens.length, promptTokens.length);
  } else {
    logits = prefill(model, state, promptTokens, { ...opts.prefill, logitsOut: logitsBuf });
  }
  const decoder = tokenizer.createStreamDecoder({ prefix: promptTokens });
  try {
    for (let i = 0; i < maxNew; i++) {
      const token = sampler.sample(logits);
      if (stopAtEnd && tokenizer.stopIds.has(token)) break;
      // Feed the token before yielding so the state always holds the whole text seen so far.
      logits = feed(token);
      yield { token, text: decoder.push(token) };
    }
  } finally {
    // A buffer made here goes back when the generation ends or is abandoned (wasm heap's free list).
    if (opts.logitsOut === undefined) model.backend.free?.(logitsBuf);
  }
}
