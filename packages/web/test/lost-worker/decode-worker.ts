// The model's side of the lost-worker browser test, a module Web Worker: loads the picked model on
// wasm with `threads` (every job shared: alwaysShare) whose kernel workers are
// faulty-kernel-worker.ts with the given fault (or healthy ones with none), then decodes greedily.
// Messages: {file, threads, fault} → {ready}; {prompt, steps} → {tokens, ms, failure, shared, takenOver}
// (the pool's failure, jobs it shared and worker chunks its caller took over, during the run).
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { argmax, createState, loadModel, prefill, step, type Model } from '@msrnn/transformer';

let backend: WasmBackend | null = null;
let model: Model | null = null;
const post = (m: unknown) => (self as unknown as Worker).postMessage(m);

type Message = { file: File; threads: number; fault: string } | { prompt: number[]; steps: number };

self.onmessage = async (e: MessageEvent<Message>) => {
  try {
    if ('file' in e.data) {
      const url = new URL(`./faulty-kernel-worker.js?${e.data.fault}`, import.meta.url);
      backend = await createWasmBackend({ threads: e.data.threads, alwaysShare: true, createWorker: () => new Worker(url, { type: 'module' }) });
      model = await loadModel(e.data.file, { backend });
      post({ ready: backend.threads });
      return;
    }
    const state = createState(model!), tokens: number[] = [], jobs0 = backend!.jobTime?.jobs ?? 0, taken0 = backend!.jobTime?.takenOver ?? 0;
    const t0 = performance.now();
    let logits = prefill(model!, state, e.data.prompt);
    for (let i = 0; i < e.data.steps; i++) { const t = argmax(logits); tokens.push(t); logits = step(model!, state, t); }
    const ms = performance.now() - t0;
    state.dispose();
    post({ tokens, ms, failure: backend!.threadFailure?.message ?? null, shared: (backend!.jobTime?.jobs ?? 0) - jobs0, takenOver: (backend!.jobTime?.takenOver ?? 0) - taken0 });
  } catch (err) {
    post({ error: (err as Error).message ?? String(err) });
  }
};
