// Tiny llama2.c checkpoints written in both layouts (v0 legacy, v1 "ak42") from named random
// tensors: what the loader tests and the loader fuzz suite start from.
import { LLAMA2C_MAGIC } from '../../src/index.js';

export interface Geometry { dim: number; hidden: number; layers: number; heads: number; kvHeads: number; vocab: number; seqLen: number }
export const tiny: Geometry = { dim: 16, hidden: 24, layers: 2, heads: 4, kvHeads: 2, vocab: 300, seqLen: 32 };

/** Named random tensors of a tiny model, written below in each format's own order. */
export function randomTensors(g: Geometry, seed: number): Record<string, Float32Array[]> {
  let s = seed;
  const rnd = (n: number) => Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5);
  const kv = (g.dim / g.heads) * g.kvHeads;
  const per = (n: number) => Array.from({ length: g.layers }, () => rnd(n));
  return {
    emb: [rnd(g.vocab * g.dim)], attNorm: per(g.dim), wq: per(g.dim * g.dim), wk: per(kv * g.dim), wv: per(kv * g.dim),
    wo: per(g.dim * g.dim), ffnNorm: per(g.dim), w1: per(g.hidden * g.dim), w2: per(g.dim * g.hidden), w3: per(g.hidden * g.dim),
    final: [rnd(g.dim)], cls: [rnd(g.vocab * g.dim)],
  };
}

export function concat(parts: (Uint8Array | Float32Array)[]): Uint8Array {
  const bytes = parts.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  const out = new Uint8Array(bytes.reduce((a, b) => a + b.length, 0));
  let at = 0;
  for (const b of bytes) { out.set(b, at); at += b.length; }
  return out;
}

/** The seven int32 hyperparameters both layouts share. */
export function header(g: Geometry, vocabField: number): Uint8Array {
  return new Uint8Array(Int32Array.of(g.dim, g.hidden, g.layers, g.heads, g.kvHeads, vocabField, g.seqLen).buffer);
}

/** run.c's legacy layout: negative vocab_size = untied classifier after the RoPE tables. */
export function writeV0(g: Geometry, t: Record<string, Float32Array[]>, tied: boolean): Uint8Array {
  const rope = new Float32Array(g.seqLen * (g.dim / g.heads)); // freq_cis_real + imag, ignored by the loader
  return concat([header(g, tied ? g.vocab : -g.vocab), ...t.emb!, ...t.attNorm!, ...t.wq!, ...t.wk!, ...t.wv!, ...t.wo!, ...t.ffnNorm!,
    ...t.w1!, ...t.w2!, ...t.w3!, ...t.final!, rope, ...(tied ? [] : t.cls!)]);
}

/** export.py version1_export: magic, version, params, shared flag, padded to 256 bytes. */
export function writeV1(g: Geometry, t: Record<string, Float32Array[]>, tied: boolean): Uint8Array {
  const head = new Uint8Array(256);
  const dv = new DataView(head.buffer);
  dv.setUint32(0, LLAMA2C_MAGIC, true);
  dv.setInt32(4, 1, true);
  head.set(header(g, g.vocab), 8);
  head[36] = tied ? 1 : 0;
  return concat([head, ...t.attNorm!, ...t.ffnNorm!, ...t.final!, ...t.emb!, ...t.wq!, ...t.wk!, ...t.wv!, ...t.wo!,
    ...t.w1!, ...t.w2!, ...t.w3!, ...(tied ? [] : t.cls!)]);
}

/** run.c's tokenizer.bin: i32 max_token_length, then per piece f32 score, i32 length, bytes. */
export function writeTokenizer(pieces: readonly { score: number; text: string }[]): Uint8Array {
  const encoded = pieces.map((p) => ({ score: p.score, bytes: new TextEncoder().encode(p.text) }));
  const maxLen = Math.max(...encoded.map((p) => p.bytes.length));
  const out = new Uint8Array(4 + encoded.reduce((n, p) => n + 8 + p.bytes.length, 0));
  const dv = new DataView(out.buffer);
  dv.setInt32(0, maxLen, true);
  let at = 4;
  for (const p of encoded) {
    dv.setFloat32(at, p.score, true); dv.setInt32(at + 4, p.bytes.length, true);
    out.set(p.bytes, at + 8);
    at += 8 + p.bytes.length;
  }
  return out;
}

/** A small complete vocabulary: <unk> <s> </s>, the 256 byte tokens, then a few merges (" ", "th", " the" …). */
export function tinyTokenizerFile(): Uint8Array {
  const bytes = Array.from({ length: 256 }, (_, b) => ({ score: 0, text: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>` }));
  const merges = [' ', 'e', 't', 'h', 'a', 'th', 'he', ' t', ' th', ' the', 'an', 'and', ' and', 'in', 'ing'].map((text, i) => ({ score: -i, text }));
  return writeTokenizer([{ score: 0, text: '<unk>' }, { score: 0, text: '\n<s>\n' }, { score: 0, text: '\n</s>\n' }, ...bytes, ...merges]);
}
