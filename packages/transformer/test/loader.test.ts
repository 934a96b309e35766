// llama2.c checkpoints: v0 and v1 load identically; tied/untied classifiers; every bad input
// (truncated, absurd or inconsistent header, unknown version, bad token) fails with a clear error.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend, type WeightMatrix } from '@msrnn/tensor';
import {
  createState, loadModel, loadTokenizer, modelFromBytes, parameterCount, prefill, step, tokenizerFromBytes, type Model,
} from '../src/index.js';
import { haveShared, paths } from './shared.js';
import { randomTensors, tiny, writeV0, writeV1 } from './llama2c/build.js';

/** The float32 arrays of every tensor of a llama2.c-loaded model, in a fixed order (each an f32 view). */
function tensorViews(m: Model): Float32Array[] {
  const f32 = (w: WeightMatrix): Float32Array => {
    if (w.type !== 'f32') throw new Error(`expected f32 weights, got ${w.type}`);
    return w.data.subarray(w.offset, w.offset + w.rows * w.cols);
  };
  const w = m.weights;
  const views = [f32(w.tokenEmbedding)];
  for (const L of w.layers) {
    views.push(L.attnNorm.weight, f32(L.q.weight), f32(L.k.weight), f32(L.v.weight), f32(L.o.weight), L.ffnNorm.weight);
    views.push(f32(L.gate!.weight), f32(L.up.weight), f32(L.down.weight));
  }
  views.push(w.finalNorm.weight, f32(w.classifier.weight));
  return views;
}
const allFloats = (m: Model): number[] => tensorViews(m).flatMap((v) => Array.from(v));

const throwsWith = (fn: () => unknown, ...fragments: string[]): void => {
  try { fn(); } catch (err: any) {
    for (const f of fragments) assert.ok(String(err.message).includes(f), `error "${err.message}" should mention "${f}"`);
    return;
  }
  assert.unreachable(`expected an error mentioning ${fragments.join(', ')}`);
};

for (const tied of [true, false]) {
  test(`synthetic ${tied ? 'tied' : 'untied'} model: v0 and v1 give the same tensors and logits`, () => {
    const t = randomTensors(tiny, tied ? 7 : 8);
    const a = modelFromBytes(writeV0(tiny, t, tied), { source: 'a.bin' });
    const b = modelFromBytes(writeV1(tiny, t, tied), { source: 'b.bin' });
    assert.is(a.format, 'llama2.c v0');
    assert.is(b.format, 'llama2.c v1');
    assert.equal(a.config, b.config);
    assert.is(a.config.sharedClassifier, tied);
    assert.equal(allFloats(a), allFloats(b));
    assert.equal(tensorViews(a)[1 + 9 + 8], t.w2![1], 'layer 1 down projection (run.c w2)');
    assert.equal(tensorViews(a).at(-1), tied ? t.emb![0] : t.cls![0]);
    assert.is(a.weights.classifier.weight === a.weights.tokenEmbedding, tied);
    assert.is(parameterCount(a.weights), tensorViews(a).reduce((n, v) => n + v.length, 0) - (tied ? t.emb![0]!.length : 0));
    const la = step(a, createState(a), 5).slice();
    const lb = step(b, createState(b), 5);
    assert.equal(la, lb);
  });
}

test('every tensor is its own allocation made through the backend (so a quantized model can free the f32 originals)', () => {
  const calls: Float32Array[] = [];
  const backend = { ...jsBackend, alloc: (n: number) => { const a = new Float32Array(n); calls.push(a); return a; } };
  const t = randomTensors(tiny, 3);
  const m = modelFromBytes(writeV0(tiny, t, true), { backend });
  const views = [...new Map(tensorViews(m).map((v) => [v.buffer, v])).values()]; // the tied classifier is the embedding
  for (const v of views) assert.ok(calls.some((a) => a.buffer === v.buffer && a.length === v.length), 'a tensor that is not a whole allocation');
  assert.is(views.length, 2 + tiny.layers * 9, 'embedding, final norm and 9 tensors per layer, each on its own');
  assert.is(calls.slice(0, views.length).reduce((n, a) => n + a.length, 0), parameterCount(m.weights), 'the weights take exactly the parameters');
  const before = calls.length;
  const state = createState(m);
  assert.ok(calls.length > before, 'state storage is allocated through the backend too');
  step(m, state, 1);
});

