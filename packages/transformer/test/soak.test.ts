// The CI-sized soak (bench/soak.ts runs 100,000 tokens by hand): 5,000 tokens of bounded
// generation (TOVA, k = 128) on the default model. The state's bytes are constant and equal to
// what stateBytes computes for its geometry and policy, the wasm heap's live bytes do not move
// (nothing is allocated per token), resident memory stays sane, and a NaN logit stops the run
// naming its position.
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stateBytes } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend, jsBackend } from '@msrnn/tensor';
import { headDimOf, loadModel } from '../src/index.js';
import { soak } from '../bench/soak-loop.js';

const modelPath = resolve(import.meta.dirname, '../../../models/default/model.bin');

test('5,000 tokens of TOVA k=128 on the default model: state bytes and wasm heap constant, no NaN, RSS sane', async () => {
  const wasm = await createWasmBackend();
  try {
    const model = await loadModel(modelPath, { backend: wasm });
    const c = model.config;
    const expected = stateBytes({ nLayers: c.nLayers, nKvHeads: c.nKvHeads, headDim: headDimOf(c) }, getPolicy('tova', { capacity: 128 }));
    const rows = soak(model, { tokens: 5000, every: 1000, capacity: 128, seed: 7 });
    assert.is(rows.length, 5);
    for (const r of rows) {
      assert.is(r.stateBytes, expected, `state bytes at ${r.tokens} tokens`);
      assert.is(r.heapUsedBytes, rows[0]!.heapUsedBytes, `wasm heap live bytes at ${r.tokens} tokens`);
      assert.ok(r.cpuTokPerSec > 0 && Number.isFinite(r.cpuTokPerSec));
    }
    const growth = rows.at(-1)!.rssBytes - rows[0]!.rssBytes;
    assert.ok(growth < 32 * 2 ** 20, `RSS grew ${(growth / 2 ** 20).toFixed(1)} MiB over 4,000 tokens`);
    model.dispose();
  } finally {
    await wasm.dispose();
  }
});

test('a NaN logit stops the soak, naming the position', async () => {
  const model = await loadModel(modelPath, { backend: jsBackend });
  model.weights.finalNorm.weight[0] = NaN;
  assert.throws(() => soak(model, { tokens: 10, every: 5, capacity: 8, seed: 1 }), /soak: logit \d+ at position 0 is NaN/);
  assert.throws(() => soak(model, { tokens: 10, every: 0, capacity: 8, seed: 1 }), /every must be a positive integer/);
});

test.run();
