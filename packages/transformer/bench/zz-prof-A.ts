import { createWasmBackend } from '@msrnn/tensor';
import { argmax, createState, loadModel, step } from '../src/index.js';
const backend = await createWasmBackend();
const model = await loadModel(process.argv[2] ?? '.bench/models/random-smollm2-135m-q4_k_m.gguf', { backend });
const n = Number(process.argv[3] ?? 200);
for (let r = 0; r < 2; r++) {
  const state = createState(model, {});
  let token = 1;
  const c0 = process.cpuUsage(), t0 = performance.now();
  for (let i = 0; i < n; i++) token = argmax(step(model, state, token));
  const c = process.cpuUsage(c0);
  console.log(`round ${r}: ${(n / (performance.now() - t0) * 1000).toFixed(1)} tok/s wall, ${(n / ((c.user + c.system) / 1e6)).toFixed(1)} by CPU`);
}
