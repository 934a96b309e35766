// llama2.c `tokenizer.bin`: int32 max_token_length, then per piece: float32 score, int32 length,
// bytes. Encoding and decoding follow run.c exactly (see the fixtures' README for the rules).
// Pieces are handled as "binary strings" (one char per byte) so a Map finds byte sequences that
// are not valid UTF-8 on their own.
import { asBytes, readFileBytes, recognizeOtherFormat, type BytesLike } from '../bytes.js';
import { TokenizerFileError } from '../file-errors.js';
import {
  checkEncodeArgs, checkTokenId, checkTokenIds, type AddedToken, type DecodeOptions, type EncodeOptions,
  type StreamDecoderOptions, type Tokenizer, type TokenStreamDecoder,
} from './types.js';

export const BOS = 1;
export const EOS = 2;
/** Byte-fallback tokens: id = byte + BYTE_TOKEN_OFFSET. */
export const BYTE_TOKEN_OFFSET = 3;

const MAX_PIECE_BYTES = 1 << 16;

export interface Llama2cDecodeOptions extends DecodeOptions {
  /** The token shown just before (run.c: a piece right after BOS loses one leading space); default BOS. */
  prev?: number;
}

export class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2.c tokenizer.bin';
  readonly bosId = BOS;
  readonly eosId = EOS;
  readonly addsBos = true;
  readonly addsEos = false;
  /** run.c stops at BOS; EOS ends a sequence too. */
  readonly stopIds: ReadonlySet<number> = new Set([BOS, EOS]);
  /** run.c cuts nothing out of the text: "<s>" in a prompt is encoded as characters. */
  readonly addedTokens: readonly AddedToken[] = [];
  /** Piece bytes as binary strings (char code = byte). */
  readonly pieces: string[];
  readonly scores: Float32Array;
  readonly maxTokenLength: number;
  private readonly idOf = new Map<string, number>();
  /** Decoded bytes of each piece (<0xNN> pieces resolved to the raw byte). */
  private readonly pieceBytes: Uint8Array[];

  constructor(pieces: string[], scores: Float32Array, maxTokenLength: number, readonly source = '<tokenizer>') {
    this.pieces = pieces;
    this.scores = scores;
    this.maxTokenLength = maxTokenLength;
    // A piece listed twice maps to its first id (run.c's bsearch picks an unspecified one; tok512 and Llama-2 have none).
    for (let i = pieces.length - 1; i >= 0; i--) this.idOf.set(pieces[i]!, i);
    this.pieceBytes = pieces.map((p) => {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(p);
      return m ? Uint8Array.of(parseInt(m[1]!, 16)) : binaryToBytes(p);
    });
  }

  get vocabSize(): number {
    return this.pieces.length;
  }

  /** Token id of an exact piece (given as text), or -1. */
  lookup(piece: string): number {
    return this.idOf.get(bytesToBinary(new TextEncoder().encode(piece))) ?? -1;
  }

  tokenToId(piece: string): number | undefined {
    const id = this.lookup(piece);
    return id < 0 ? undefined : id;
  }

  idToToken(token: number): string | undefined {
    const piece = this.pieces[token];
    return piece === undefined ? undefined : new TextDecoder().decode(binaryToBytes(piece));
  }

  /** <unk>, BOS and EOS (ids 0-2 in every llama2.c vocabulary). */
  isSpecial(token: number): boolean {
    return token >= 0 && token < BYTE_TOKEN_OFFSET;
  }

  /**
   * run.c-compatible BPE: [BOS?] + dummy-prefix " " (if text non-empty) + UTF-8 code points
   * (byte fallback id = byte+3 for unknown ones), then repeatedly merge the adjacent pair with the
   * highest-scoring merged piece, leftmost on ties. O(n log n) with a heap, so whole books are fast.
   */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    checkEncodeArgs(this.source, text, opts);
    const out: number[] = [];
    if (opts.bos ?? true) out.push(BOS);
    if (text.length > 0) {
      const initial: number[] = [];
      const space = this.idOf.get(' ');
      if (space === undefined) throw new TokenizerFileError(`${this.source}: the vocabulary has no " " piece for the dummy prefix`);
      initial.push(space);
      this.pushCodePoints(new TextEncoder().encode(text), initial);
      for (const id of this.mergePairs(initial)) out.push(id);
    }
    if (opts.eos) out.push(EOS);
    return out;
  }

  private pushCodePoints(bytes: Uint8Array, out: number[]): void {
    let i = 0;
    while (i < bytes.length) {
      // A code point = a lead byte plus following continuation bytes, at most 4 bytes (as run.c groups them).
      let j = i + 1;
      while (j < bytes.length && (bytes[j]! & 0xc0) === 0x80 && j - i < 4) j++;
      const id = this.idOf.get(bytesToBinary(bytes.subarray(i, j)));
      if (id !== undefined) out.push(id);
      else for (let b = i; b < j; b++) out.push(bytes[b]! + BYTE_TOKEN_OFFSET);
      i = j;
    }
  }

  private mergePairs(ids: number[]): number[] {
    const n = ids.length;
    // Doubly linked list over symbols; a merge folds the right symbol into the left one.
    const token = Int32Array.from(ids);
    const prev = new Int32Array(n), next = new Int32Array(n), version = new Int32Array(n);
    for (let i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; }
    const heap = new MergeHeap();
    const consider = (left: number): void => {
      const right = next[left]!;
      if (right < 0) return;
      const id = this.idOf.get(this.pieces[token[left]!]! + this.pieces[token[right]!]!);
      if (id !== undefined) heap.push(this.scores[id]!, left, right, version[left]!, version[right]!, id);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const m = heap.pop();
      // Stale if either side changed since the candidate was queued (or the right one was absorbed).
      if (version[m.left] !== m.leftVersion || version[m.right] !== m.rightVersion || next[m.left] !== m.right) continue;
      token[m.left] = m.id;
      version[m.left]!++;
      version[m.right] = -1; // dead
      const after = next[m.right]!;
      next[m.left] = after;
      if (after >= 0) prev[after] = m.left;
      if (prev[m.left]! >= 0) consider(prev[m.left]!);
      consider(m.left);
    }
    const result: number[] = [];
    for (let i = 0; i >= 0; i = next[i]!) result.push(token[i]!);
    return result;
  }

  /** Bytes of `token` as printed after `prev` (run.c: a piece right after BOS loses one leading space). */
  pieceBytesAfter(prev: number, token: number): Uint8Array {
    const bytes = this.pieceBytes[token];
    if (bytes === undefined) throw new RangeError(`token ${token} is out of range: ${this.source} has ${this.vocabSize} pieces`);
    return prev === BOS && bytes[0] === 0x20 ? bytes.subarray(1) : bytes;
  }

  /** Decodes tokens (a leading BOS is skipped; it only affects the next piece's space). */
  decode(tokens: ArrayLike<number>, opts: Llama2cDecodeOptions = {}): string {
    checkTokenIds(this.source, tokens, this.vocabSize);
    const prev = opts.prev ?? BOS;
    checkTokenId(this.source, prev, this.vocabSize);
    const d = new StreamingDecoder(this, prev, false, opts.skipSpecial ?? false);
    let s = '';
    for (let i = 0; i < tokens.length; i++) {
      if (i === 0 && tokens[i] === BOS && prev === BOS) continue;
      s += d.push(tokens[i]!);
    }
    return s + d.flush();
  }

  createStreamDecoder(opts: StreamDecoderOptions = {}): TokenStreamDecoder {
    const prefix = opts.prefix;
    const prev = prefix && prefix.length > 0 ? prefix[prefix.length - 1]! : BOS;
    checkTokenId(this.source, prev, this.vocabSize);
    return new StreamingDecoder(this, prev, false, opts.skipSpecial ?? false);
  }

  tokenText(token: number, prev = BOS): string {
    return this.decode([token], { prev });
  }

  /** run.c's printing rule: single-byte pieces that are not printable ASCII or whitespace are dropped. */
  isPrintable(bytes: Uint8Array): boolean {
    if (bytes.length !== 1) return true;
    const b = bytes[0]!;
    return (b >= 0x20 && b <= 0x7e) || (b >= 0x09 && b <= 0x0d);
  }
}

