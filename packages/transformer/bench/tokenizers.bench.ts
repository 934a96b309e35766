// Whole-book encoding time of each tokenizer path, in one run so the ratios compare on a busy
// machine; also checks that the paths sharing a vocabulary give the same ids.
// Run: node scripts/run-ts.mjs packages/transformer/bench/tokenizers.bench.ts [--text FILE]
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadTokenizer, parseGguf, type Tokenizer } from '../src/index.js';
import { loadHfTokenizer, tokenizerFromGgufMetadata } from '../src/tokenizers/index.js';

const shared = resolve(import.meta.dirname, '../../../../shared');
const { values } = parseArgs({ options: { text: { type: 'string', default: resolve(shared, 'text/austen_4_pride_and_prejudice.txt') } } });
const text = readFileSync(values.text, 'utf8');

function time(label: string, tok: Tokenizer): { ids: number[]; seconds: number } {
  const t0 = performance.now();
  const ids = tok.encode(text);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`| ${label} | ${ids.length} | ${seconds.toFixed(2)} |`);
  return { ids, seconds };
}

console.log(`${text.length} characters\n\n| tokenizer | tokens | seconds |\n|---|---|---|`);
const runc512 = time('llama2.c tok512.bin (run.c BPE)', await loadTokenizer(resolve(shared, 'models/tok512.bin')));
const legacy = time('tokenizer.json spm-legacy, 512 (llama-tiny)', await loadHfTokenizer(resolve(shared, 'models/hf/llama-tiny')));
time('tokenizer.json byte-level, 1024 (qwen2-tiny)', await loadHfTokenizer(resolve(shared, 'models/hf/qwen2-tiny')));
const runc32k = time('llama2.c tokenizer.bin 32k (run.c BPE)', await loadTokenizer(resolve(shared, 'models/tokenizer.bin')));
const gguf = time('GGUF llama 32k (llama-2-tiny-random.gguf)', tokenizerFromGgufMetadata(parseGguf(readFileSync(resolve(shared, 'models/llama-2-tiny-random.gguf'))).metadata.entries));
const same = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
console.log(`\nspm-legacy / run.c time: ${(legacy.seconds / runc512.seconds).toFixed(2)}×, same ids: ${same(legacy.ids, runc512.ids)}`);
console.log(`GGUF 32k / run.c time: ${(gguf.seconds / runc32k.seconds).toFixed(2)}×, same ids: ${same(gguf.ids, runc32k.ids)}`);
