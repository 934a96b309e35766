// One entry for every tokenizer file this package reads, told apart by content, not by name:
// a Hugging Face folder or tokenizer.json, a GGUF file's embedded vocabulary, or llama2.c's
// tokenizer.bin.
import { asBytes, openFileSource, readFileBytes, type BytesLike } from '../bytes.js';
import { readBytes } from '../byte-source.js';
import { readGgufIndex } from '../gguf/read-index.js';
import { readFolderFiles } from '../files.js';
import { isGguf, parseGguf } from '../gguf/index.js';
import { tokenizerFromGgufMetadata } from './gguf.js';
import { HF_TOKENIZER_FILES, HfTokenizer, hfTokenizerFromFiles, loadHfTokenizer } from './hf.js';
import { tokenizerFromBytes } from './llama2c.js';
import type { Tokenizer } from './types.js';

export interface AnyTokenizerOptions {
  /** The model's vocabulary (embedding rows): the tokenizer may not have more ids than this. */
  vocabSize?: number;
}

/** Tokenizer bytes of any supported kind: GGUF (its vocabulary), tokenizer.json, or tokenizer.bin. */
export function tokenizerFromAnyBytes(input: BytesLike, source = '<tokenizer>', opts: AnyTokenizerOptions = {}): Tokenizer {
  const bytes = asBytes(input, `tokenizer ${source}`);
  let tok: Tokenizer;
  if (isGguf(bytes)) tok = tokenizerFromGgufMetadata(parseGguf(bytes, source).metadata.entries, source);
  else if (looksLikeJson(bytes)) tok = hfTokenizerFromFiles(new Map([['tokenizer.json', bytes]]), source);
  else return tokenizerFromBytes(bytes, source, opts.vocabSize); // checks the exact size itself
  return checkFits(tok, source, opts.vocabSize);
}

/**
 * Loads a tokenizer from a path (Node, Deno, Bun): a folder with tokenizer.json, a tokenizer.json
 * (its folder's tokenizer_config.json and generation_config.json are read too), a GGUF file, or a
 * llama2.c tokenizer.bin.
 */
export async function loadAnyTokenizer(path: string, opts: AnyTokenizerOptions = {}): Promise<Tokenizer> {
  let file;
  try {
    file = await openFileSource(path, 'tokenizer');
  } catch (err) {
    // A folder cannot be read as a file (no node:fs stat here, so browser bundles stay Node-free).
    if (/EISDIR|Is a directory|directory/i.test((err as Error).message)) return checkFits(await loadHfTokenizer(path), path, opts.vocabSize);
    throw err;
  }
  try {
    // A GGUF model file (gigabytes) as the tokenizer: only its header is read.
    if (isGguf(await readBytes(file, 0, Math.min(4, file.size), "the file's first bytes"))) {
      return checkFits(tokenizerFromGgufMetadata((await readGgufIndex(file)).index.metadata.entries, path), path, opts.vocabSize);
    }
  } finally {
    file.close();
  }
  const bytes = await readFileBytes(path, 'tokenizer');
  if (!isGguf(bytes) && looksLikeJson(bytes)) {
    const dir = /[\\/]/.test(path) ? path.replace(/[\\/][^\\/]*$/, '') || '/' : '.';
    const files = await readFolderFiles(dir, HF_TOKENIZER_FILES.filter((f) => f !== 'tokenizer.json'));
    files.set('tokenizer.json', bytes);
    const tok: HfTokenizer = hfTokenizerFromFiles(files, /(^|[\\/])tokenizer\.json$/.test(path) ? dir : path);
    return checkFits(tok, path, opts.vocabSize);
  }
  return tokenizerFromAnyBytes(bytes, path, opts);
}

/** A JSON object's start: optional BOM and whitespace, "{", whitespace, then '"' or "}" (a tokenizer.bin never has that). */
function looksLikeJson(bytes: Uint8Array): boolean {
  const head = new TextDecoder('utf-8').decode(bytes.subarray(0, 64));
  return /^\s*\{\s*["}]/.test(head);
}

function checkFits(tok: Tokenizer, source: string, vocabSize: number | undefined): Tokenizer {
  if (vocabSize !== undefined && tok.vocabSize > vocabSize) {
    throw new Error(`${source}: the tokenizer has ${tok.vocabSize} tokens but the model's vocabulary has only ${vocabSize}`);
  }
  return tok;
}
