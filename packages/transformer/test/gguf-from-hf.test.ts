// GGUF files written from the HF fixture folders the way llama.cpp's converter writes them
// (./gguf/from-hf.ts) run to the HF fixtures' float64 reference: llama-tiny checks the q/k
// permutation to interleaved pairs and the llama3 rope_freqs tensor; stories260K a real llama;
// qwen2-tiny the q/k/v biases, NeoX (halves) rotation and, through the vocabulary the file
// carries, the prompt encoding; qwen3-tiny the q/k norms and key_length; phi3-tiny the fused
// attn_qkv / ffn_up and partial rotary; gemma2-tiny the `1 +` norms, post norms, soft-caps,
// alternating windows; gpt2-tiny learned positions, LayerNorm biases and the fused biased qkv.
// mistral-tiny is not here: llama.cpp's converter writes mistral as `llama` without its sliding
// window, so such a file cannot match the windowed reference.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsBackend } from '@msrnn/tensor';
import { argmax, createState, describeGgufLlama, GgufValueType as T, headDimOf, hfLayout, modelFromBytes, parseGguf, prefill, step, type Architecture, type Model } from '../src/index.js';
import type { GgufWriteValue } from '../src/export/index.js';
import { embeddedTokenizer } from '../src/tokenizers/index.js';
import { haveShared, jsAndWasm, maxAbsDiff, shared } from './shared.js';
import { ggufFromHfFolder, gpt2TokenizerMetadata } from './gguf/from-hf.js';

const folders = ['llama-tiny', 'stories260K', 'qwen2-tiny', 'qwen3-tiny', 'phi3-tiny', 'gemma2-tiny', 'gpt2-tiny'];
/** Byte-level BPE vocabularies the files carry (llama.cpp's gpt2 tokenizer model with its pre-tokenizer name). */
const BYTE_LEVEL_PRE: Record<string, string> = { 'qwen2-tiny': 'qwen2', 'qwen3-tiny': 'qwen2', 'gpt2-tiny': 'gpt2' };
const folder = (n: string) => resolve(shared, 'models/hf', n);
const fixture = (n: string) => resolve(shared, 'fixtures/hf', `${n}.json`);

