// policies.json reproduced on the WebAssembly SIMD backend: every policy's mean NLL within 1e-4
// and its kept positions exactly — so the wasm attention weights (polynomial exp, SIMD sums) are
// accurate enough for the eviction decisions (the fixture's closest call is a 3e-5 relative gap).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { createState, loadModel, step, type Model } from '@msrnn/transformer';
import { getPolicy } from '../src/index.js';

const shared = resolve(import.meta.dirname, '../../../../shared');
const fixturePath = resolve(shared, 'fixtures/stories260K/policies.json');
const modelPath = resolve(shared, 'models/stories260K.bin');

interface PolicyResult {
  mean_nll: number;
  kept_positions_per_layer?: number[][];
  kept_positions_per_layer_per_kv_head?: number[][][];
}

if (!existsSync(fixturePath) || !existsSync(modelPath)) {
  test('policies fixture on wasm', () => {
    if (process.env.CI) assert.unreachable(`missing ${fixturePath} or ${modelPath}`);
    console.warn(`wasm policies fixture test skipped: ../shared not found (${shared})`);
  });
} else {
  const fx = JSON.parse(readFileSync(fixturePath, 'utf8'));
  const tokens: number[] = fx.tokens;
  let backend: WasmBackend;
  let model: Model;
  test.before(async () => {
    backend = await createWasmBackend();
    model = await loadModel(modelPath, { backend });
  });

  for (const [name, ref] of Object.entries(fx.policies as Record<string, PolicyResult>)) {
    test(`wasm: ${name} at capacity ${fx.capacity} reproduces policies.json`, () => {
      const policy = getPolicy(name, { capacity: fx.capacity, sinks: fx.n_sinks });
      const state = createState(model, { capacity: policy.stateCapacity, policy });
      let sum = 0;
      for (let i = 0; i < tokens.length; i++) {
        const logits = step(model, state, tokens[i]!);
        if (i + 1 === tokens.length) break;
        let max = -Infinity;
        for (let j = 0; j < logits.length; j++) if (logits[j]! > max) max = logits[j]!;
        let z = 0;
        for (let j = 0; j < logits.length; j++) z += Math.exp(logits[j]! - max);
        sum += max + Math.log(z) - logits[tokens[i + 1]!]!;
      }
      const mean = sum / (tokens.length - 1);
      assert.ok(Math.abs(mean - ref.mean_nll) < 1e-4, `mean NLL ${mean} vs ${ref.mean_nll}`);
      if (ref.kept_positions_per_layer) assert.equal(state.keptPositions(), ref.kept_positions_per_layer);
      if (ref.kept_positions_per_layer_per_kv_head) assert.equal(state.keptPositionsPerHead(), ref.kept_positions_per_layer_per_kv_head);
    });
  }
}

test.run();
