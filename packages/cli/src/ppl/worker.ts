// Worker thread: loads the model once, then scores the jobs the main thread hands it one at a time.
// Started by sweep.ts (from source through a bootstrap that registers tsx first).
import { parentPort, workerData } from 'node:worker_threads';
import { loadSweepModel, scoreJob } from './evaluate.js';
import type { SweepInput, WorkerReply } from './jobs.js';

const input = workerData as SweepInput;
const port = parentPort!;
const model = await loadSweepModel(input);
const send = (m: WorkerReply) => port.postMessage(m);

port.on('message', (job: number) => {
  try {
    send({ kind: 'done', result: { job, score: scoreJob(model, input, job) } });
  } catch (err: any) {
    send({ kind: 'error', job, message: err?.message ?? String(err) });
  }
});
send({ kind: 'ready' });
