// Hugging Face tokenizer.json (+ tokenizer_config.json) through @huggingface/tokenizers, a pure-JS
// library with no Node APIs and no code generation: it does the encoding (normalizers,
// pre-tokenizer regexes, added tokens, BPE). Decoding runs the file's decoder chain here (see
// decoders.ts) so streamed and whole decodes equal the Rust crate's.
import { Tokenizer as HfLibTokenizer } from '@huggingface/tokenizers';
import { jsonFile, readFolderFiles, type FileMap } from '../files.js';
import { compileDecoder, fallbackByte, usesByteFallback, type DecodeChain } from './decoders.js';
import {
  checkEncodeArgs, checkTokenId, checkTokenIds, type AddedToken, type DecodeOptions, type EncodeOptions,
  type StreamDecoderOptions, type Tokenizer, type TokenStreamDecoder,
} from './types.js';

export interface HfTokenizerOptions {
  /** tokenizer_config.json's contents (bos_token, eos_token, ...), if the folder has one. */
  config?: Record<string, unknown>;
  /** More ids that end generation (generation_config.json's eos_token_id list, end-of-turn markers). */
  stopIds?: Iterable<number>;
  /** Named in error messages, e.g. the file path. */
  source?: string;
  /** Shown as the tokenizer's kind (default 'tokenizer.json (<model type>)'). */
  kind?: string;
  /** Overrides for what the post-processor would say (GGUF metadata states them directly). */
  bosId?: number;
  eosId?: number;
  addsBos?: boolean;
  addsEos?: boolean;
  /** Every id's vocabulary entry, when the vocabulary may list a string twice (GGUF files can). */
  vocabulary?: readonly string[];
}

export class HfTokenizer implements Tokenizer {
  readonly kind: string;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly addsBos: boolean;
  readonly addsEos: boolean;
  readonly stopIds: ReadonlySet<number>;
  readonly addedTokens: readonly AddedToken[];
  readonly source: string;
  /** tokenizer_config.json's chat_template (the "default" one of a named list), if any: render with ChatTemplate. */
  readonly chatTemplate: string | undefined;
  /** The tokenizer.json object it was built from (what a converter writes back out). */
  readonly json: Readonly<Record<string, any>>;
  private readonly lib: HfLibTokenizer;
  private readonly tokens: (string | undefined)[];
  private readonly ids: Map<string, number>;
  private readonly special: Set<number>;
  private readonly chain: DecodeChain;
  private readonly byteFallback: boolean;

  constructor(json: unknown, opts: HfTokenizerOptions = {}) {
    const source = this.source = opts.source ?? '<tokenizer.json>';
    if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new TypeError(`${source}: tokenizer.json must be a JSON object`);
    const spec = this.json = json as Record<string, any>;
    const model = spec.model;
    if (model === null || typeof model !== 'object') throw new Error(`${source}: tokenizer.json has no "model" object`);
    if (spec.added_tokens !== undefined && !Array.isArray(spec.added_tokens)) throw new Error(`${source}: "added_tokens" must be a list`);
    const config = opts.config ?? {};
    if (config === null || typeof config !== 'object') throw new TypeError(`${source}: tokenizer_config must be an object`);
    this.chain = compileDecoder(spec.decoder, source);
    this.byteFallback = usesByteFallback(spec.decoder);
    try {
      this.lib = new HfLibTokenizer({ ...spec, added_tokens: spec.added_tokens ?? [], pre_tokenizer: spec.pre_tokenizer ?? newlineSplit(model) }, config);
    } catch (e) {
      throw new Error(`${source}: cannot build the tokenizer: ${(e as Error).message}`);
    }
    this.kind = opts.kind ?? `tokenizer.json (${model.type ?? 'model'})`;
    this.chatTemplate = chatTemplateIn(config.chat_template, source);

    this.ids = this.lib.get_vocab(true);
    this.tokens = opts.vocabulary ? [...opts.vocabulary] : [];
    for (const [token, id] of this.ids) {
      if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) throw new Error(`${source}: token ${JSON.stringify(token)} has id ${id}, not a non-negative integer`);
      if (!opts.vocabulary) this.tokens[id] = token;
      else if (id >= this.tokens.length) throw new Error(`${source}: token ${JSON.stringify(token)} has id ${id}, past the vocabulary of ${this.tokens.length}`);
    }
    this.vocabSize = this.tokens.length;
    if (this.vocabSize === 0) throw new Error(`${source}: the vocabulary is empty`);

