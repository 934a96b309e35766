// loadModel on GGUF bytes: the format is found from the bytes and named; weights stay in their
// file types (views of the caller's bytes on the js backend, one copy in wasm memory); a file
// llama.cpp's own tools wrote loads and runs; the model a llama GGUF holds equals the same weights
// given as llama2.c (the GGUF tensor layout is llama2.c's, rows = output features).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, weightBytes } from '@msrnn/tensor';
import { createState, loadModel, modelFromBytes, prefill, step } from '../src/index.js';
import { haveShared, maxAbsDiff, paths, shared } from './shared.js';
import { tinyLlamaGguf } from './gguf/build.js';

const tinyRandom = resolve(shared, 'models/llama-2-tiny-random.gguf');
const storiesF32 = resolve(shared, 'models/gguf/stories260K-F32.gguf');
const storiesQ4 = resolve(shared, 'models/gguf/stories260K-Q4_0.gguf');

if (haveShared('gguf load', tinyRandom, storiesF32, storiesQ4, paths.model)) {
  test('stories260K: the F32 GGUF gives the llama2.c checkpoint\'s logits (same weights, same layout)', async () => {
    const fromGguf = await loadModel(storiesF32);
    const fromBin = await loadModel(paths.model);
    assert.is(fromGguf.format, 'GGUF v3 llama: F32 ×47');
    assert.is(fromBin.format, 'llama2.c v0');
    const tokens = [1, 403, 407, 261, 378, 432, 383, 286];
    const a = prefill(fromGguf, createState(fromGguf), tokens);
    const b = prefill(fromBin, createState(fromBin), tokens);
    assert.ok(maxAbsDiff(a, b) < 1e-5, `max diff ${maxAbsDiff(a, b)}`);
  });

  test('weights stay quantized: views of the file on js, a copy in wasm memory; memory ≈ the file', async () => {
    const bytes = readFileSync(storiesQ4);
    const js = modelFromBytes(bytes, { source: 'q4' });
    const q = js.weights.layers[0]!.q.weight;
    assert.is(q.type, 'ggml');
    assert.ok(q.type === 'ggml' && q.data.buffer === bytes.buffer, 'a view of the caller\'s bytes');
    const wasm = await createWasmBackend({ threads: 1 });
    try {
      const wq = modelFromBytes(bytes, { backend: wasm }).weights.layers[0]!.q.weight;
      assert.ok(wq.type === 'ggml' && wq.data.buffer !== bytes.buffer, 'copied into the wasm heap');
    } finally { await wasm.dispose(); }
    const w = js.weights;
    let total = weightBytes(w.tokenEmbedding);
    for (const L of w.layers) for (const lin of [L.q, L.k, L.v, L.o, L.gate!, L.up, L.down]) total += weightBytes(lin.weight);
    assert.ok(total < bytes.length, `${total} bytes of matrices in a ${bytes.length}-byte file`);
  });

  test('llama-2-tiny-random.gguf (written by llama.cpp) loads and runs on both backends', async () => {
    const bytes = readFileSync(tinyRandom);
    const wasm = await createWasmBackend({ threads: 1 });
    try {
      const outs = [];
      for (const backend of [jsBackend, wasm]) {
        const model = modelFromBytes(bytes, { backend, source: 'tiny' });
        assert.is(model.format, 'GGUF v3 llama: F16 ×9, F32 ×3');
        assert.equal([model.config.dim, model.config.nLayers, model.config.vocabSize, model.config.sharedClassifier], [8, 1, 32000, false]);
        const state = createState(model);
        let logits = prefill(model, state, [1, 450, 4996]);
        logits = step(model, state, 17354).slice();
        assert.ok(logits.every(Number.isFinite));
        outs.push(logits);
      }
      assert.ok(maxAbsDiff(outs[0]!, outs[1]!) < 1e-4);
    } finally { await wasm.dispose(); }
  });
}

test('loadModel takes a Blob (a browser File) as well as bytes; the File\'s name is the source', async () => {
  const bytes = tinyLlamaGguf();
  const fromBlob = await loadModel(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  const fromBytes = await loadModel(bytes);
  const tokens = [1, 5, 9];
  assert.equal(Array.from(prefill(fromBlob, createState(fromBlob), tokens)), Array.from(prefill(fromBytes, createState(fromBytes), tokens)));
  assert.is(fromBlob.source, '<blob>');
  const named = await loadModel(new File([tinyLlamaGguf({ architecture: 'mamba' }) as Uint8Array<ArrayBuffer>], 'dropped.gguf')).then(() => null, (e: Error) => e);
  assert.match(String(named?.message), /^dropped\.gguf: GGUF architecture "mamba"/);
});

test('loadModel names what is wrong with a GGUF it cannot run', async () => {
  const error = await loadModel(tinyLlamaGguf({ architecture: 'mamba' }), { source: 'm.gguf' }).then(() => null, (e: Error) => e);
  assert.match(String(error?.message), /m\.gguf: GGUF architecture "mamba" is not supported \(supported: llama, qwen2, qwen3, phi3, gemma2, gpt2\)/);
  assert.throws(() => modelFromBytes(tinyLlamaGguf({ architecture: 'mamba' }), { source: 'm.gguf' }), /m\.gguf: GGUF architecture "mamba" is not supported \(supported: llama, qwen2, qwen3, phi3, gemma2, gpt2\)/);
  assert.throws(() => modelFromBytes(tinyLlamaGguf({ types: { 'blk.1.ffn_up.weight': 'I8' } }), { source: 't.gguf' }), /t\.gguf: tensor blk\.1\.ffn_up\.weight: ggml type I8 \(id 24\) is not supported/);
  assert.throws(() => modelFromBytes(tinyLlamaGguf().subarray(0, 500), { source: 'cut.gguf' }), /cut\.gguf: bad GGUF file: .* at byte \d+: .*truncated/);
});

test('a tiny GGUF with GQA, untied output and rope_freqs runs; the factors change the logits', () => {
  const tokens = [1, 5, 9, 30, 2];
  const run = (bytes: Uint8Array) => { const m = modelFromBytes(bytes); return prefill(m, createState(m), tokens).slice(); };
  const plain = run(tinyLlamaGguf({ heads: 4, kvHeads: 1, tied: false }));
  const unit = run(tinyLlamaGguf({ heads: 4, kvHeads: 1, tied: false, ropeFreqs: Float32Array.of(1, 1) }));
  const scaled = run(tinyLlamaGguf({ heads: 4, kvHeads: 1, tied: false, ropeFreqs: Float32Array.of(1, 8) }));
  assert.ok(plain.every(Number.isFinite));
  assert.is(maxAbsDiff(plain, unit), 0);
  assert.ok(maxAbsDiff(plain, scaled) > 1e-4);
});

test.run();
