// Worker thread: loads the model once, then scores the jobs the main thread hands it one at a time.
// Started with the parent's execArgv, so under tsx this TypeScript file loads directly.
import { parentPort, workerData } from 'node:worker_threads';
import { loadModel } from '@msrnn/transformer';
import { selectBackend } from '@msrnn/tensor';
import { scoreChunk } from './evaluate.js';
import type { SweepInput, WorkerReply } from './jobs.js';

const input = workerData as SweepInput;
const port = parentPort!;
const model = await loadModel(input.modelPath, { backend: (await selectBackend({ backend: input.backend ?? 'auto' })).backend });
const send = (m: WorkerReply) => port.postMessage(m);

port.on('message', (job: number) => {
  const n = input.chunks.length;
  try {
    const score = scoreChunk(model, input.runs[Math.floor(job / n)]!, input.chunks[job % n]!, input.positionMode);
    send({ kind: 'done', result: { job, score } });
  } catch (err: any) {
    send({ kind: 'error', job, message: err?.message ?? String(err) });
  }
});
send({ kind: 'ready' });