    this.addedTokens = (spec.added_tokens ?? []).map((t: any) => ({ id: t.id, content: t.content, special: t.special === true }));
    this.special = new Set(this.addedTokens.filter((t) => t.special).map((t) => t.id));

    // What the post-processor adds around a text (BOS for Llama, nothing for GPT-2/Qwen).
    const plain = this.lib.encode('a', { add_special_tokens: false }).ids;
    const full = this.lib.encode('a', { add_special_tokens: true }).ids;
    const prefixLen = full.indexOf(plain[0]!);
    const added = { before: full.slice(0, Math.max(0, prefixLen)), after: full.slice(Math.max(0, prefixLen) + plain.length) };
    this.bosId = opts.bosId ?? this.namedToken(config.bos_token) ?? (added.before.length === 1 ? added.before[0] : undefined);
    this.eosId = opts.eosId ?? this.namedToken(config.eos_token) ?? (added.after.length === 1 ? added.after[0] : undefined);
    this.addsBos = opts.addsBos ?? added.before.length > 0;
    this.addsEos = opts.addsEos ?? added.after.length > 0;
    for (const id of [this.bosId, this.eosId]) if (id !== undefined) checkTokenId(source, id, this.vocabSize);
    if (added.before.length > 1 || added.after.length > 1) {
      throw new Error(`${source}: the post-processor adds ${full.length - plain.length} tokens around a text; only one BOS and one EOS are supported`);
    }
    const stops = new Set<number>(this.eosId === undefined ? [] : [this.eosId]);
    for (const id of opts.stopIds ?? []) { checkTokenId(source, id, this.vocabSize); stops.add(id); }
    this.stopIds = stops;
  }

  private namedToken(value: unknown): number | undefined {
    const content = typeof value === 'string' ? value : (value as { content?: unknown } | null)?.content;
    if (typeof content !== 'string') return undefined;
    const id = this.ids.get(content);
    if (id === undefined) throw new Error(`${this.source}: tokenizer_config names the special token ${JSON.stringify(content)}, which is not in the vocabulary`);
    return id;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    checkEncodeArgs(this.source, text, opts);
    const { ids, tokens } = this.lib.encode(text, { add_special_tokens: false });
    const missing = (ids as (number | undefined)[]).findIndex((id) => id === undefined);
    if (missing >= 0) throw new Error(`${this.source}: ${JSON.stringify(tokens[missing])} is not in the vocabulary and there is no unknown token`);
    if (opts.bos ?? this.addsBos) ids.unshift(this.required(this.bosId, 'BOS'));
    if (opts.eos ?? this.addsEos) ids.push(this.required(this.eosId, 'EOS'));
    return ids;
  }

  private required(id: number | undefined, what: string): number {
    if (id === undefined) throw new Error(`${this.source}: this tokenizer has no ${what} token`);
    return id;
  }

  decode(tokens: ArrayLike<number>, opts: DecodeOptions = {}): string {
    checkTokenIds(this.source, tokens, this.vocabSize);
    return this.decodeChecked(tokens, opts.skipSpecial ?? false, true);
  }

  /** decode() without the checks; `atStart` false = the tokens continue earlier text. */
  decodeChecked(tokens: ArrayLike<number>, skipSpecial: boolean, atStart: boolean): string {
    const strings: string[] = [];
    for (let i = 0; i < tokens.length; i++) {
      const id = tokens[i]!;
      if (skipSpecial && this.special.has(id)) continue;
      const token = this.tokens[id];
      if (token === undefined) throw new RangeError(`${this.source}: token id ${id} has no vocabulary entry`);
      strings.push(token);
    }
    return this.chain(strings, atStart);
  }

  createStreamDecoder(opts: StreamDecoderOptions = {}): TokenStreamDecoder {
    const prefix = opts.prefix ? Array.from(opts.prefix) : [];
    checkTokenIds(this.source, prefix, this.vocabSize);
    return new WindowStreamDecoder(this, prefix, opts.skipSpecial ?? false);
  }

  tokenText(token: number, _prev?: number): string {
    checkTokenId(this.source, token, this.vocabSize);
    return this.decodeChecked([token], false, false);
  }

  /** True for a `<0xNN>` token when the decoder has ByteFallback: text of its byte run is final only when the run ends. */
  inByteRun(token: number): boolean {
    return this.byteFallback && fallbackByte(this.tokens[token] ?? '') >= 0;
  }

  idToToken(token: number): string | undefined {
    return this.tokens[token];
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(token: number): boolean {
    return this.special.has(token);
  }
}

