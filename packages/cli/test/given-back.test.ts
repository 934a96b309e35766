// ppl and trace give back what each evaluation takes: scoring chunks and recording traces over and
// over on one wasm model leaves the heap's live bytes where the first evaluation left them (each
// takes a state and, under sentinels, a vocab-sized logits buffer; without giving them back a
// sweep of thousands of chunk runs would fill the heap).
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend } from '@msrnn/tensor';
import { loadModel } from '@msrnn/transformer';
import { scoreJob } from '../src/ppl/evaluate.js';
import type { SweepInput } from '../src/ppl/jobs.js';
import { parseSentinelSpec, spanRuleFor } from '../src/sentinel/spec.js';
import { recordTrace } from '../src/trace/record.js';

// The repo's tiny sentinel model (vocab 64, <CL> 62, <CR> 63): no ../shared needed.
const tinyPath = resolve(import.meta.dirname, 'fixtures/sentinel-tiny.bin');
const ids = { cl: 62, cr: 63 };
const tokens = Array.from({ length: 40 }, (_, i) => (i * 7 + 3) % 60 + 1);

test('repeated ppl chunk runs and traces (plain and sentinel) leave the wasm heap as the first left it', async () => {
  const wasm = await createWasmBackend();
  const model = await loadModel(tinyPath, { backend: wasm });
  try {
    const spec = parseSentinelSpec('--sentinel', 'every=8,span=4');
    const run = { policy: 'tova', capacity: 8, ratio: null, sinks: 0, seed: 0, prefill: 'exact' as const, prompt: 0 };
    const base: SweepInput = { modelPath: tinyPath, chunks: [Int32Array.from(tokens)], runs: [run], positionMode: 'absolute' };
    const evaluations: Array<[string, () => unknown]> = [
      ['ppl', () => scoreJob(model, base, 0)],
      ['ppl --sentinel', () => scoreJob(model, { ...base, sentinel: { ids, spec } }, 0)],
      ['trace', () => recordTrace(model, getPolicy('tova', { capacity: 8 }), tokens)],
      ['trace --sentinel', () => recordTrace(model, getPolicy('tova', { capacity: 8 }), tokens, 'absolute', { sentinel: { ids, spans: spanRuleFor(spec, tokens.length) } })],
    ];
    for (const [name, evaluate] of evaluations) {
      evaluate(); // the first may grow the model's working buffers, which it keeps
      const used = wasm.heap.usedBytes;
      for (let i = 0; i < 5; i++) evaluate();
      assert.is(wasm.heap.usedBytes, used, `${name}: 5 more evaluations took ${wasm.heap.usedBytes - used} bytes and kept them`);
    }
  } finally {
    model.dispose();
  }
});

test.run();
