// The bench's random GGUF files: llama.cpp's Q4_K_M choice per tensor, files the loader reads
// back in every weight mix with values in range, and written sizes as predicted.
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dequantizeRow, createWasmBackend } from '@msrnn/tensor';
import { createState, loadModel, prefill, step } from '@msrnn/transformer';
import { GGUF_WEIGHTS, randomGgufBytes, randomGgufTensors, writeRandomGguf, type ModelShape } from '../src/bench/random-gguf.js';

const wide: ModelShape = { model: 'test', dim: 256, hiddenDim: 512, nLayers: 8, nHeads: 4, nKvHeads: 2, vocabSize: 300, tied: false };
const narrow: ModelShape = { model: 'test', dim: 96, hiddenDim: 256, nLayers: 3, nHeads: 3, nKvHeads: 1, vocabSize: 70, tied: true };

const typeOf = (s: ModelShape, name: string) => {
  const t = randomGgufTensors(s, 'q4_k_m').find((x) => x.name === name)!;
  return typeof t.type === 'string' ? t.type : t.type.name;
};

test('q4_k_m: Q6_K for the classifier and for attn_v / ffn_down where llama.cpp uses more bits, Q4_K elsewhere', () => {
  // llama.cpp: use_more_bits(i, n) = i < n/8 || i >= 7*n/8 || (i - n/8) % 3 == 2 (integer division).
  const more = (i: number, n: number) => i < Math.trunc(n / 8) || i >= Math.trunc((7 * n) / 8) || (i - Math.trunc(n / 8)) % 3 === 2;
  for (let l = 0; l < wide.nLayers; l++) {
    const want = more(l, wide.nLayers) ? 'Q6_K' : 'Q4_K';
    assert.is(typeOf(wide, `blk.${l}.attn_v.weight`), want, `layer ${l} attn_v`);
    assert.is(typeOf(wide, `blk.${l}.ffn_down.weight`), want, `layer ${l} ffn_down`);
    for (const other of ['attn_q', 'attn_k', 'attn_output', 'ffn_gate', 'ffn_up']) assert.is(typeOf(wide, `blk.${l}.${other}.weight`), 'Q4_K');
  }
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7].filter((l) => more(l, 8)), [0, 3, 6, 7]);
  assert.is(typeOf(wide, 'output.weight'), 'Q6_K');
  assert.is(typeOf(wide, 'token_embd.weight'), 'Q4_K');
  assert.is(typeOf(wide, 'blk.0.attn_norm.weight'), 'F32');
});

test('q4_k_m: rows that are not whole 256-blocks fall back as llama.cpp does (Q4_K → Q5_0, Q6_K → Q8_0)', () => {
  assert.is(typeOf(narrow, 'blk.1.attn_q.weight'), 'Q5_0');
  assert.is(typeOf(narrow, 'blk.2.attn_v.weight'), 'Q8_0'); // use_more_bits(2, 3)
  assert.is(typeOf(narrow, 'blk.0.attn_v.weight'), 'Q5_0');
  assert.is(typeOf(narrow, 'token_embd.weight'), 'Q8_0'); // tied: the classifier's Q6_K
  assert.is(typeOf(narrow, 'blk.1.ffn_down.weight'), 'Q4_K'); // cols = hidden 256
});

test('every weight mix writes the predicted size, loads, holds values within ±0.05 and decodes finite logits (js and wasm)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-random-gguf-'));
  const wasm = await createWasmBackend({ threads: 1 });
  try {
    for (const shape of [wide, narrow]) {
      for (const weights of GGUF_WEIGHTS) {
        const path = join(dir, `${shape.dim}-${weights}.gguf`);
        writeRandomGguf(path, shape, weights);
        assert.is(statSync(path).size, randomGgufBytes(shape, weights), `${weights} size`);
        for (const backend of [undefined, wasm]) {
          const model = await loadModel(path, backend ? { backend } : {});
          assert.is(model.config.nLayers, shape.nLayers);
          for (const w of [model.weights.layers[0]!.q.weight, model.weights.layers[1]!.down.weight, model.weights.classifier.weight]) {
            const row = new Float32Array(w.cols);
            dequantizeRow(row, 0, w, w.rows - 1);
            const max = row.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
            assert.ok(max > 0.01 && max <= 0.0505, `${weights}: |w| reaches ${max}`);
          }
          const state = createState(model);
          prefill(model, state, [1, 2, 3, 4, 5]);
          const logits = step(model, state, 6);
          assert.ok(logits.subarray(0, shape.vocabSize).every(Number.isFinite), `${weights}: finite logits`);
        }
      }
    }
  } finally {
    await wasm.dispose();
  }
});

test.run();
