// Run by runtimes.test.ts under Deno, Bun (and Node): the stories260K greedy fixture, token for
// token, on every backend the runtime offers (pure TS; wasm on 1 thread; wasm on 2 and 3 threads
// where it has workers and shared memory). Prints one JSON line; exits non-zero on a mismatch.
// Usage: <runtime> runtime-probe.ts MODEL TOKENIZER GREEDY_JSON
import { readFileSync } from 'node:fs';
import { selectBackend, sharedMemoryAvailable, wasmSimdUnavailableReason, type BackendChoice } from '@msrnn/tensor';
import { argmax, BOS, createState, loadModel, loadTokenizer, prefill, step } from '@msrnn/transformer';

const [modelPath, tokenizerPath, greedyPath] = process.argv.slice(2);
if (!modelPath || !tokenizerPath || !greedyPath) throw new Error('usage: runtime-probe.ts MODEL TOKENIZER GREEDY_JSON');
const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
const runs: { backend: string; threads: number; ok: boolean; tokens: number; tokPerS: number }[] = [];
const configs: [BackendChoice, number][] = [['js', 1]];
if (!wasmSimdUnavailableReason()) {
  configs.push(['wasm', 1]);
  if (typeof Worker === 'function' || typeof (globalThis as any).process?.versions?.node === 'string') {
    if (sharedMemoryAvailable()) configs.push(['wasm', 2], ['wasm', 3]);
  }
}
for (const [backendName, threads] of configs) {
  const sel = await selectBackend({ backend: backendName, threads });
  try {
    const model = await loadModel(modelPath, { backend: sel.backend });
    const tokenizer = await loadTokenizer(tokenizerPath, { vocabSize: model.config.vocabSize });
    let ok = true, count = 0;
    const t0 = performance.now();
    for (const run of greedy.runs) {
      const prompt = tokenizer.encode(run.prompt);
      const state = createState(model);
      let logits = prefill(model, state, prompt);
      const out: number[] = [];
      for (let i = 0; i < run.n_generated; i++) {
        const t = argmax(logits);
        if (t === BOS) break;
        out.push(t);
        logits = step(model, state, t);
      }
      count += out.length;
      ok &&= JSON.stringify(out) === JSON.stringify(run.generated_tokens) && JSON.stringify(prompt) === JSON.stringify(run.prompt_tokens);
    }
    runs.push({ backend: backendName, threads: sel.threads, ok, tokens: count, tokPerS: Math.round(count / ((performance.now() - t0) / 1000)) });
  } finally {
    await sel.dispose();
  }
}
console.log(JSON.stringify({ runs }));
if (!runs.every((r) => r.ok)) process.exit(1);
