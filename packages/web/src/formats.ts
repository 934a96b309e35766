// Model formats the page can open, one entry each: a new format (GGUF, a Hugging Face folder) is
// one more entry in FORMATS. Each takes the dropped/picked/fetched files by name and returns a
// model and its tokenizer.
import type { Backend } from '@msrnn/tensor';
import { embeddedTokenizer, isGguf, modelFromBytes, tokenizerFromBytes, type Model, type Tokenizer } from '@msrnn/transformer';

export type Files = Map<string, Uint8Array>;
export interface Loaded { model: Model; tokenizer: Tokenizer; format: string }

export interface ModelFormat {
  name: string;
  /** Whether these files are this format (cheap: names and magic bytes). */
  detect(files: Files): boolean;
  load(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array): Loaded;
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

export const FORMATS: ModelFormat[] = [gguf, llama2c];

export function loadFiles(files: Files, backend: Backend, fallbackTokenizer?: Uint8Array): Loaded {
  if (files.size === 0) throw new Error('no files given');
  const format = FORMATS.find((f) => f.detect(files));
  if (!format) throw new Error(`not a model format the page knows (${FORMATS.map((f) => f.name).join(', ')}): ${[...files.keys()].join(', ')}`);
  return format.load(files, backend, fallbackTokenizer);
}