test('absurd or inconsistent headers are rejected before allocating', () => {
  const t = randomTensors(tiny, 1);
  const good = writeV0(tiny, t, true);
  const patched = (index: number, value: number): Uint8Array => {
    const b = good.slice();
    new DataView(b.buffer).setInt32(index * 4, value, true);
    return b;
  };
  throwsWith(() => modelFromBytes(patched(0, 1 << 30), { source: 'huge.bin' }), 'huge.bin', 'dim');
  throwsWith(() => modelFromBytes(patched(0, 0), { source: 'zero.bin' }), 'zero.bin', 'dim must be a positive integer');
  throwsWith(() => modelFromBytes(patched(2, -3), { source: 'neg.bin' }), 'neg.bin', 'nLayers');
  throwsWith(() => modelFromBytes(patched(3, 5), { source: 'heads.bin' }), 'heads.bin', 'not divisible');
  throwsWith(() => modelFromBytes(patched(4, 3), { source: 'kv.bin' }), 'kv.bin', 'n_kv_heads');
  throwsWith(() => modelFromBytes(patched(6, 2_000_000_000), { source: 'seq.bin' }), 'seq.bin', 'seqLen');
  throwsWith(() => modelFromBytes(patched(6, 64), { source: 'size.bin' }), 'size.bin', 'file size', 'implies');
  throwsWith(() => modelFromBytes(good.subarray(0, good.length - 4), { source: 'cut.bin' }), 'cut.bin', 'truncated');
  throwsWith(() => modelFromBytes(good.subarray(0, 10), { source: 'tiny.bin' }), 'tiny.bin', 'too small');
  throwsWith(() => modelFromBytes(new Uint8Array(0), { source: 'empty.bin' }), 'empty.bin');
  const v1 = writeV1(tiny, t, true);
  const v2 = v1.slice();
  new DataView(v2.buffer).setInt32(4, 2, true);
  throwsWith(() => modelFromBytes(v2, { source: 'v2.bin' }), 'v2.bin', 'version 2');
  throwsWith(() => modelFromBytes(v1.subarray(0, 100), { source: 'v1cut.bin' }), 'v1cut.bin', 'header');
  const flag = v1.slice();
  flag[36] = 7;
  throwsWith(() => modelFromBytes(flag, { source: 'flag.bin' }), 'flag.bin', 'shared_classifier');
});

test('a NaN or infinite weight is a load error naming the file and the tensor', () => {
  const good = writeV0(tiny, randomTensors(tiny, 3), true);
  const withValue = (floatIndex: number, value: number): Uint8Array => {
    const b = good.slice();
    new DataView(b.buffer).setFloat32(28 + 4 * floatIndex, value, true);
    return b;
  };
  throwsWith(() => modelFromBytes(withValue(5, NaN), { source: 'nan.bin' }), 'nan.bin: tensor token embedding (F32) value 5 (row 0, column 5) is NaN — the file is corrupt');
  // v0 order: embedding, attNorm of every layer, then wq of every layer.
  const layer1wq3 = tiny.vocab * tiny.dim + tiny.layers * tiny.dim + tiny.dim * tiny.dim + 3;
  throwsWith(() => modelFromBytes(withValue(layer1wq3, -Infinity), { source: 'inf.bin' }), 'inf.bin: tensor layer 1 wq (F32) value 3 (row 0, column 3) is -Infinity');
  // A later row: its place in the tensor's rows of dim.
  throwsWith(() => modelFromBytes(withValue(layer1wq3 + 2 * tiny.dim, NaN), { source: 'nan.bin' }), `tensor layer 1 wq (F32) value ${2 * tiny.dim + 3} (row 2, column 3) is NaN`);
});

