// Model formats the page can open, one entry each: a new format is one more entry in FORMATS.
// Each takes the dropped/picked/fetched files by name, as byte sources (a picked File is read
// slice by slice, straight into the model's memory: never whole), and returns a model and its
// tokenizer. Only tokenizers and JSON files are read whole.
import type { Backend } from '@msrnn/tensor';
import {
  isGguf, loadModelFiles, modelFromSource, readBytes, tokenizerFromBytes, type ByteSource, type Model, type Tokenizer,
} from '@msrnn/transformer';
import { embeddedTokenizer, hfTokenizerFromFiles, HF_TOKENIZER_FILES } from '@msrnn/transformer/tokenizers';

export type Files = ReadonlyMap<string, ByteSource>;
/** The first bytes of each file (its magic number), read before a format is chosen. */
export type Heads = ReadonlyMap<string, Uint8Array>;
export interface Loaded { model: Model; tokenizer: Tokenizer; format: string }

export interface ModelFormat {
  name: string;
  /** Whether these files are this format (cheap: names, sizes and magic bytes). */
  detect(files: Files, heads: Heads): boolean;
  /** `source`: the name a folder goes by (its directory name) in messages; single files use their own. */
  load(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array, source?: string): Promise<Loaded>;
}

const HEAD_BYTES = 4;

/** The first `n` bytes of a file (all of it by default: a tokenizer, a JSON file); a failed read names the file. */
function readStart(file: ByteSource, n = file.size): Promise<Uint8Array> {
  return readBytes(file, 0, Math.min(n, file.size), n >= file.size ? 'the file' : "the file's first bytes");
}

/**
 * llama2.c: a model .bin (v0 header or 'ak42' v1) and its tokenizer .bin. Neither has a magic
 * number that tells them apart for sure (v0 starts with dim, a tokenizer with its longest token's
 * length), so the largest file is the model and a second file its tokenizer; a lone model uses the
 * default model's tokenizer (the model and tokenizer loaders reject a mismatch, naming it).
 */
/**
 * What `make` builds for a model just loaded (its tokenizer); when that is refused, the model's
 * memory is given back before the error goes on (a page may try many wrong files in a row).
 */
async function forModel<T>(model: Model, make: () => T | Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (err) {
    model.dispose();
    throw err;
  }
}

const llama2c: ModelFormat = {
  name: 'llama2.c',
  detect: (files, heads) => files.size <= 2 && ![...heads.values()].some(isGguf),
  async load(files, backend, fallbackTokenizer) {
    const [[modelName, modelFile], tok] = [...files.entries()].sort((x, y) => y[1].size - x[1].size) as [[string, ByteSource], [string, ByteSource]?];
    if (!tok && !fallbackTokenizer) throw new Error(`llama2.c: ${modelName} needs its tokenizer .bin too (drop both files together)`);
    const model = await modelFromSource(modelFile, { backend, source: modelName });
    const tokenizer = await forModel(model, async () =>
      tokenizerFromBytes(tok ? await readStart(tok[1]) : fallbackTokenizer!, tok?.[0] ?? 'tokenizer.bin of the default model', model.config.vocabSize));
    return { model, tokenizer, format: 'llama2.c' };
  },
};

/** GGUF: one file carrying its weights (any type the loader reads) and its tokenizer. */
const gguf: ModelFormat = {
  name: 'GGUF',
  detect: (files, heads) => files.size === 1 && isGguf([...heads.values()][0]!),
  async load(files, backend) {
    const [name, file] = [...files.entries()][0]!;
    const model = await modelFromSource(file, { backend, source: name });
    const tokenizer = await forModel(model, () => {
      const t = embeddedTokenizer(model);
      if (!t) throw new Error(`${name}: this GGUF file carries no tokenizer (tokenizer.ggml.* metadata)`);
      return t;
    });
    return { model, tokenizer, format: 'GGUF' };
  },
};

/**
 * A Hugging Face folder (picked as a folder, dropped, or its files picked together): config.json,
 * model.safetensors or the index and its shards, tokenizer.json (+ tokenizer_config.json,
 * generation_config.json): the library's loadModelFiles / hfTokenizerFromFiles.
 */
const hfFolder: ModelFormat = {
  name: 'Hugging Face folder',
  detect: (files) => files.has('config.json'),
  async load(files, backend, _fallback, source = '<folder>') {
    // Checked first: a folder without its tokenizer is refused before its weights are read.
    if (!files.has('tokenizer.json')) throw new Error(`${source}: the folder has no tokenizer.json (pick the whole model folder)`);
    const model = await loadModelFiles(files, { backend, source });
    const tokenizer = await forModel(model, async () => {
      const tokenizerFiles = new Map<string, Uint8Array>();
      for (const name of HF_TOKENIZER_FILES) if (files.has(name)) tokenizerFiles.set(name, await readStart(files.get(name)!));
      return hfTokenizerFromFiles(tokenizerFiles, source);
    });
    return { model, tokenizer, format: 'Hugging Face folder' };
  },
};

export const FORMATS: ModelFormat[] = [gguf, hfFolder, llama2c];

/** The files of a Hugging Face folder the loader reads; anything else in the folder is never read. */
const isHfFile = (name: string) => name === 'config.json' || (HF_TOKENIZER_FILES as readonly string[]).includes(name) || /\.safetensors(\.index\.json)?$/.test(name);

/**
 * Which of the picked or dropped files to read (names only, before reading any bytes): a folder
 * with config.json is a Hugging Face folder, and only its model and tokenizer files are read (a
 * folder may also hold READMEs, other weight formats, images); otherwise every file is read.
 */
export function filesToRead(names: readonly string[]): string[] {
  if (names.length === 0) throw new Error('no files given');
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`two files are named ${JSON.stringify(dup)}: pick one model folder (its own files, not its subfolders)`);
  return names.includes('config.json') ? names.filter(isHfFile) : [...names];
}

/** Finds the files' format (by names, sizes and their first bytes) and loads them with it. */
export async function loadFiles(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array, source?: string): Promise<Loaded> {
  if (files.size === 0) throw new Error('no files given');
  const heads = new Map<string, Uint8Array>();
  for (const [name, file] of files) heads.set(name, await readStart(file, HEAD_BYTES));
  const format = FORMATS.find((f) => f.detect(files, heads));
  if (!format) throw new Error(`not a model format the page knows (${FORMATS.map((f) => f.name).join(', ')}): ${[...files.keys()].join(', ')}`);
  return format.load(files, backend, fallbackTokenizer, source);
}
