// Chromium's side of the speed test without the page's view: a bare Web Worker (bundled into the
// page's folder by speed.test.ts, started from an empty cross-origin isolated page) that loads the
// picked model on wasm with the given threads and runs the same timed decode as Node
// (decode-loop.ts). Nothing else runs in the browser while it decodes: no text, no snapshots, no
// drawing. Messages: {file, threads} → {ready: threads}; {steps, prompt} → {tokPerS, tokens, threadJobs}.
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import { loadModel, type Model } from '@msrnn/transformer';
import { timedDecode } from './decode-loop.js';

let backend: WasmBackend | null = null;
let model: Model | null = null;
let logitsOut: Float32Array | null = null;
const post = (m: unknown) => (self as unknown as Worker).postMessage(m);

self.onmessage = async (e: MessageEvent<{ file: File; threads: number } | { steps: number; prompt: number[] }>) => {
  try {
    if ('file' in e.data) {
      backend = await createWasmBackend({
        threads: e.data.threads, initialBytes: e.data.file.size + (64 << 20),
        createWorker: () => new Worker(new URL('./kernel-worker.js', import.meta.url), { type: 'module' }),
      });
      model = await loadModel(e.data.file, { backend });
      logitsOut = backend.alloc(model.config.vocabSize);
      post({ ready: backend.threads });
    } else {
      const r = timedDecode(model!, logitsOut!, e.data.prompt, e.data.steps, backend!.jobTime);
      post({ tokPerS: e.data.steps / (r.ms / 1000), tokens: r.tokens, threadJobs: r.threadJobs });
    }
  } catch (err) {
    post({ error: (err as Error).message ?? String(err) });
  }
};
