// Tokenizers from GGUF metadata (tokenizer.ggml.*). A GGUF vocabulary is the same model as a
// tokenizer.json, so it is turned into one and run by the same HfTokenizer:
// - "llama": SentencePiece BPE. GGUF gives pieces with scores; the merges are every split of a
//   piece into two pieces, ranked by the merged piece's score (as transformers' converter
//   builds tokenizer.json from a SentencePiece model), with byte fallback to <0xNN> pieces and
//   the "▁" dummy prefix when add_space_prefix (default true).
// - "gpt2": byte-level BPE with tokenizer.ggml.merges and the pre-tokenizer named by
//   tokenizer.ggml.pre (the regexes of the tokenizer.json each name stands for).
// The metadata comes as a plain map, so this does not depend on the GGUF reader: a value may be
// a string, number, bigint, boolean, array or typed array, or the reader's {value} / {values}.
import { HfTokenizer } from './hf.js';

export type GgufTokenizerMetadata = ReadonlyMap<string, unknown> | Readonly<Record<string, unknown>>;

/** llama.cpp's token types. */
export const enum GgufTokenType { Undefined = 0, Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
const LLAMA3_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const byteLevel = (useRegex: boolean) => ({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: useRegex });
const splitThenBytes = (regex: string) => ({
  type: 'Sequence',
  pretokenizers: [{ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false }, byteLevel(false)],
});

interface PreTokenizerSpec { pre: object; normalizer?: object; ignoreMerges?: boolean; addsBos?: boolean }

/** tokenizer.ggml.pre names (as llama.cpp spells them) and the tokenizer.json parts they stand for. */
const PRE_TOKENIZERS: Record<string, PreTokenizerSpec> = {
  'gpt-2': { pre: byteLevel(true) },
  'gpt2': { pre: byteLevel(true) },
  'llama3': { pre: splitThenBytes(LLAMA3_REGEX), ignoreMerges: true, addsBos: true },
  'llama-v3': { pre: splitThenBytes(LLAMA3_REGEX), ignoreMerges: true, addsBos: true },
  'llama-bpe': { pre: splitThenBytes(LLAMA3_REGEX), ignoreMerges: true, addsBos: true },
  'qwen2': { pre: splitThenBytes(QWEN2_REGEX), normalizer: { type: 'NFC' } },
  'deepseek-r1-qwen': { pre: splitThenBytes(QWEN2_REGEX), normalizer: { type: 'NFC' } },
  'smollm': { pre: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel(true)] } },
};
export const SUPPORTED_GGUF_PRE_TOKENIZERS = Object.keys(PRE_TOKENIZERS);

/**
 * JSON with object keys sorted, so two specs compare equal whatever order their keys were written
 * in; trim_offsets is left out (it moves offsets, never ids).
 */
const canonical = (v: unknown): string => JSON.stringify(v, (_, x) => (x && typeof x === 'object' && !Array.isArray(x)
  ? Object.fromEntries(Object.entries(x).filter(([k]) => k !== 'trim_offsets').sort(([a], [b]) => (a < b ? -1 : 1)))
  : x));

/** The tokenizer.ggml.pre name whose pre-tokenizer and normalizer are these (a tokenizer.json's), if any. */
export function ggufPreTokenizerName(preTokenizer: unknown, normalizer: unknown): string | undefined {
  return Object.keys(PRE_TOKENIZERS).find((name) => {
    const spec = PRE_TOKENIZERS[name]!;
    return canonical(spec.pre) === canonical(preTokenizer) && canonical(spec.normalizer ?? null) === canonical(normalizer ?? null) && !spec.ignoreMerges;
  });
}
export const SUPPORTED_GGUF_TOKENIZER_MODELS = ['llama', 'gpt2'];

/** Token texts llama.cpp treats as end of generation when present (end-of-turn markers). */
const END_OF_TURN = ['<|eot_id|>', '<|im_end|>', '<|end|>', '<end_of_turn>', '<|endoftext|>', '<|end_of_text|>', '<EOT>'];

const KEY = 'tokenizer.ggml.';