test('a file of another kind (PNG, zip, text, SentencePiece) is named as such, with the header error; GGUF bytes go to the GGUF reader', () => {
  const withMagic = (head: string): Uint8Array => {
    const b = new Uint8Array(4096).fill(0xee);
    for (let i = 0; i < head.length; i++) b[i] = head.charCodeAt(i);
    return b;
  };
  throwsWith(() => modelFromBytes(withMagic('GGUF\x03\x00\x00\x00'), { source: 'm.gguf' }), 'm.gguf: bad GGUF file: tensor count at byte 8:');
  throwsWith(() => modelFromBytes(withMagic('\x89PNG\r\n'), { source: 'a.png' }), 'a.png: it looks like a PNG image');
  throwsWith(() => modelFromBytes(withMagic('PK\x03\x04'), { source: 'm.pt' }), 'a zip archive');
  throwsWith(() => modelFromBytes(new TextEncoder().encode('# un README à lire\n'.repeat(40)), { source: 'README.md' }), 'README.md: it looks like a text file');
  throwsWith(() => tokenizerFromBytes(withMagic('\x0a\x85\x02\x0a'), 'tokenizer.model'), 'tokenizer.model: it looks like a protobuf file (a SentencePiece tokenizer.model?), not a llama2.c tokenizer.bin');
  // Random bytes look like nothing in particular: the header error, then what would load.
  throwsWith(() => modelFromBytes(withMagic(''), { source: 'junk.bin' }), 'junk.bin: invalid model header', 'recognised model formats: GGUF v2/v3 (magic "GGUF"), llama2.c checkpoints (v1 with magic "ak42", or the legacy v0 header) and Hugging Face folders (config.json + model.safetensors)');
  const safetensors = new Uint8Array(64).fill(0x20);
  safetensors.set([48, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x7d]);
  throwsWith(() => modelFromBytes(safetensors, { source: 'model.safetensors' }), 'model.safetensors: it looks like a safetensors file', 'load the Hugging Face folder it belongs to (config.json beside it)');
});

test('bytes may be a Uint8Array or an ArrayBuffer; anything else is a TypeError', async () => {
  const bytes = writeV0(tiny, randomTensors(tiny, 4), true);
  const fromBuffer = await loadModel(bytes.slice().buffer);
  assert.equal(allFloats(fromBuffer), allFloats(modelFromBytes(bytes)));
  for (const bad of [null, [1, 2, 3], 42, new Float32Array(8)]) {
    try { await loadModel(bad as any); assert.unreachable(); } catch (e: any) {
      assert.instance(e, TypeError);
      assert.match(e.message, 'expected a file path, a Uint8Array or an ArrayBuffer');
    }
    throwsWith(() => tokenizerFromBytes(bad as any), 'tokenizer', 'expected a file path');
  }
});

test('token ids out of range are clear errors', () => {
  const m = modelFromBytes(writeV0(tiny, randomTensors(tiny, 2), true), { source: 'm.bin' });
  const s = createState(m);
  for (const bad of [-1, 300, 1.5, NaN]) throwsWith(() => step(m, s, bad), 'out of range', 'm.bin');
  throwsWith(() => step(m, s, '5' as any), 'token "5" (a string) is out of range');
  throwsWith(() => prefill(m, s, [1, 2, 999]), '[2]', '999', 'out of range');
  throwsWith(() => prefill(m, s, []), 'no tokens');
  assert.is(s.seen, 0, 'rejected input leaves the state untouched');
});

test('missing files name the path', async () => {
  try { await loadModel('/nonexistent/model.bin'); assert.unreachable(); } catch (e: any) { assert.match(e.message, '/nonexistent/model.bin'); }
  try { await loadTokenizer('/nonexistent/tok.bin'); assert.unreachable(); } catch (e: any) { assert.match(e.message, '/nonexistent/tok.bin'); }
});

