// What every tokenizer offers, whatever file it came from (llama2.c tokenizer.bin, Hugging Face
// tokenizer.json, GGUF metadata): generation, perplexity and the CLI only see this interface.

export interface EncodeOptions {
  /** Prepend the BOS token (default: what the tokenizer itself does, e.g. true for Llama, false for GPT-2). */
  bos?: boolean;
  /** Append the EOS token (default: what the tokenizer itself does, normally false). */
  eos?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens (BOS, EOS, chat markers) from the text (default false, as in transformers). */
  skipSpecial?: boolean;
}

export interface StreamDecoderOptions extends DecodeOptions {
  /** Tokens already shown before the stream starts (a prompt): they decide spacing at the seam. */
  prefix?: ArrayLike<number>;
}

/** Turns tokens pushed one at a time into text, holding back bytes of an incomplete character. */
export interface TokenStreamDecoder {
  /** Text this token adds ('' while a character is still incomplete). */
  push(token: number): string;
  /** Whatever is held back at the end of the stream (an incomplete character becomes U+FFFD). */
  flush(): string;
}

export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens (BOS, EOS, chat markers) are control tokens, not text. */
  special: boolean;
}

export interface Tokenizer {
  /** Where it came from, e.g. 'llama2.c', 'tokenizer.json (BPE, byte-level)', 'gguf llama'. */
  readonly kind: string;
  /** Ids run from 0 to vocabSize - 1 (a model may have more embedding rows than this). */
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  /** Whether encode() adds BOS / EOS when not told otherwise. */
  readonly addsBos: boolean;
  readonly addsEos: boolean;
  /** Tokens that end generation (EOS and end-of-turn markers). */
  readonly stopIds: ReadonlySet<number>;
  /** Added tokens (specials and user-defined ones), which are cut out of the text before the model runs. */
  readonly addedTokens: readonly AddedToken[];

  encode(text: string, opts?: EncodeOptions): number[];
  decode(tokens: ArrayLike<number>, opts?: DecodeOptions): string;
  /** A decoder for streaming generation; text pushed through it equals decode() of the whole run. */
  createStreamDecoder(opts?: StreamDecoderOptions): TokenStreamDecoder;
  /** Text of one token shown on its own (per-token views such as trace); a partial character is U+FFFD. */
  tokenText(token: number, prev?: number): string;
  /** The vocabulary entry of an id as stored (e.g. '▁the', 'Ġthe', '<0x0A>'), or undefined. */
  idToToken(token: number): string | undefined;
  /** The id of an exact vocabulary entry, or undefined. */
  tokenToId(token: string): number | undefined;
  isSpecial(token: number): boolean;
}

/** Validates encode()'s arguments (callers from plain JS get a clear TypeError, not a wrong encoding). */
export function checkEncodeArgs(source: string, text: unknown, opts: unknown): asserts text is string {
  if (typeof text !== 'string') throw new TypeError(`${source}: encode() takes a string, got ${describe(text)}`);
  if (opts === undefined) return;
  if (opts === null || typeof opts !== 'object') throw new TypeError(`${source}: encode() options must be an object, got ${describe(opts)}`);
  for (const [key, value] of Object.entries(opts)) {
    if (key !== 'bos' && key !== 'eos') throw new TypeError(`${source}: unknown encode() option "${key}" (known: bos, eos)`);
    if (value !== undefined && typeof value !== 'boolean') throw new TypeError(`${source}: encode() option ${key} must be a boolean, got ${describe(value)}`);
  }
}

/** Validates decode()'s token ids: integers in 0..vocabSize-1. */
export function checkTokenIds(source: string, tokens: unknown, vocabSize: number): asserts tokens is ArrayLike<number> {
  if (tokens === null || typeof tokens !== 'object' || typeof (tokens as ArrayLike<number>).length !== 'number') {
    throw new TypeError(`${source}: decode() takes an array of token ids, got ${describe(tokens)}`);
  }
  const ids = tokens as ArrayLike<number>;
  for (let i = 0; i < ids.length; i++) checkTokenId(source, ids[i], vocabSize, i);
}

export function checkTokenId(source: string, id: unknown, vocabSize: number, index?: number): asserts id is number {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= vocabSize) {
    const at = index === undefined ? '' : ` at index ${index}`;
    throw new RangeError(`${source}: token id ${describe(id)}${at} is not an integer in 0..${vocabSize - 1}`);
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'object') return v.constructor?.name ?? 'an object';
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : typeof v;
}
