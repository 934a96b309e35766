// Writing models of shapes the shared folders do not have (random weights: GQA, head_dim apart
// from dim/heads, partial rotary, llama3 scaling, GGUF rope factors, soft-caps and
// query_pre_attn_scalar, biases everywhere, tied and untied, per-layer window patterns) as GGUF,
// as a Hugging Face folder and as llama2.c, then reading them back: the same logits (float32
// arithmetic), or a clear error naming what the target cannot state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '@msrnn/tensor';
import { modelFromBytes, modelFromFiles, modelFromWeights, parseGguf, type Model } from '../src/index.js';
import { compareLogits, modelToGguf, modelToHfFiles, modelToLlama2c } from '../src/export/index.js';
import { randomModel, SHAPES } from './random-model.js';

const TOKENS = [1, 7, 3, 22, 39, 0, 5, 5, 18, 11, 2, 30, 9, 14, 27, 8, 33, 21, 4, 6];

function same(a: Model, b: Model, what: string): void {
  const c = compareLogits(a, b, TOKENS);
  assert.ok(c.maxAbsDiff <= 1e-5 * Math.max(1, c.maxAbsLogit), `${what}: max |logit diff| ${c.maxAbsDiff}`);
}

/** `model` with per-layer windows (layer 0 windowed, layer 1 global: a pattern no family implies but gemma2's). */
const windowed = (model: Model, windows: number[]): Model =>
  modelFromWeights({ ...model.config, arch: { ...model.config.arch, slidingWindow: windows } }, model.weights, { source: 'windowed' });

for (const [name, shape] of Object.entries(SHAPES)) {
  test(`${name}: GGUF F32 and a Hugging Face folder read back with the same logits`, () => {
    const model = randomModel(shape, jsBackend, 7);
    same(model, modelFromBytes(modelToGguf(model).bytes, { source: 'gguf' }), `${name} as GGUF`);
    if (name === 'GGUF rope_freqs factors') {
      assert.throws(() => modelToHfFiles(model), /per-pair rope factors \(GGUF rope_freqs\) cannot be written in config\.json/);
    } else if (name.startsWith('gpt2')) {
      assert.throws(() => modelToHfFiles(model), /grouped-query attention \(2 KV heads for 4\) cannot be written as a gpt2 folder/);
      const mha = randomModel(shape, jsBackend, 7, { nKvHeads: 4 });
      same(mha, modelFromFiles(modelToHfFiles(mha), { source: 'folder' }), `${name} (4 KV heads) as a folder`);
    } else {
      same(model, modelFromFiles(modelToHfFiles(model), { source: 'folder' }), `${name} as a folder`);
    }
    if (name === 'llama (llama2.c)') same(model, modelFromBytes(modelToLlama2c(model)), 'as llama2.c');
    else assert.throws(() => modelToLlama2c(model), /cannot be written as a llama2\.c checkpoint/);
  });
}

test('windows: uniform, every other layer and other patterns survive GGUF (sliding_window[_pattern]) and folders (layer_types)', () => {
  for (const [name, windows] of [['llama', [5, 5]], ['llama', [5, Infinity]], ['llama', [Infinity, 5]], ['qwen2: q/k/v biases, half-layout RoPE, theta 1e6', [Infinity, 5]]] as const) {
    const base = randomModel(SHAPES[Object.keys(SHAPES).find((k) => k.startsWith(name))!]!, jsBackend, 3);
    const model = windowed(base, [...windows]);
    const gguf = modelToGguf(model).bytes;
    const meta = parseGguf(gguf, 'w').metadata;
    const arch = meta.string('general.architecture');
    assert.is(meta.integer(`${arch}.attention.sliding_window`), 5);
    assert.is(meta.has(`${arch}.attention.sliding_window_pattern`), windows.some((w) => w === Infinity), `${name} ${windows}`);
    same(model, modelFromBytes(gguf, { source: 'gguf' }), `${name} windows ${windows} as GGUF`);
    same(model, modelFromFiles(modelToHfFiles(model), { source: 'folder' }), `${name} windows ${windows} as a folder`);
  }
  const gpt2 = randomModel(SHAPES[Object.keys(SHAPES).find((k) => k.startsWith('gpt2'))!]!, jsBackend, 3);
  assert.throws(() => modelToGguf(windowed(gpt2, [5, 5])), /sliding windows cannot be written as a gpt2 GGUF/);
  const llama = randomModel(SHAPES['llama (llama2.c)']!, jsBackend, 3);
  assert.throws(() => modelToGguf(windowed(llama, [5, 6])), /layers with different sliding windows \(5, 6\) cannot be written as GGUF/);
  assert.throws(() => modelToLlama2c(windowed(llama, [5, 5])), /a mistral model cannot be written as a llama2\.c checkpoint/);
});

test.run();