function chatTemplateIn(value: unknown, source: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  // Newer configs list named templates: [{name: "default", template: "..."}, {name: "tool_use", ...}].
  if (Array.isArray(value)) {
    const named = value.find((t) => t?.name === 'default') ?? value[0];
    if (typeof named?.template === 'string') return named.template;
  }
  throw new Error(`${source}: tokenizer_config's chat_template is neither a string nor a list of {name, template}`);
}

/**
 * SentencePiece-style tokenizer.json files have no pre-tokenizer: the whole text is one BPE word,
 * which the library merges slowly on long texts (a book: tens of seconds). When no merge involves
 * a newline, no merge can cross one, so splitting the normalized text at newlines first gives the
 * same tokens, and each line merges on its own (and repeats hit the library's cache).
 */
function newlineSplit(model: { type?: unknown; merges?: unknown }): object | null {
  if (model.type !== 'BPE' || !Array.isArray(model.merges)) return null;
  for (const m of model.merges) {
    const parts: unknown[] = Array.isArray(m) ? m : [m];
    if (parts.some((p) => typeof p !== 'string' || p.includes('\n'))) return null;
  }
  return { type: 'Split', pattern: { String: '\n' }, behavior: 'Isolated', invert: false };
}

/** Prefix tokens kept as context: enough for a character split over byte tokens (4) plus a spacing seam. */
const SEAM_TOKENS = 6;

/**
 * Streams by decoding a short window of recent tokens and emitting what the newest token adds
 * (the method of Hugging Face's text-generation-inference): spacing comes out as in a whole
 * decode, and text ending in U+FFFD is held back until the character completes. With ByteFallback
 * a run of <0xNN> tokens is held until it ends: a later invalid byte turns the whole run into
 * U+FFFDs, so nothing of it is final before then.
 */
class WindowStreamDecoder implements TokenStreamDecoder {
  private readonly tokens: number[];
  private start = 0;
  private read: number;
  private atStart: boolean;

  constructor(private readonly tokenizer: HfTokenizer, prefix: number[], private readonly skipSpecial: boolean) {
    this.tokens = prefix.slice(-SEAM_TOKENS);
    this.read = this.tokens.length;
    this.atStart = this.tokens.length === prefix.length;
  }

  push(token: number): string {
    checkTokenId(this.tokenizer.source, token, this.tokenizer.vocabSize);
    this.tokens.push(token);
    if (this.tokenizer.inByteRun(token)) return '';
    const before = this.decode(this.read);
    const after = this.decode(this.tokens.length);
    if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
    this.advance();
    return after.slice(before.length);
  }

  flush(): string {
    const before = this.decode(this.read);
    const after = this.decode(this.tokens.length);
    this.advance();
    return after.length > before.length ? after.slice(before.length) : '';
  }

  private decode(end: number): string {
    return this.tokenizer.decodeChecked(this.tokens.slice(this.start, end), this.skipSpecial, this.atStart && this.start === 0);
  }

  private advance(): void {
    // Drop what is no longer needed as context so each push costs a few tokens, not the whole text.
    const drop = this.read;
    this.tokens.splice(0, drop);
    if (drop > 0) this.atStart = false;
    this.start = 0;
    this.read = this.tokens.length;
  }
}

/**
 * A tokenizer from a Hugging Face folder's files (name -> bytes): tokenizer.json, and when present
 * tokenizer_config.json (special tokens) and generation_config.json (eos_token_id: stop ids).
 */
export function hfTokenizerFromFiles(files: FileMap, source = '<folder>'): HfTokenizer {
  const json = jsonFile(files, 'tokenizer.json', source);
  if (json === undefined) throw new Error(`${source}: no tokenizer.json`);
  const config = jsonFile(files, 'tokenizer_config.json', source);
  if (config !== undefined && (config === null || typeof config !== 'object' || Array.isArray(config))) {
    throw new Error(`${source}/tokenizer_config.json: must be a JSON object`);
  }
  const generation = jsonFile(files, 'generation_config.json', source) as { eos_token_id?: unknown } | undefined;
  const eos = generation?.eos_token_id;
  const stopIds = eos === undefined || eos === null ? [] : Array.isArray(eos) ? eos : [eos];
  return new HfTokenizer(json, { config: config as Record<string, unknown> | undefined, stopIds, source: `${source}/tokenizer.json` });
}

export const HF_TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'] as const;

/** Loads the tokenizer of a Hugging Face folder on disk (Node, Deno, Bun). */
export async function loadHfTokenizer(dir: string): Promise<HfTokenizer> {
  return hfTokenizerFromFiles(await readFolderFiles(dir, HF_TOKENIZER_FILES), dir);
}