export function tokenizerFromGgufMetadata(metadata: GgufTokenizerMetadata, source = '<gguf>'): HfTokenizer {
  const meta = new MetadataView(metadata, source);
  const model = meta.string(`${KEY}model`);
  const tokens = meta.strings(`${KEY}tokens`);
  const n = tokens.length;
  if (n === 0) throw new Error(`${source}: ${KEY}tokens is empty`);
  const types = meta.has(`${KEY}token_type`) ? meta.integers(`${KEY}token_type`, n) : undefined;
  const typeOf = (id: number): number => types?.[id] ?? GgufTokenType.Normal;
  const tokenId = (key: string, fallback: number | undefined): number | undefined => {
    const id = meta.has(key) ? meta.integer(key) : fallback;
    if (id !== undefined && id >= n) throw new Error(`${source}: ${key} = ${id} is past the vocabulary of ${n} tokens`);
    return id;
  };

  const vocab: Record<string, number> = Object.create(null); // a token may be "__proto__"
  for (let id = 0; id < n; id++) if (tokens[id] !== '' && !(tokens[id]! in vocab)) vocab[tokens[id]!] = id;
  const added = [];
  for (let id = 0; id < n; id++) {
    const t = typeOf(id);
    if (tokens[id] === '' || vocab[tokens[id]!] !== id) continue;
    if (t === GgufTokenType.Control || t === GgufTokenType.UserDefined || t === GgufTokenType.Unknown) {
      added.push({ id, content: tokens[id]!, special: t !== GgufTokenType.UserDefined, normalized: false, lstrip: false, rstrip: false, single_word: false });
    }
  }

  let json: object;
  let bosId: number | undefined, eosId: number | undefined, addsBos: boolean;
  if (model === 'llama') {
    const scores = meta.numbers(`${KEY}scores`, n);
    const unk = tokenId(`${KEY}unknown_token_id`, 0);
    bosId = tokenId(`${KEY}bos_token_id`, 1);
    eosId = tokenId(`${KEY}eos_token_id`, 2);
    addsBos = meta.bool(`${KEY}add_bos_token`, true);
    const spacePrefix = meta.bool(`${KEY}add_space_prefix`, true);
    if (meta.bool(`${KEY}remove_extra_whitespaces`, false)) throw new Error(`${source}: ${KEY}remove_extra_whitespaces = true is not supported`);
    const replaceSpaces = { type: 'Replace', pattern: { String: ' ' }, content: '▁' };
    json = {
      added_tokens: added,
      normalizer: spacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, replaceSpaces] } : replaceSpaces,
      pre_tokenizer: null,
      post_processor: null,
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' },
          ...(spacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
        ],
      },
      model: {
        type: 'BPE', vocab, merges: mergesByScore(tokens, scores, vocab, typeOf), dropout: null,
        unk_token: unk === undefined ? null : tokens[unk], byte_fallback: true, fuse_unk: true, ignore_merges: false,
        continuing_subword_prefix: null, end_of_word_suffix: null,
      },
    };
  } else if (model === 'gpt2') {
    const preName = meta.has(`${KEY}pre`) ? meta.string(`${KEY}pre`) : undefined;
    const spec = preName === undefined ? undefined : PRE_TOKENIZERS[preName];
    if (!spec) {
      throw new Error(`${source}: ${preName === undefined ? `no ${KEY}pre (the pre-tokenizer's name)` : `unsupported ${KEY}pre ${JSON.stringify(preName)}`}; supported: ${SUPPORTED_GGUF_PRE_TOKENIZERS.join(', ')}`);
    }
    const merges = meta.strings(`${KEY}merges`).map((m, i) => {
      const at = m.indexOf(' ', 1); // as llama.cpp splits: a merge of two pieces, the first non-empty
      if (at < 0) throw new Error(`${source}: ${KEY}merges[${i}] = ${JSON.stringify(m)} is not two pieces separated by a space`);
      return [m.slice(0, at), m.slice(at + 1)];
    });
    bosId = tokenId(`${KEY}bos_token_id`, undefined);
    eosId = tokenId(`${KEY}eos_token_id`, undefined);
    addsBos = meta.bool(`${KEY}add_bos_token`, spec.addsBos ?? false);
    json = {
      added_tokens: added,
      normalizer: spec.normalizer ?? null,
      pre_tokenizer: spec.pre,
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE', vocab, merges, dropout: null, unk_token: null, byte_fallback: false, fuse_unk: false,
        ignore_merges: spec.ignoreMerges ?? false, continuing_subword_prefix: null, end_of_word_suffix: null,
      },
    };
  } else {
    throw new Error(`${source}: unsupported ${KEY}model ${JSON.stringify(model)}; supported: ${SUPPORTED_GGUF_TOKENIZER_MODELS.join(', ')}`);
  }
  const addsEos = meta.bool(`${KEY}add_eos_token`, false);
  if (addsBos && bosId === undefined) throw new Error(`${source}: ${KEY}add_bos_token is true but there is no ${KEY}bos_token_id`);
  if (addsEos && eosId === undefined) throw new Error(`${source}: ${KEY}add_eos_token is true but there is no ${KEY}eos_token_id`);

  const stopIds = new Set<number>();
  for (const key of ['eos_token_id', 'eot_token_id', 'eom_token_id']) {
    const id = tokenId(KEY + key, undefined);
    if (id !== undefined) stopIds.add(id);
  }
  if (model === 'llama' && eosId !== undefined) stopIds.add(eosId);
  for (const text of END_OF_TURN) {
    const id = vocab[text];
    if (id !== undefined && typeOf(id) === GgufTokenType.Control) stopIds.add(id);
  }

  return new HfTokenizer(json, {
    source, kind: `gguf ${model}${model === 'gpt2' ? ` (pre ${meta.string(`${KEY}pre`)})` : ''}`,
    vocabulary: tokens, bosId, eosId, addsBos, addsEos, stopIds,
  });
}

