// ppl and trace give back what each evaluation takes: scoring chunks and recording traces over and
// over on one wasm model leaves the heap's live bytes where the first evaluation left them (each
// takes a state and, under sentinels, a vocab-sized logits buffer; without giving them back a
// sweep of thousands of chunk runs would fill the heap). generate gives back its model, state and
// logits buffer, so a program running it in-process gets its heap back as it was.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getPolicy } from '@msrnn/policies';
import { createWasmBackend } from '@msrnn/tensor';
import { loadModel } from '@msrnn/transformer';
import { scoreJob } from '../src/ppl/evaluate.js';
import type { SweepInput } from '../src/ppl/jobs.js';
import { parseSentinelSpec, spanRuleFor } from '../src/sentinel/spec.js';
import { registerGenerate } from '../src/commands/generate.js';
import { repoRoot } from './run-cli.js';
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

test('msrnn generate gives back its model, state and logits buffer: after each run the wasm heap holds what it held before', async () => {
  const wasm = await createWasmBackend();
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-given-back-'));
  let stderr = '';
  const generate = async (...args: string[]) => {
    const program = new Command().exitOverride();
    // The command runs on this test's backend, so the heap it leaves can be read.
    registerGenerate(program, { stdout: { write: () => {} }, stderr: { write: (s: string) => { stderr += s; } } }, async () => ({ backend: wasm, threads: 1, dispose: async () => {} }));
    await program.parseAsync(['generate', '--prompt', 'Once', '--steps', '6', '--no-progress', ...args], { from: 'user' });
  };
  const model = join(repoRoot, 'models/default/model.bin'), sentinelModel = join(repoRoot, 'models/sentinel-0.5/model.bin');
  const state = join(dir, 'run.state');
  const runs = [
    ['--model', model],
    ['--model', model, '--policy', 'tova', '--capacity', '8', '--kv', 'q8', '--save-state', state],
    ['--model', model, '--prompt', '', '--resume', state],
    ['--model', model, '--weights', 'q8', '--policy', 'window', '--kv-bytes', '100KB'],
    ['--model', sentinelModel, '--sentinel', 'every=4', '--policy', 'window', '--capacity', '8'],
  ];
  const run = (args: string[]) => generate(...args).catch((err) => { throw new Error(`${args.join(' ')}: ${err}\n${stderr}`); });
  try {
    // The backend's own scratch (the int8 kernels' activation buffers) grows on first use and stays: warm it.
    for (const args of runs) await run(args);
    const before = wasm.heap.usedBytes;
    for (const args of runs) {
      stderr = '';
      await run(args);
      assert.is(wasm.heap.usedBytes, before, `generate ${args.join(' ')} kept ${wasm.heap.usedBytes - before} bytes of the heap`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await wasm.dispose();
  }
});

test.run();
