// inspectModelBytes: a GGUF file's report agrees with its fixture (tensors, types, sizes, config,
// tokenizer); a llama2.c report's parameter count agrees with a loaded model; an unsupported architecture is reported, not thrown.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { weightBytes } from '@msrnn/tensor';
import { GgufValueType as T, inspectModelBytes, loadModel, parameterCount } from '../src/index.js';
import { writeGguf } from '../src/export/index.js';
import { haveShared, paths, shared } from './shared.js';
import { tinyLlamaGguf } from './gguf/build.js';
import { randomTensors, tiny, writeV0, writeV1 } from './llama2c/build.js';
import { streamedSource } from './fuzz.js';
import { inspectModelSource } from '../src/inspect.js';

const q4k = resolve(shared, 'models/gguf/stories260K-Q4_K.gguf');
const q4kFixture = resolve(shared, 'fixtures/gguf/stories260K-Q4_K.json');

if (haveShared('inspect', q4k, q4kFixture, paths.model, paths.modelV1)) {
  test('GGUF: tensors, types, sizes, parameters, config and tokenizer as the fixture records', () => {
    const fx = JSON.parse(readFileSync(q4kFixture, 'utf8'));
    const r = inspectModelBytes(readFileSync(q4k), 'q4k');
    assert.is(r.format, 'GGUF v3');
    assert.is(r.architecture, 'llama');
    assert.is(r.name, 'stories260K');
    assert.ok(r.supported);
    assert.equal(r.tensors.map((t) => [t.name, t.type, t.shape, t.bytes]), fx.tensors.map((t: any) => [t.name, t.type, t.ne, t.nbytes]));
    assert.is(r.parameters, fx.tensors.reduce((a: number, t: any) => a + t.ne.reduce((x: number, y: number) => x * y, 1), 0));
    assert.is(r.weightBytes, fx.tensors.reduce((a: number, t: any) => a + t.nbytes, 0));
    assert.is(r.config!.nKvHeads, fx.config.n_kv_heads);
    assert.is(r.hyperparameters['attention.layer_norm_rms_epsilon'], 1e-5);
    assert.is(r.tokenizer.size, 512);
    assert.equal(r.tokenizer.special.map((s) => [s.role, s.id, s.piece]), [['bos', 1, '<s>'], ['eos', 2, '</s>'], ['unknown', 0, '<unk>']]);
    assert.equal([r.tokenizer.addBos, r.tokenizer.addEos, r.tokenizer.chatTemplate], [true, false, false]);
    assert.equal(r.tokenizer.controlTokens, [{ id: 1, piece: '<s>' }, { id: 2, piece: '</s>' }]);
  });

  test('GGUF: the weight memory reported is what the loaded model holds (matrices in their types, float32 norms)', async () => {
    const bytes = readFileSync(q4k);
    const w = (await loadModel(bytes)).weights;
    let held = weightBytes(w.tokenEmbedding) + w.finalNorm.weight.byteLength;
    for (const L of w.layers) {
      held += L.attnNorm.weight.byteLength + L.ffnNorm.weight.byteLength;
      for (const lin of [L.q, L.k, L.v, L.o, L.gate!, L.up, L.down]) held += weightBytes(lin.weight);
    }
    assert.is(inspectModelBytes(bytes, 'q4k').weightBytes, held);
  });

  // (State bytes against a real state: packages/cli/test/inspect.test.ts, where the policies are.)
  test('llama2.c v0 and v1: parameters and weight bytes of the loaded model', async () => {
    for (const p of [paths.model, paths.modelV1]) {
      const r = inspectModelBytes(readFileSync(p), p);
      const model = await loadModel(p);
      assert.is(r.parameters, parameterCount(model.weights), p);
      assert.is(r.weightBytes, 4 * parameterCount(model.weights), p);
    }
  });
}

test('GGUF: chat template and merges are reported; an unsupported architecture is a report, not an error', () => {
  const r = inspectModelBytes(tinyLlamaGguf({
    architecture: 'phi2',
    extra: [['tokenizer.chat_template', T.STRING, '{{ messages }}'], ['tokenizer.ggml.merges', T.ARRAY, { elementType: T.STRING, values: ['a b', 'ab c'] }]],
  }), 'q');
  assert.is(r.supported, false);
  assert.match(r.unsupportedReason!, /architecture "phi2" is not supported \(supported: llama, qwen2, qwen3, phi3, gemma2, gpt2\)/);
  assert.equal([r.tokenizer.chatTemplate, r.tokenizer.merges], [true, 2]);
  assert.is(r.stateBytesPerEntry, null);
  assert.is(r.hyperparameters['block_count'], 2);
  assert.throws(() => inspectModelBytes(writeGguf([], []), 'empty'), /empty: GGUF metadata has no general\.architecture/);
});

test('inspecting a byte source reads the header only and reports what inspecting the bytes does', async () => {
  const t = randomTensors(tiny, 3);
  for (const file of [tinyLlamaGguf({ vocab: 300 }), writeV0(tiny, t, false), writeV1(tiny, t, true)]) {
    let read = 0;
    const src = streamedSource(file, 'x.bin');
    const counting = { ...src, read: (o: number, into: Uint8Array) => { read += into.length; return src.read(o, into); } };
    assert.equal(await inspectModelSource(counting), inspectModelBytes(file, 'x.bin'));
    // (a GGUF header is read from a 1 MiB prefix: all of a file this small)
    if (!file.subarray(0, 4).every((b, i) => b === 'GGUF'.charCodeAt(i))) assert.ok(read <= 256, `read ${read} of a llama2.c file's ${file.length} bytes`);
  }
});

test.run();