if (haveShared('gguf from hf', ...folders.map(folder), ...folders.map(fixture))) {
  const backends = await jsAndWasm();
  for (const name of folders) {
    const fx = JSON.parse(readFileSync(fixture(name), 'utf8'));
    const bytes = ggufFromHfFolder(folder(name), BYTE_LEVEL_PRE[name] ? gpt2TokenizerMetadata(folder(name), BYTE_LEVEL_PRE[name]!) : []);
    for (const [backendName, backend] of backends) {
      test(`${name} as GGUF on ${backendName}: greedy token for token, logits within 1e-4 of the HF reference`, () => {
        const model = modelFromBytes(bytes, { backend, source: `${name}.gguf` });
        const tokenizer = embeddedTokenizer(model);
        let worst = 0;
        for (const run of fx.runs) {
          if (tokenizer) assert.equal(tokenizer.encode(run.prompt), run.prompt_tokens, 'prompt encoding');
          const state = createState(model);
          let logits = prefill(model, state, run.prompt_tokens);
          for (let s = 0; s < run.generated_tokens.length; s++) {
            const want = run.logits[String(s)];
            if (want) worst = Math.max(worst, maxAbsDiff(logits, want));
            assert.is(argmax(logits), run.generated_tokens[s], `${JSON.stringify(run.prompt)} step ${s}`);
            logits = step(model, state, run.generated_tokens[s]);
          }
        }
        assert.ok(worst < 1e-4, `max |logit diff| ${worst}`);
      });
    }
  }

  /**
   * An Architecture with its numbers to 6 digits (GGUF stores float32; gemma2's scalar is 1/scale²) and its RoPE
   * scaling reduced to presence: a llama3 rope_scaling is, in GGUF, the rope_freqs divisors
   * (their effect is checked by the logits above).
   */
  const comparable = (a: Architecture, layout?: 'interleaved'): unknown => {
    const positions = a.positions.kind === 'rope' ? { ...a.positions, scaling: a.positions.scaling !== null, ...(layout ? { layout } : {}) } : a.positions;
    return JSON.parse(JSON.stringify({ ...a, positions }, (_, v) => (typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(6)) : v)));
  };
  test('each GGUF maps onto the Architecture the HF loader builds (llama: interleaved pairs instead of halves)', () => {
    for (const name of folders) {
      const hf = hfLayout(JSON.parse(readFileSync(resolve(folder(name), 'config.json'), 'utf8')), name).config;
      const gg = describeGgufLlama(parseGguf(ggufFromHfFolder(folder(name)), name)).config;
      const llama = JSON.parse(readFileSync(resolve(folder(name), 'config.json'), 'utf8')).model_type === 'llama';
      assert.equal(comparable(gg.arch), comparable(hf.arch, llama ? 'interleaved' : undefined), name);
      assert.equal([gg.dim, gg.hiddenDim, gg.nLayers, gg.nHeads, gg.nKvHeads, gg.vocabSize, headDimOf(gg)], [hf.dim, hf.hiddenDim, hf.nLayers, hf.nHeads, hf.nKvHeads, hf.vocabSize, headDimOf(hf)], name);
    }
  });

  const drop = (key: string) => (m: GgufWriteValue[]) => m.filter(([k]) => k !== key);
  const set = (key: string, value: number) => (m: GgufWriteValue[]): GgufWriteValue[] => [...drop(key)(m), [key, T.UINT32, value]];
  const worstDiff = (model: Model, fx: { runs: { prompt_tokens: number[]; generated_tokens: number[]; logits: Record<string, number[]> }[] }): number => {
    let worst = 0;
    for (const run of fx.runs) {
      const state = createState(model);
      let logits = prefill(model, state, run.prompt_tokens);
      for (let s = 0; s < run.generated_tokens.length; s++) {
        const want = run.logits[String(s)];
        if (want) worst = Math.max(worst, maxAbsDiff(logits, want));
        logits = step(model, state, run.generated_tokens[s]!);
      }
    }
    return worst;
  };
  test('gemma2 as llama.cpp reads it: without attention.scale the score scale is 1/sqrt(head_dim), which this reference does not use', () => {
    const bytes = ggufFromHfFolder(folder('gemma2-tiny'), [], drop('gemma2.attention.scale'));
    assert.is(describeGgufLlama(parseGguf(bytes, 'g')).config.arch.queryPreAttnScalar, 16);
    const worst = worstDiff(modelFromBytes(bytes, { backend: jsBackend, source: 'g' }), JSON.parse(readFileSync(fixture('gemma2-tiny'), 'utf8')));
    assert.ok(worst > 1e-3, `query_pre_attn_scalar 24 vs head_dim 16 should change the logits, max diff ${worst}`);
    const noWindow = describeGgufLlama(parseGguf(ggufFromHfFolder(folder('gemma2-tiny'), [], drop('gemma2.attention.sliding_window')), 'g')).config.arch;
    assert.equal(noWindow.slidingWindow, [4096, Infinity, 4096], 'llama.cpp\'s default window, on the even layers');
  });
  test('phi3: attention.sliding_window 0 = no window; W > 0 windows every layer', () => {
    const cfg = (edit?: (m: GgufWriteValue[]) => GgufWriteValue[]) => describeGgufLlama(parseGguf(ggufFromHfFolder(folder('phi3-tiny'), [], edit), 'p')).config.arch;
    assert.is(cfg().slidingWindow, null);
    assert.equal(cfg(set('phi3.attention.sliding_window', 8)).slidingWindow, [8, 8]);
  });
}

test.run();