/**
 * SentencePiece scores as BPE merges: every split of a piece into two pieces, the merges ordered
 * by the merged piece's score (highest first; equal scores keep id order, then the split pieces'
 * ids), which reproduces "merge the adjacent pair whose merged piece scores highest".
 * Control, unknown and byte pieces are never produced by merging text.
 */
function mergesByScore(tokens: readonly string[], scores: Float64Array, vocab: Record<string, number>, typeOf: (id: number) => number): [string, string][] {
  const found: { left: string; right: string; score: number; order: number }[] = [];
  for (let id = 0; id < tokens.length; id++) {
    const t = typeOf(id);
    if (t === GgufTokenType.Control || t === GgufTokenType.Unknown || t === GgufTokenType.Byte) continue;
    const chars = Array.from(tokens[id]!);
    const local: { left: string; right: string; l: number; r: number }[] = [];
    for (let k = 1; k < chars.length; k++) {
      const left = chars.slice(0, k).join(''), right = chars.slice(k).join('');
      const l = vocab[left], r = vocab[right];
      if (l !== undefined && r !== undefined) local.push({ left, right, l, r });
    }
    local.sort((a, b) => a.l - b.l || a.r - b.r);
    for (const m of local) found.push({ left: m.left, right: m.right, score: scores[id]!, order: found.length });
  }
  found.sort((a, b) => b.score - a.score || a.order - b.order);
  return found.map((m) => [m.left, m.right]);
}

/** Typed reads of a plain metadata map, with errors naming the key. */
class MetadataView {
  constructor(private readonly metadata: GgufTokenizerMetadata, private readonly source: string) {}

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  private raw(key: string): unknown {
    let v = this.metadata instanceof Map ? this.metadata.get(key) : Object.hasOwn(this.metadata, key) ? (this.metadata as Record<string, unknown>)[key] : undefined;
    // The GGUF reader's entries ({type, value, offset}) and arrays ({elementType, values}).
    if (v !== null && typeof v === 'object' && 'value' in v && 'offset' in v) v = (v as { value: unknown }).value;
    if (v !== null && typeof v === 'object' && 'values' in v && 'elementType' in v) v = (v as { values: unknown }).values;
    return v;
  }

  private fail(key: string, wanted: string, got: unknown): never {
    const what = got === undefined ? 'missing' : Array.isArray(got) ? 'an array' : ArrayBuffer.isView(got) ? got.constructor.name : typeof got;
    throw new Error(`${this.source}: GGUF metadata ${key} should be ${wanted}, got ${what}`);
  }

  string(key: string): string {
    const v = this.raw(key);
    return typeof v === 'string' ? v : this.fail(key, 'a string', v);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    return typeof v === 'boolean' ? v : this.fail(key, 'a bool', v);
  }

  integer(key: string): number {
    const v = this.raw(key);
    const x = typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
    return typeof x === 'number' && Number.isInteger(x) && x >= 0 ? x : this.fail(key, 'a non-negative integer', v);
  }

  strings(key: string): readonly string[] {
    const v = this.raw(key);
    if (!Array.isArray(v)) return this.fail(key, 'an array of strings', v);
    const bad = v.findIndex((s) => typeof s !== 'string');
    if (bad >= 0) this.fail(`${key}[${bad}]`, 'a string', v[bad]);
    return v as string[];
  }

  /** A numeric array of exactly `length` finite numbers. */
  numbers(key: string, length: number): Float64Array {
    const v = this.raw(key);
    if (!(Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)))) return this.fail(key, 'an array of numbers', v);
    const a = v as ArrayLike<unknown>;
    if (a.length !== length) throw new Error(`${this.source}: GGUF metadata ${key} has ${a.length} entries but ${KEY}tokens has ${length}`);
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const x = typeof a[i] === 'bigint' ? Number(a[i]) : a[i];
      if (typeof x !== 'number' || !Number.isFinite(x)) this.fail(`${key}[${i}]`, 'a finite number', x);
      out[i] = x as number;
    }
    return out;
  }

  integers(key: string, length: number): Float64Array {
    const out = this.numbers(key, length);
    const bad = out.findIndex((x) => !Number.isInteger(x));
    if (bad >= 0) this.fail(`${key}[${bad}]`, 'an integer', out[bad]);
    return out;
  }
}
