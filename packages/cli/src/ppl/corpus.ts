// Texts to evaluation chunks, following the perplexity protocol of ../shared/fixtures/README.md:
// encode the whole file (BOS, dummy-prefix space, merges), drop the leading BOS, and chunk i is
// [BOS] + ids[i*(N-1) : (i+1)*(N-1)], BOS being the tokenizer's own (none for Qwen2's: N ids). A token-id JSON (a list of sequences, or {chunks: [...]}) is
// taken as ready-made chunks, each cut to N tokens.
import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { BOS, type Tokenizer } from '@msrnn/transformer';
import { count } from '../io.js';

export interface Corpus {
  /** Short name for tables (file name). */
  name: string;
  chunks: Int32Array[];
  /** Non-fatal remarks (fewer chunks than asked, a short text, ...). */
  warnings: string[];
}

/** The whole text is encoded; past this it would take minutes, and V8 strings end near 512 Mi chars. */
const MAX_TEXT_BYTES = 256 * 2 ** 20;

function readText(path: string): string {
  let text: string;
  try {
    // Size first: readFileSync would load a huge file whole only to fail converting it.
    const bytes = statSync(path).size;
    if (bytes > MAX_TEXT_BYTES) {
      throw new Error(`is ${(bytes / 2 ** 20).toFixed(0)} MiB; at most ${MAX_TEXT_BYTES / 2 ** 20} MiB is read (the whole file is encoded)`);
    }
    text = readFileSync(path, 'utf8');
  } catch (err: any) {
    throw new Error(`cannot read text file ${path}: ${err?.code ?? err?.message ?? err}`);
  }
  if (text.length === 0) throw new Error(`text file ${path} is empty`);
  return text;
}

/**
 * Chunks of `chunkLen` tokens from ids (no leading BOS): [start] + chunkLen-1 ids, where `start` is
 * the tokenizer's BOS; null (a tokenizer without one, as Qwen2's) gives chunkLen ids. Full chunks only, unless
 * none fits.
 */
export function chunkIds(ids: ArrayLike<number>, chunkLen: number, maxChunks: number, source: string, warnings: string[], start: number | null = BOS): Int32Array[] {
  const head = start === null ? 0 : 1;
  const body = chunkLen - head;
  const chunk = (from: number, n: number): Int32Array => {
    const c = new Int32Array(head + n);
    if (start !== null) c[0] = start;
    for (let j = 0; j < n; j++) c[head + j] = ids[from + j]!;
    return c;
  };
  const chunks: Int32Array[] = [];
  for (let i = 0; i < maxChunks && (i + 1) * body <= ids.length; i++) chunks.push(chunk(i * body, body));
  if (chunks.length === 0) {
    if (ids.length < 2 - head) throw new Error(`${source}: no tokens to evaluate`);
    warnings.push(`${source}: only ${count(ids.length, 'token')}, less than one chunk of ${chunkLen}; evaluating one chunk of ${ids.length + head}`);
    chunks.push(chunk(0, ids.length));
  } else if (chunks.length < maxChunks) {
    warnings.push(`${source}: ${count(ids.length, 'token')} give only ${count(chunks.length, 'chunk')} of ${chunkLen} (asked for ${maxChunks})`);
  }
  return chunks;
}

/** Sequences from a token-id JSON: number[][] or {chunks: number[][]} (like sampled_stories_tokens.json). */
function tokenSequences(path: string, json: unknown, vocabSize: number): number[][] {
  const seqs = Array.isArray(json) ? json : (json as { chunks?: unknown })?.chunks;
  if (!Array.isArray(seqs) || seqs.length === 0 || !seqs.every((s) => Array.isArray(s))) {
    throw new Error(`${path}: expected a JSON list of token-id lists, or an object with "chunks": [[ids...], ...]`);
  }
  seqs.forEach((s: unknown[], i) => {
    const bad = s.findIndex((t) => !Number.isInteger(t) || (t as number) < 0 || (t as number) >= vocabSize);
    if (bad >= 0) throw new Error(`${path}: sequence ${i}, item ${bad} is ${JSON.stringify(s[bad])}, not a token id below ${vocabSize}`);
    if (s.length < 2) throw new Error(`${path}: sequence ${i} has ${s.length} tokens; at least 2 are needed to predict one`);
  });
  return seqs as number[][];
}

/** More than 1% NULs or U+FFFD (what invalid UTF-8 decodes to) in the first 64 Ki chars: an image, an archive, a model… */
export function looksBinary(text: string): boolean {
  const n = Math.min(text.length, 65536);
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0 || c === 0xfffd) odd++;
  }
  return odd > n / 100;
}

export function loadCorpus(path: string, tokenizer: Tokenizer, chunkLen: number, maxChunks: number): Corpus {
  const warnings: string[] = [];
  const name = basename(path);
  const raw = readText(path);
  if (path.toLowerCase().endsWith('.json')) {
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err: any) {
      throw new Error(`${path}: not valid JSON (${err?.message ?? err})`);
    }
    const seqs = tokenSequences(path, json, tokenizer.vocabSize).slice(0, maxChunks);
    if (seqs.length < maxChunks) warnings.push(`${path}: holds only ${count(seqs.length, 'sequence')} (asked for ${maxChunks})`);
    const short = seqs.filter((s) => s.length < chunkLen).length;
    if (short > 0) warnings.push(`${path}: ${short} sequences are shorter than ${chunkLen} tokens and are evaluated whole`);
    return { name, chunks: seqs.map((s) => Int32Array.from(s.slice(0, chunkLen))), warnings };
  }
  if (looksBinary(raw)) warnings.push(`${path}: does not look like UTF-8 text (NUL bytes or invalid UTF-8); evaluating it anyway`);
  const ids = tokenizer.encode(raw, { bos: false });
  return { name, chunks: chunkIds(ids, chunkLen, maxChunks, path, warnings, tokenizer.bosId ?? null), warnings };
}
