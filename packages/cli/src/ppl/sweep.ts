// Runs every (run, chunk) job, on worker threads (one per core by default) or inline for one
// thread, and pools the NLL per run: perplexity = exp(Σ NLL / Σ predictions) over all chunks.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { loadSweepModel, scoreJob, type ChunkScore } from './evaluate.js';
import type { JobResult, SweepInput, WorkerReply } from './jobs.js';
import type { RunSpec } from './runs.js';

export interface RunResult {
  run: RunSpec;
  meanNll: number;
  ppl: number;
  predictions: number;
  /** Mean entries per layer after each step (layer 0). */
  meanKept: number;
  /** Per-chunk mean NLL, for spread. */
  chunkMeanNll: number[];
}

export interface SweepOptions {
  threads?: number;
  onProgress?: (done: number, total: number) => void;
}

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export async function runSweep(input: SweepInput, opts: SweepOptions = {}): Promise<RunResult[]> {
  const total = input.runs.length * input.chunks.length;
  const threads = Math.max(1, Math.min(opts.threads ?? defaultThreads(), total));
  const scores: ChunkScore[] = new Array(total);
  let done = 0;
  const record = (r: JobResult) => {
    scores[r.job] = r.score;
    opts.onProgress?.(++done, total);
  };
  if (threads === 1) {
    const model = await loadSweepModel(input);
    for (let job = 0; job < total; job++) {
      record({ job, score: scoreJob(model, input, job) });
      // Let the progress bar and signals through between jobs.
      if (job % 4 === 3) await new Promise((r) => setImmediate(r));
    }
  } else {
    await runOnWorkers(input, threads, total, record);
  }
  return pool(input, scores);
}

/** Heaviest jobs first (unbounded and large budgets) so the tail of the sweep stays short. */
function jobOrder(input: SweepInput, total: number): number[] {
  const n = input.chunks.length, len = input.chunks[0]?.length ?? 0;
  const cost = (j: number) => {
    const r = input.runs[Math.floor(j / n)]!;
    return Math.min(len, r.capacity ?? (r.ratio !== null ? r.ratio * len : len));
  };
  return Array.from({ length: total }, (_, j) => j).sort((a, b) => cost(b) - cost(a) || a - b);
}

/**
 * A worker running worker.ts (from source, via tsx) or worker.js (built). Node 20 does not apply the
 * parent's `--import tsx` loader to workers, so from source a one-line bootstrap registers tsx first.
 */
function startWorker(input: SweepInput): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url);
  if (!fromSource) return new Worker(url, { workerData: input });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`;
  return new Worker(boot, { eval: true, workerData: input });
}

function runOnWorkers(input: SweepInput, threads: number, total: number, record: (r: JobResult) => void): Promise<void> {
  const queue = jobOrder(input, total);
  let next = 0, finished = 0;
  const workers: Worker[] = [];
  return new Promise((resolve, reject) => {
    // Workers we end ourselves (no work left, done, or failing) exit non-zero; only others are errors.
    const ended = new Set<Worker>();
    const end = (w: Worker) => {
      ended.add(w);
      void w.terminate();
    };
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) end(w);
      reject(err);
    };
    for (let t = 0; t < threads; t++) {
      const w = startWorker(input);
      workers.push(w);
      const feed = () => {
        if (next < queue.length) w.postMessage(queue[next++]);
        else end(w);
      };
      w.on('message', (m: WorkerReply) => {
        if (m.kind === 'error') return fail(new Error(`job ${m.job}: ${m.message}`));
        if (m.kind === 'done') {
          record(m.result);
          if (++finished === total) {
            settled = true;
            for (const x of workers) end(x);
            return resolve();
          }
        }
        feed();
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!ended.has(w)) fail(new Error(`a ppl worker thread exited (code ${code}) before the sweep finished`));
      });
    }
  });
}

function pool(input: SweepInput, scores: ChunkScore[]): RunResult[] {
  const n = input.chunks.length;
  return input.runs.map((run, r) => {
    let nll = 0, predictions = 0, kept = 0, steps = 0;
    const chunkMeanNll: number[] = [];
    for (let c = 0; c < n; c++) {
      const s = scores[r * n + c]!;
      nll += s.nll;
      predictions += s.predictions;
      kept += s.keptSum;
      steps += s.keptSteps;
      chunkMeanNll.push(s.nll / s.predictions);
    }
    const meanNll = nll / predictions;
    return { run, meanNll, ppl: Math.exp(meanNll), predictions, meanKept: kept / steps, chunkMeanNll };
  });
}
