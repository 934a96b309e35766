// A tokenizer written into another format, so a converted model carries the same tokenizer:
// GGUF tokenizer.ggml.* metadata (as llama.cpp's converter lays it out) or a Hugging Face
// tokenizer.json + tokenizer_config.json. Every export is checked before it is returned: the
// written tokenizer, read back by this package's own reader, must encode a sample of texts (and
// every piece of the vocabulary) to the same ids as the source; otherwise the result says why not.
import { GgufValueType as T, type GgufMetadata } from '../gguf/metadata.js';
import type { GgufWriteValue } from '../gguf/write.js';
import { GgufTokenType, ggufPreTokenizerName, tokenizerFromGgufMetadata } from '../tokenizers/gguf.js';
import { HfTokenizer } from '../tokenizers/hf.js';
import { Llama2cTokenizer } from '../tokenizers/llama2c.js';
import type { Tokenizer } from '../tokenizers/types.js';

export type TokenizerExport<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Texts every exported tokenizer must encode as the source does (spaces, digits, bytes, newlines). */
const SAMPLES = [
  'Once upon a time, there was a little girl named Lily.', ' leading space and  double  spaces ', 'line one\nline two\n\n',
  'Numbers 12345 and 3.14, symbols #@!?', 'Café, naïve, 東京, 🙂 emoji', "it's don't we'll", '', 'a',
];

/** The tokenizer.ggml.* entries of a GGUF file's metadata, as they are (a GGUF → GGUF conversion). */
export function ggufTokenizerEntries(metadata: GgufMetadata): GgufWriteValue[] {
  return [...metadata.keys()].filter((k) => k.startsWith('tokenizer.')).map((k) => {
    const e = metadata.get(k)!;
    return [k, e.type, e.value];
  });
}

/** tokenizer.ggml.* entries for `tok`: llama2.c's vocabulary as llama's SentencePiece, a byte-level BPE tokenizer.json as gpt2's. */
export function tokenizerGgufMetadata(tok: Tokenizer): TokenizerExport<GgufWriteValue[]> {
  let entries: GgufWriteValue[];
  if (tok instanceof Llama2cTokenizer) entries = llama2cMetadata(tok);
  else if (tok instanceof HfTokenizer) {
    const made = hfMetadata(tok);
    if (!made.ok) return made;
    entries = made.value;
  } else return { ok: false, reason: `a ${tok.kind} tokenizer has no GGUF form here` };
  const back = tokenizerFromGgufMetadata(new Map(entries.map(([k, , v]) => [k, v])), 'the written tokenizer.ggml.*');
  const differs = firstDifference(tok, back);
  return differs === null ? { ok: true, value: entries } : { ok: false, reason: `written as GGUF metadata it would encode differently: ${differs}` };
}

/** tokenizer.json and tokenizer_config.json for `tok` (a Hugging Face one as it is; llama2.c's through its GGUF form). */
export function tokenizerHfFiles(tok: Tokenizer): TokenizerExport<Map<string, Uint8Array>> {
  let hf: HfTokenizer;
  if (tok instanceof HfTokenizer) hf = tok;
  else if (tok instanceof Llama2cTokenizer) hf = tokenizerFromGgufMetadata(new Map(llama2cMetadata(tok).map(([k, , v]) => [k, v])), tok.source);
  else return { ok: false, reason: `a ${tok.kind} tokenizer has no tokenizer.json form here` };
  const json: Record<string, unknown> = { ...hf.json };
  const piece = (id: number | undefined) => (id === undefined ? undefined : hf.idToToken(id));
  const bos = piece(hf.bosId), eos = piece(hf.eosId);
  // What adds BOS/EOS is the post-processor (GGUF states it as metadata instead).
  if ((hf.addsBos || hf.addsEos) && !json.post_processor) json.post_processor = templateProcessing(hf.addsBos ? bos : undefined, hf.addsEos ? eos : undefined, hf);
  const config = { ...(bos !== undefined ? { bos_token: bos } : {}), ...(eos !== undefined ? { eos_token: eos } : {}), ...(hf.chatTemplate ? { chat_template: hf.chatTemplate } : {}) };
  const encode = (x: unknown) => new TextEncoder().encode(JSON.stringify(x, null, 1));
  const files = new Map([['tokenizer.json', encode(json)], ['tokenizer_config.json', encode(config)]]);
  const back = new HfTokenizer(json, { config, source: 'the written tokenizer.json' });
  const differs = firstDifference(tok, back);
  return differs === null ? { ok: true, value: files } : { ok: false, reason: `written as tokenizer.json it would encode differently: ${differs}` };
}