/**
 * Turns a token stream into text, holding back bytes of a UTF-8 character split across tokens.
 * `printedOnly` applies run.c's printing rule (drops lone non-printable bytes).
 */
export class StreamingDecoder implements TokenStreamDecoder {
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true }); // a U+FEFF piece is text, as run.c prints it
  constructor(
    private readonly tokenizer: Llama2cTokenizer, private prev = BOS, private readonly printedOnly = false,
    private readonly skipSpecial = false,
  ) {}

  push(token: number): string {
    const bytes = this.tokenizer.pieceBytesAfter(this.prev, token);
    this.prev = token;
    if (this.skipSpecial && this.tokenizer.isSpecial(token)) return '';
    if (this.printedOnly && !this.tokenizer.isPrintable(bytes)) return '';
    return this.utf8.decode(bytes, { stream: true });
  }

  /** Emits whatever is held back (an incomplete character becomes U+FFFD). */
  flush(): string {
    return this.utf8.decode();
  }
}

export interface TokenizerBytesOptions {
  /** Names the file in errors (default '<tokenizer>'). */
  source?: string;
  /** The model's vocabulary size: the piece count must equal it. */
  vocabSize?: number;
}

/**
 * Parses tokenizer.bin bytes; `vocabSize` (from the model), when given, must match the piece count.
 * Takes an options object like modelFromBytes (the older positional `source, vocabSize` still work).
 */