test('a model file over 2 GiB is read by its header; weights over the backend memory are refused before any allocation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-loader-'));
  const wasm = await createWasmBackend();
  try {
    // Sparse files: nothing is written or read but the header.
    const zeros = join(dir, 'zeros.bin');
    writeFileSync(zeros, '');
    truncateSync(zeros, 2 ** 31 + 4);
    try { await loadModel(zeros); assert.unreachable(); } catch (e: any) { assert.match(e.message, /zeros\.bin: invalid model header: dim must be a positive integer, got 0/); }
    // A tokenizer is read whole, so there Node's single-read limit still applies.
    try { await loadTokenizer(zeros); assert.unreachable(); } catch (e: any) { assert.match(e.message, /zeros\.bin: larger than 2 GiB/); }
    // A Llama-2-7B-shaped llama2.c v1 header over a file of exactly the size it implies (27 GB of f32).
    const g = { dim: 4096, hidden: 11008, layers: 32, heads: 32, kvHeads: 32, vocab: 32000, seqLen: 2048 };
    const floats = 2 * g.vocab * g.dim + g.layers * (2 * g.dim + 4 * g.dim * g.dim + 3 * g.dim * g.hidden) + g.dim;
    const big = join(dir, 'big.bin');
    writeFileSync(big, writeV1({ ...g }, { attNorm: [], ffnNorm: [], final: [], emb: [], wq: [], wk: [], wv: [], wo: [], w1: [], w2: [], w3: [], cls: [] }, false));
    truncateSync(big, 256 + floats * 4);
    const used = wasm.heap.usedBytes;
    try { await loadModel(big, { backend: wasm }); assert.unreachable(); } catch (e: any) {
      assert.match(e.message, new RegExp(`big\\.bin: the model's weights need ${Math.round(floats * 4 / 2 ** 20)} MiB but the wasm backend's memory has room for \\d+ MiB`));
    }
    assert.is(wasm.heap.usedBytes, used, 'nothing was allocated');
    try { await loadModel(big); assert.unreachable(); } catch (e: any) { assert.match(e.message, /big\.bin: the model's weights need \d+ MiB, more than the 4096 MiB the js backend holds/); }
  } finally {
    rmSync(dir, { recursive: true });
    await wasm.dispose();
  }
});

if (haveShared('loader', paths.model, paths.modelV1, paths.tokenizer)) {
  test('stories260K: v0 and v1 files load identical weights', async () => {
    const v0 = await loadModel(paths.model);
    const v1 = await loadModel(paths.modelV1);
    assert.equal(v0.config, v1.config);
    assert.equal(allFloats(v0), allFloats(v1));
    assert.equal(v0.config.dim, 64);
    assert.equal(v0.config.nKvHeads, 4);
  });

  test('tokenizer: truncated or corrupt files are clear errors', () => {
    const bytes = new Uint8Array(readFileSync(paths.tokenizer));
    const tok = tokenizerFromBytes(bytes, 'tok512.bin', 512);
    assert.is(tok.vocabSize, 512);
    throwsWith(() => tokenizerFromBytes(bytes, 'tok512.bin', 32000), 'tok512.bin', '512 pieces', '32000');
    throwsWith(() => tokenizerFromBytes(bytes.subarray(0, bytes.length - 3), 'cut.bin'), 'cut.bin', 'truncated');
    throwsWith(() => tokenizerFromBytes(bytes.subarray(0, 2), 'tiny.bin'), 'tiny.bin', 'too small');
    const bad = bytes.slice();
    new DataView(bad.buffer).setInt32(4 + 4, 1 << 20, true); // first piece's length
    throwsWith(() => tokenizerFromBytes(bad, 'len.bin'), 'len.bin', 'length');
    const badMax = bytes.slice();
    new DataView(badMax.buffer).setInt32(0, -1, true);
    throwsWith(() => tokenizerFromBytes(badMax, 'max.bin'), 'max.bin', 'max_token_length');
  });
}

test.run();
