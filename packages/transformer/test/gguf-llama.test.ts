// GGUF llama files → hyperparameters and tensors: the shared files' configs; GQA, tied/untied
// classifiers, RoPE base and scaling; and a clear error for each way a file can fail to be a llama model.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GgufValueType as T, describeGgufLlama, headDimOf, parseGguf, type ModelConfig, type RopePositionSpec } from '../src/index.js';
import { haveShared, shared } from './shared.js';
import { tinyLlamaGguf } from './gguf/build.js';

const names = ['stories260K-Q4_K', 'random256-Q6_K', 'random256-BF16'];
const gguf = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);
const fixture = (n: string) => resolve(shared, 'fixtures/gguf', `${n}.json`);

if (haveShared('gguf llama', ...names.map(gguf), ...names.map(fixture))) {
  test('shared files: config from the metadata equals the fixture config; tied and untied classifiers', () => {
    for (const n of names) {
      const fx = JSON.parse(readFileSync(fixture(n), 'utf8'));
      const layout = describeGgufLlama(parseGguf(readFileSync(gguf(n)), n));
      const c = layout.config;
      assert.equal(
        { dim: c.dim, hidden_dim: c.hiddenDim, n_layers: c.nLayers, n_heads: c.nHeads, n_kv_heads: c.nKvHeads, vocab_size: c.vocabSize, seq_len: c.seqLen },
        fx.config, n,
      );
      assert.is(Math.fround(c.normEps), Math.fround(1e-5));
      assert.equal(c.arch.positions, { kind: 'rope', theta: 10000, layout: 'interleaved', rotaryDim: null, scaling: null });
      assert.is(c.sharedClassifier, n.startsWith('stories'), n);
      assert.is(layout.classifier.name, n.startsWith('stories') ? 'token_embd.weight' : 'output.weight');
      assert.is(layout.layers.at(-1)!.down.weight.tensor.name, n.startsWith('stories') ? 'blk.4.ffn_down.weight' : 'blk.1.ffn_down.weight');
    }
  });
}

test('tiny files: GQA geometry, rope base, untied output, rope_freqs and linear scaling, head size apart from dim', () => {
  const l = describeGgufLlama(parseGguf(tinyLlamaGguf({ heads: 4, kvHeads: 1, tied: false }), 't'));
  const rope = (c: ModelConfig) => c.arch.positions as RopePositionSpec;
  assert.equal([l.config.nHeads, l.config.nKvHeads, headDimOf(l.config), rope(l.config).theta, l.config.sharedClassifier], [4, 1, 4, 500000, false]);
  assert.equal(l.layers[0]!.k.weight.tensor.dims, [16, 4]);
  const freqs = describeGgufLlama(parseGguf(tinyLlamaGguf({ ropeFreqs: Float32Array.of(1, 8) }), 't'));
  assert.equal(rope(freqs.config).scaling, { type: 'factors', factors: Float64Array.of(1, 8) });
  const linear = describeGgufLlama(parseGguf(tinyLlamaGguf({ extra: [['llama.rope.scaling.type', T.STRING, 'linear'], ['llama.rope.scaling.factor', T.FLOAT32, 4]] }), 't'));
  assert.equal(rope(linear.config).scaling, { type: 'factors', factors: Float64Array.of(4, 4) });
  const partial = describeGgufLlama(parseGguf(tinyLlamaGguf({ override: { 'llama.rope.dimension_count': 2 } }), 't'));
  assert.is(rope(partial.config).rotaryDim, 2);
});

test('not a llama model: each failure names what is wrong', () => {
  const cases: [Uint8Array, RegExp][] = [
    [tinyLlamaGguf({ architecture: 'mamba' }), /t: GGUF architecture "mamba" is not supported \(supported: llama, qwen2, qwen3, phi3, gemma2, gpt2\)/],
    [tinyLlamaGguf({ dropTensor: 'blk.1.ffn_up.weight' }), /missing tensor blk\.1\.ffn_up\.weight/],
    [tinyLlamaGguf({ architecture: 'qwen2' }), /missing tensor blk\.0\.attn_q\.bias \(a qwen2 model needs it\)/],
    [tinyLlamaGguf({ override: { 'llama.block_count': 1 } }), /tensors blk\.1\.attn_norm\.weight, .* and 4 more not part of a llama model with 1 layers/],
    [tinyLlamaGguf({ override: { 'llama.feed_forward_length': 48 } }), /tensor blk\.0\.ffn_gate\.weight has shape \[16, 32\], expected \[16, 48\]/],
    [tinyLlamaGguf({ types: { 'blk.0.attn_q.weight': 'I32' } }), /tensor blk\.0\.attn_q\.weight: ggml type I32 \(id 26\) is not supported \(supported: F32, F16/],
    [tinyLlamaGguf({ types: { 'output_norm.weight': 'Q8_0' }, dim: 32, heads: 4 }), /output_norm\.weight is Q8_0; a norm weight or bias must be F32, F16 or BF16/],
    [tinyLlamaGguf({ ropeFreqs: Float32Array.of(1, 2, 3) }), /rope_freqs\.weight must be F32 \[2\], got F32 \[3\]/],
    [tinyLlamaGguf({ extra: [['llama.rope.scaling.type', T.STRING, 'yarn']] }), /llama\.rope\.scaling\.type "yarn" is not supported/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => describeGgufLlama(parseGguf(bytes, 't')), message);
});

test.run();