export function tokenizerFromBytes(input: BytesLike, options: TokenizerBytesOptions | string = {}, vocabSizeArg?: number): Llama2cTokenizer {
  const opts = typeof options === 'string' ? { source: options, vocabSize: vocabSizeArg } : options;
  if (opts === null || typeof opts !== 'object') throw new TypeError(`tokenizerFromBytes: options must be an object, got ${String(opts)}`);
  for (const key of Object.keys(opts)) {
    if (key !== 'source' && key !== 'vocabSize') throw new TypeError(`tokenizerFromBytes: unknown option "${key}" (known: source, vocabSize)`);
  }
  const source = opts.source ?? '<tokenizer>', vocabSize = opts.vocabSize;
  if (vocabSize !== undefined && (!Number.isSafeInteger(vocabSize) || vocabSize <= 0)) {
    throw new RangeError(`${source}: vocabSize must be a positive integer, got ${String(vocabSize)}`);
  }
  const bytes = asBytes(input, `tokenizer ${source}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 4) throw new TokenizerFileError(`${source}: file too small (${bytes.byteLength} bytes) to be a llama2.c tokenizer`);
  const maxTokenLength = dv.getInt32(0, true);
  if (maxTokenLength <= 0 || maxTokenLength > MAX_PIECE_BYTES) {
    const reason = `invalid tokenizer header: max_token_length ${maxTokenLength} is not in 1..${MAX_PIECE_BYTES}`;
    const other = recognizeOtherFormat(bytes);
    throw new TokenizerFileError(other ? `${source}: it looks like ${other}, not a llama2.c tokenizer.bin (${reason})` : `${source}: ${reason}`);
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  let at = 4;
  // Bytes after exactly the model's vocabulary of whole pieces that do not form another piece are
  // "trailing bytes", not a truncation (the format has no piece count: only the model knows it).
  const trailing = (): Error => new TokenizerFileError(`${source}: ${bytes.byteLength - at} trailing bytes after the ${pieces.length} pieces of the model's vocabulary (byte ${at} on); the file has extra bytes at its end`);
  while (at < bytes.byteLength) {
    if (at + 8 > bytes.byteLength) {
      if (pieces.length === vocabSize) throw trailing();
      throw new TokenizerFileError(`${source}: ${bytes.byteLength - at} bytes at byte ${at}, after ${pieces.length} whole pieces, are too few for another piece's score and length: truncated, or trailing bytes at the end`);
    }
    const score = dv.getFloat32(at, true);
    const len = dv.getInt32(at + 4, true);
    if (len < 0 || len > maxTokenLength) {
      if (pieces.length === vocabSize) throw trailing();
      throw new TokenizerFileError(`${source}: piece ${pieces.length} at byte ${at} has length ${len}, outside 0..max_token_length ${maxTokenLength}`);
    }
    if (!Number.isFinite(score)) throw new TokenizerFileError(`${source}: piece ${pieces.length} at byte ${at} has a non-finite score`);
    at += 8;
    if (at + len > bytes.byteLength) {
      if (pieces.length === vocabSize) { at -= 8; throw trailing(); }
      throw new TokenizerFileError(`${source}: truncated in piece ${pieces.length} (needs ${len} bytes at ${at})`);
    }
    pieces.push(bytesToBinary(bytes.subarray(at, at + len)));
    scores.push(score);
    at += len;
  }
  if (pieces.length < BYTE_TOKEN_OFFSET + 256) {
    throw new TokenizerFileError(`${source}: only ${pieces.length} pieces; a llama2.c tokenizer has at least 259 (specials + 256 byte tokens)`);
  }
  if (vocabSize !== undefined && pieces.length !== vocabSize) {
    throw new TokenizerFileError(`${source}: has ${pieces.length} pieces but the model's vocabulary size is ${vocabSize}`);
  }
  return new Llama2cTokenizer(pieces, Float32Array.from(scores), maxTokenLength, source);
}

/** Loads tokenizer.bin from a path (Node, Deno, Bun) or bytes. */
export async function loadTokenizer(pathOrBytes: string | BytesLike, opts: { vocabSize?: number } = {}): Promise<Llama2cTokenizer> {
  const vocab = opts.vocabSize !== undefined ? { vocabSize: opts.vocabSize } : {};
  if (typeof pathOrBytes !== 'string') return tokenizerFromBytes(pathOrBytes, vocab);
  return tokenizerFromBytes(await readFileBytes(pathOrBytes, 'tokenizer'), { source: pathOrBytes, ...vocab });
}

function bytesToBinary(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

function binaryToBytes(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

interface MergeCandidate { score: number; left: number; right: number; leftVersion: number; rightVersion: number; id: number }

/** Max-heap on (score, then lowest left index): run.c's "best score, leftmost on ties". */
class MergeHeap {
  private items: MergeCandidate[] = [];
  get size(): number {
    return this.items.length;
  }
  push(score: number, left: number, right: number, leftVersion: number, rightVersion: number, id: number): void {
    const a = this.items;
    a.push({ score, left, right, leftVersion, rightVersion, id });
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): MergeCandidate {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && better(a[l]!, a[m]!)) m = l;
        if (r < a.length && better(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function better(x: MergeCandidate, y: MergeCandidate): boolean {
  return x.score > y.score || (x.score === y.score && x.left < y.left);
}
