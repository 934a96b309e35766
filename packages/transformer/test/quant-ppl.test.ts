// Perplexity of stories260K on its sampled stories (fixtures/sampled_stories_tokens.json) with
// f32, fp16 and Q8 weights on the wasm backend (and Q8 on the pure-TS backend): the change that
// reduced precision costs, bounded. MSRNN_PPL_CHUNKS=16 runs every chunk (the README's numbers).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type Backend } from '@msrnn/tensor';
import { createState, loadModel, prefill, quantizeModel, type Model } from '../src/index.js';
import { haveShared, paths } from './shared.js';

const storiesPath = resolve(paths.fixtures, 'sampled_stories_tokens.json');

/** Mean negative log-likelihood of each chunk's tokens 1.. given the previous ones (full state). */
function meanNll(model: Model, chunks: number[][]): number {
  let nll = 0, count = 0;
  for (const tokens of chunks) {
    prefill(model, createState(model), tokens.slice(0, -1), {
      chunkSize: 64,
      onLogits: (pos, logits) => {
        let max = -Infinity;
        for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
        let z = 0;
        for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i]! - max);
        nll += max + Math.log(z) - logits[tokens[pos + 1]!]!;
        count++;
      },
    });
  }
  return nll / count;
}

if (haveShared('quantized perplexity', paths.model, storiesPath)) {
  const fx = JSON.parse(readFileSync(storiesPath, 'utf8'));
  const nChunks = Number(process.env.MSRNN_PPL_CHUNKS ?? 2);
  const chunks: number[][] = fx.chunks.slice(0, nChunks);

  test(`fp16 and Q8 weights: perplexity within bounds of f32 (${nChunks} × ${fx.chunk_len} tokens)`, async () => {
    const wasm = await createWasmBackend();
    const results: Record<string, number> = {};
    const run = async (name: string, backend: Backend, type: 'f32' | 'f16' | 'q8') => {
      const model = quantizeModel(await loadModel(paths.model, { backend }), type);
      results[name] = Math.exp(meanNll(model, chunks));
    };
    await run('wasm f32', wasm, 'f32');
    await run('wasm f16', wasm, 'f16');
    await run('wasm q8', wasm, 'q8');
    await run('js q8', jsBackend, 'q8');
    if (process.env.MSRNN_PPL_REPORT) console.log(JSON.stringify(results));
    const base = results['wasm f32']!;
    const rel = (k: string) => (results[k]! - base) / base;
    assert.ok(base > 1 && base < 20, `f32 perplexity ${base} out of the plausible range`);
    assert.ok(Math.abs(rel('wasm f16')) < 1e-3, `fp16 changes perplexity by ${(100 * rel('wasm f16')).toFixed(3)}%`);
    assert.ok(Math.abs(rel('wasm q8')) < 1e-2, `Q8 changes perplexity by ${(100 * rel('wasm q8')).toFixed(3)}%`);
    assert.ok(Math.abs(results['js q8']! - results['wasm q8']!) < 1e-3 * base, 'Q8 on js and wasm agree');
  });
}

test.run();