function templateProcessing(bos: string | undefined, eos: string | undefined, hf: HfTokenizer): object {
  const special = (t: string | undefined) => (t === undefined ? [] : [{ SpecialToken: { id: t, type_id: 0 } }]);
  const seq = (id: string) => [{ Sequence: { id, type_id: 0 } }];
  const tokens: Record<string, object> = {};
  for (const t of [bos, eos]) if (t !== undefined) tokens[t] = { id: t, ids: [hf.tokenToId(t)], tokens: [t] };
  return { type: 'TemplateProcessing', single: [...special(bos), ...seq('A'), ...special(eos)], pair: [...special(bos), ...seq('A'), ...special(eos), ...seq('B')], special_tokens: tokens };
}

/** llama2.c's vocabulary as llama.cpp's llama (SentencePiece) tokenizer: ▁ for space, <unk> <s> </s> for ids 0–2, byte pieces typed. */
function llama2cMetadata(tok: Llama2cTokenizer): GgufWriteValue[] {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const special = ['<unk>', '<s>', '</s>'];
  const tokens = tok.pieces.map((p, id) => {
    if (id < 3) return special[id]!;
    try {
      return utf8.decode(Uint8Array.from(p, (ch) => ch.charCodeAt(0))).replaceAll(' ', '▁');
    } catch {
      throw new Error(`${tok.source}: piece ${id} is not valid UTF-8, which a GGUF vocabulary needs`);
    }
  });
  const types = tokens.map((t, id) => (id === 0 ? GgufTokenType.Unknown : id < 3 ? GgufTokenType.Control : /^<0x[0-9A-F]{2}>$/.test(t) ? GgufTokenType.Byte : GgufTokenType.Normal));
  return [
    ['tokenizer.ggml.model', T.STRING, 'llama'],
    ['tokenizer.ggml.tokens', T.ARRAY, { elementType: T.STRING, values: tokens }],
    ['tokenizer.ggml.scores', T.ARRAY, { elementType: T.FLOAT32, values: Float32Array.from(tok.scores) }],
    ['tokenizer.ggml.token_type', T.ARRAY, { elementType: T.INT32, values: Int32Array.from(types) }],
    ['tokenizer.ggml.bos_token_id', T.UINT32, 1], ['tokenizer.ggml.eos_token_id', T.UINT32, 2], ['tokenizer.ggml.unknown_token_id', T.UINT32, 0],
    ['tokenizer.ggml.add_bos_token', T.BOOL, true], ['tokenizer.ggml.add_eos_token', T.BOOL, false],
  ];
}

/**
 * A tokenizer.json BPE: byte-level (GPT-2, Qwen2 regexes) as gpt2 with its merges and the
 * pre-tokenizer's llama.cpp name; SentencePiece-style (byte fallback, ▁) as llama, each piece
 * scored by the rank of the first merge that makes it (the order SentencePiece's scores give).
 */
