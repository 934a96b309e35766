// Model formats the page can open, one entry each: a new format is one more entry in FORMATS.
// Each takes the dropped/picked/fetched files by name and returns a model and its tokenizer.
import type { Backend } from '@msrnn/tensor';
import {
  embeddedTokenizer, hfTokenizerFromFiles, isGguf, modelFromBytes, modelFromFiles, tokenizerFromBytes, HF_TOKENIZER_FILES,
  type Model, type Tokenizer,
} from '@msrnn/transformer';

export type Files = Map<string, Uint8Array>;
export interface Loaded { model: Model; tokenizer: Tokenizer; format: string }

export interface ModelFormat {
  name: string;
  /** Whether these files are this format (cheap: names and magic bytes). */
  detect(files: Files): boolean;
  /** `source`: the name a folder goes by (its directory name) in messages; single files use their own. */
  load(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array, source?: string): Loaded;
}

const isGgufBytes = (b: Uint8Array) => b.length >= 4 && b[0] === 0x47 && b[1] === 0x47 && b[2] === 0x55 && b[3] === 0x46;

/**
 * llama2.c: a model .bin (v0 header or 'ak42' v1) and its tokenizer .bin. Neither has a magic
 * number that tells them apart for sure (v0 starts with dim, a tokenizer with its longest token's
 * length), so the largest file is the model and a second file its tokenizer; a lone model uses the
 * default model's tokenizer (modelFromBytes/tokenizerFromBytes reject a mismatch, naming it).
 */
const llama2c: ModelFormat = {
  name: 'llama2.c',
  detect: (files) => files.size <= 2 && ![...files.values()].some(isGgufBytes),
  load(files, backend, fallbackTokenizer) {
    const [modelEntry, tok] = [...files.entries()].sort((x, y) => y[1].length - x[1].length);
    const model = modelFromBytes(modelEntry![1], { backend, source: modelEntry![0] });
    const tokBytes = tok?.[1] ?? fallbackTokenizer;
    if (!tokBytes) throw new Error(`llama2.c: ${modelEntry![0]} needs its tokenizer .bin too (drop both files together)`);
    const tokenizer = tokenizerFromBytes(tokBytes, tok?.[0] ?? 'tokenizer.bin of the default model', model.config.vocabSize);
    return { model, tokenizer, format: 'llama2.c' };
  },
};

/** GGUF: one file carrying its weights (any type the loader reads) and its tokenizer. */
const gguf: ModelFormat = {
  name: 'GGUF',
  detect: (files) => files.size === 1 && isGguf([...files.values()][0]!),
  load(files, backend) {
    const [name, bytes] = [...files.entries()][0]!;
    const model = modelFromBytes(bytes, { backend, source: name });
    const tokenizer = embeddedTokenizer(model);
    if (!tokenizer) throw new Error(`${name}: this GGUF file carries no tokenizer (tokenizer.ggml.* metadata)`);
    return { model, tokenizer, format: 'GGUF' };
  },
};

/**
 * A Hugging Face folder (picked as a folder, dropped, or its files picked together): config.json,
 * model.safetensors or the index and its shards, tokenizer.json (+ tokenizer_config.json,
 * generation_config.json): the library's modelFromFiles / hfTokenizerFromFiles.
 */
const hfFolder: ModelFormat = {
  name: 'Hugging Face folder',
  detect: (files) => files.has('config.json'),
  load(files, backend, _fallback, source = '<folder>') {
    const model = modelFromFiles(files, { backend, source });
    if (!files.has('tokenizer.json')) throw new Error(`${source}: the folder has no tokenizer.json (pick the whole model folder)`);
    return { model, tokenizer: hfTokenizerFromFiles(files, source), format: 'Hugging Face folder' };
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

export function loadFiles(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array, source?: string): Loaded {
  if (files.size === 0) throw new Error('no files given');
  const format = FORMATS.find((f) => f.detect(files));
  if (!format) throw new Error(`not a model format the page knows (${FORMATS.map((f) => f.name).join(', ')}): ${[...files.keys()].join(', ')}`);
  return format.load(files, backend, fallbackTokenizer, source);
}
