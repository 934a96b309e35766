// GGUF models on the wasm backend keep their Q5_0, Q6_K and Q4_K matrices and a Q8_0 classifier in the four-rows layout
// (@msrnn/tensor quant/rows4.ts, repacked at load; an untied token embedding, only looked up, stays
// in the file's layout): the decode's logits are bit for bit those of
// the same weights put back into ggml's plain layout, and the state fingerprint hashes the file's
// bytes, so it equals the js backend's (a state saved on one backend restores on the other).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GGML, createWasmBackend, jsBackend, unpackRow4, type GgmlWeights, type WeightMatrix } from '@msrnn/tensor';
import { argmax, createState, loadModel, modelFingerprint, modelFromWeights, step, type Model } from '../src/index.js';
import { haveShared, shared } from './shared.js';

const names = ['stories260K-Q8_0', 'stories260K-Q4_K', 'random256-Q5_0', 'random256-Q8_0', 'random256-Q6_K', 'random256-Q4_K']; // (stories260K-Q4_K is Q5_0 in the file)
const gguf = (n: string) => resolve(shared, 'models/gguf', `${n}.gguf`);

/** Every projection and the embedding of the model. */
function matrices(model: Model): WeightMatrix[] {
  const w = model.weights;
  return [w.tokenEmbedding, w.classifier.weight, ...w.layers.flatMap((L) => [L.q, L.k, L.v, L.o, L.gate, L.up, L.down].flatMap((x) => (x ? [x.weight] : [])))];
}

/** Puts a repacked matrix's rows back into the plain layout, in place, and marks it plain. */
function unpackInPlace(w: GgmlWeights): void {
  const group = new Uint8Array(4 * w.rowBytes);
  for (let g = 0; g < w.rows; g += 4) {
    for (let k = 0; k < 4; k++) unpackRow4(w.ggmlType, w.data, w.cols, g + k, group.subarray(k * w.rowBytes, (k + 1) * w.rowBytes));
    w.data.set(group, g * w.rowBytes);
  }
  delete w.layout;
}

/** 24 greedy steps' logits, concatenated. */
function decode(model: Model): number[] {
  const state = createState(model), out: number[] = [];
  let token = 1;
  for (let i = 0; i < 24; i++) { const logits = step(model, state, token); out.push(...logits); token = argmax(logits); }
  return out;
}

if (haveShared('gguf models', ...names.map(gguf))) {
  const wasm = await createWasmBackend({ threads: 1 });
  test.after(async () => { await wasm.dispose(); });
  for (const n of names) {
    test(`${n}: repacked on wasm, the plain layout's logits bit for bit; fingerprint as on js`, async () => {
      const bytes = readFileSync(gguf(n));
      const model = await loadModel(bytes, { backend: wasm, source: n }), onJs = await loadModel(bytes, { backend: jsBackend, source: n });
      const packed = [...new Set(matrices(model))].filter((w): w is GgmlWeights => w.type === 'ggml' && w.layout === 'rows4');
      assert.ok(packed.length > 0, 'some matrices repacked');
      if (n.endsWith('Q4_K')) assert.ok(packed.some((w) => w.ggmlType === GGML.Q4_K) === n.startsWith('random'), 'Q4_K matrices repacked (stories260K-Q4_K has none: its rows are not 256-multiples)');
      assert.ok(matrices(onJs).every((w) => w.type !== 'ggml' || w.layout === undefined), 'nothing repacked on js');
      // stories260K ties its classifier to the embedding (the files have no output.weight), random256 does not.
      const { tokenEmbedding, classifier } = model.weights, tied = tokenEmbedding === classifier.weight;
      assert.is(tied, n.startsWith('stories260K'), 'tied classifier');
      assert.is(classifier.weight.type === 'ggml' && classifier.weight.layout, 'rows4', 'the classifier repacked');
      assert.is(tokenEmbedding.type === 'ggml' && tokenEmbedding.layout, tied ? 'rows4' : undefined, tied ? 'the tied embedding repacked' : 'the untied embedding (only looked up) left plain');
      assert.equal(modelFingerprint(model), modelFingerprint(onJs));
      // Rebuilt from its weights (modelFromWeights scans them for Inf/NaN): the layout is read as
      // its rows, so the repacked bytes pass, and a NaN scale is found in the row it belongs to.
      modelFromWeights(model.config, model.weights, { backend: wasm, source: 'again' });
      for (const type of new Set(packed.map((p) => p.ggmlType))) { // one matrix of each repacked type
        const w = packed.find((p) => p.ggmlType === type)!, scale = w.data[2 * 2 + 1]!;   // row 2's first f16 scale, high byte (a group block starts with the four rows' f16 d)
        w.data[2 * 2 + 1] = 0x7e;
        assert.throws(() => modelFromWeights(model.config, model.weights, { backend: wasm, source: "again" }), /block \d+ \(row 2, columns 0–(31|255)\) has scale d = NaN/);
        w.data[2 * 2 + 1] = scale;
      }
      const repacked = decode(model);
      for (const w of packed) unpackInPlace(w);
      const plain = decode(model);
      assert.is(repacked.length, plain.length);
      for (let i = 0; i < plain.length; i++) if (!Object.is(repacked[i], plain[i])) assert.unreachable(`logit ${i}: ${repacked[i]} repacked vs ${plain[i]} plain`);
      model.dispose();
    });
  }
}

test.run();