function hfMetadata(tok: HfTokenizer): TokenizerExport<GgufWriteValue[]> {
  const model = tok.json.model as Record<string, any>;
  if (model?.type !== 'BPE') return { ok: false, reason: `tokenizer.json model ${String(model?.type)} has no GGUF form here (BPE only)` };
  const n = tok.vocabSize;
  const tokens = Array.from({ length: n }, (_, id) => tok.idToToken(id) ?? `[PAD${id}]`);
  const merges: string[] = (model.merges as (string | string[])[]).map((m) => (Array.isArray(m) ? m.join(' ') : m));
  const added = new Map(tok.addedTokens.map((a) => [a.id, a]));
  const ids = (): GgufWriteValue[] => [
    ...(tok.bosId !== undefined ? [['tokenizer.ggml.bos_token_id', T.UINT32, tok.bosId] as GgufWriteValue] : []),
    ...(tok.eosId !== undefined ? [['tokenizer.ggml.eos_token_id', T.UINT32, tok.eosId] as GgufWriteValue] : []),
    ['tokenizer.ggml.add_bos_token', T.BOOL, tok.addsBos], ['tokenizer.ggml.add_eos_token', T.BOOL, tok.addsEos],
    ...(tok.chatTemplate ? [['tokenizer.chat_template', T.STRING, tok.chatTemplate] as GgufWriteValue] : []),
  ];
  const typeOf = (id: number, normal: number) => {
    const a = added.get(id);
    return a ? (a.special ? GgufTokenType.Control : GgufTokenType.UserDefined) : normal;
  };
  if (model.byte_fallback) {
    const rank = new Map<string, number>();
    merges.forEach((m, r) => { const piece = m.replace(' ', ''); if (!rank.has(piece)) rank.set(piece, r); });
    const unk = typeof model.unk_token === 'string' ? tok.tokenToId(model.unk_token) : undefined;
    const types = tokens.map((t, id) => (id === unk ? GgufTokenType.Unknown : /^<0x[0-9A-F]{2}>$/.test(t) ? GgufTokenType.Byte : typeOf(id, GgufTokenType.Normal)));
    const scores = Float32Array.from(tokens, (t) => -(rank.get(t) ?? (Array.from(t).length > 1 ? n + merges.length : 0)));
    return {
      ok: true,
      value: [
        ['tokenizer.ggml.model', T.STRING, 'llama'],
        ['tokenizer.ggml.tokens', T.ARRAY, { elementType: T.STRING, values: tokens }],
        ['tokenizer.ggml.scores', T.ARRAY, { elementType: T.FLOAT32, values: scores }],
        ['tokenizer.ggml.token_type', T.ARRAY, { elementType: T.INT32, values: Int32Array.from(types) }],
        ...(unk !== undefined ? [['tokenizer.ggml.unknown_token_id', T.UINT32, unk] as GgufWriteValue] : []),
        ...ids(),
      ],
    };
  }
  const pre = ggufPreTokenizerName(tok.json.pre_tokenizer, tok.json.normalizer);
  if (pre === undefined) return { ok: false, reason: 'its pre-tokenizer is none of those GGUF names (tokenizer.ggml.pre) this package knows' };
  return {
    ok: true,
    value: [
      ['tokenizer.ggml.model', T.STRING, 'gpt2'], ['tokenizer.ggml.pre', T.STRING, pre],
      ['tokenizer.ggml.tokens', T.ARRAY, { elementType: T.STRING, values: tokens }],
      ['tokenizer.ggml.token_type', T.ARRAY, { elementType: T.INT32, values: Int32Array.from(tokens, (_, id) => typeOf(id, GgufTokenType.Normal)) }],
      ['tokenizer.ggml.merges', T.ARRAY, { elementType: T.STRING, values: merges }],
      ...ids(),
    ],
  };
}

/** null when `b` encodes the samples and every vocabulary piece (as text) like `a` and agrees on BOS/EOS; else what differs. */
function firstDifference(a: Tokenizer, b: Tokenizer): string | null {
  if (a.vocabSize !== b.vocabSize) return `${b.vocabSize} tokens instead of ${a.vocabSize}`;
  if (a.bosId !== b.bosId || a.eosId !== b.eosId || a.addsBos !== b.addsBos) return `BOS/EOS ${b.bosId}/${b.eosId} (adds BOS ${b.addsBos}) instead of ${a.bosId}/${a.eosId} (${a.addsBos})`;
  const texts = [...SAMPLES];
  // Every piece of a small vocabulary; an even spread of at most 4096 of a large one.
  const stride = Math.max(1, Math.ceil(a.vocabSize / 4096));
  for (let id = 0; id < a.vocabSize; id += stride) if (!a.isSpecial(id)) texts.push(a.decode([id]));
  for (const text of texts) {
    const x = a.encode(text), y = b.encode(text);
    if (x.length !== y.length || x.some((t, i) => t !== y[i])) return `${JSON.stringify(text)} → [${y.join(', ')}] instead of [${x.join(', ')}]`;
  }
  return null;
}
