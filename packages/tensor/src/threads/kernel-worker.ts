// The body of a kernel worker, the same on every host (worker_threads or Web Workers): instantiate
// the kernel module over the shared memory, then loop: spin on the job counter for as long as
// spinning has been paying (./spin.ts learns it), sleep in Atomics.wait otherwise, claim and run
// chunks of each job (decode jobs through its scratch, ./rescue.ts). It blocks its thread until
// told to stop, so it never returns to an event loop.
import type { KernelExports } from '../wasm/kernels.js';
import { CTRL_INTS, Ctrl, HEAD_TABLE_INTS, TAG_MASK, claimChunks } from './protocol.js';
import { CHUNK_STATE_INTS, WorkerClaims, rescuable } from './rescue.js';
import { Gone, enterJob, laneInts, leaveJob, markGone, noteJobOp } from './lanes.js';
import { SpinBudget, preemptionGapMs } from './spin.js';

/**
 * What a worker is started with (as workerData, or as the first message of a Web Worker): the
 * byte addresses of the control block, head table, chunk states and the workers' lanes
 * (./lanes.ts), its index (1 ..) among the workers and the pool's threads (workers and caller).
 */
export interface KernelWorkerInit { module: WebAssembly.Module; memory: WebAssembly.Memory; ctrlAddr: number; tableAddr: number; statesAddr: number; lanesAddr: number; index: number; threads: number; /** The clock's step, measured by the pool (./clock.ts). */ tickMs: number }

function controlOf(init: KernelWorkerInit): { ctrl: Int32Array; lanes: Int32Array } {
  return { ctrl: new Int32Array(init.memory.buffer, init.ctrlAddr, CTRL_INTS), lanes: new Int32Array(init.memory.buffer, init.lanesAddr, laneInts(init.threads - 1)) };
}

/**
 * For the host's exit hook (Node's process 'exit' in the worker, e.g. process.exit() in it): a
 * worker thread ending before its pool stopped it is lost (./lanes.ts), so the caller stops waiting for it.
 */
export function kernelWorkerExiting(init: KernelWorkerInit): void {
  const { ctrl, lanes } = controlOf(init);
  if (Atomics.load(ctrl, Ctrl.STOP) === 0) markGone(ctrl, lanes, init.index, Gone.Exited);
}

/** Messages a worker sends its pool: 'ready' once it watches the job counter, 'stopped' as it ends. */
export type KernelWorkerMessage = 'ready' | 'stopped';

/** Spin iterations between two clock reads (a read costs ~30 ns, an iteration ~5 ns). */
const CLOCK_EVERY = 64;

/**
 * Waits until the job counter differs from `seen` and returns it: spins for `budget.ms`, then
 * sleeps. Tells `budget` whether the spin was preempted and how long a job took to come after a sleep.
 */
function nextJob(ctrl: Int32Array, seen: number, budget: SpinBudget, preemptedMs: number): number {
  const start = performance.now();
  let last = start, preempted = false;
  const deadline = start + budget.ms;
  for (let spins = 1; ; spins++) {
    const seq = Atomics.load(ctrl, Ctrl.SEQ);
    if (seq !== seen) return seq;
    if (spins % CLOCK_EVERY === 0) {
      const now = performance.now();
      if (now - last > preemptedMs) { preempted = true; budget.preempted(); break; }
      if (now >= deadline) break;
      last = now;
    }
  }
  for (;;) {
    // Bounded: a worker blocked in Atomics.wait cannot be terminated, so it wakes now and then
    // and the process can exit even if the owner never called dispose().
    Atomics.add(ctrl, Ctrl.SLEEPERS, 1);
    Atomics.wait(ctrl, Ctrl.SEQ, seen, 100);
    Atomics.sub(ctrl, Ctrl.SLEEPERS, 1);
    const seq = Atomics.load(ctrl, Ctrl.SEQ);
    if (seq !== seen) {
      if (!preempted) budget.sleptThrough(performance.now() - start);
      return seq;
    }
  }
}

export function runKernelWorker(init: KernelWorkerInit, post: (message: KernelWorkerMessage) => void): void {
  const instance = new WebAssembly.Instance(init.module, { env: { memory: init.memory } });
  const k = instance.exports as unknown as KernelExports;
  const { ctrl, lanes } = controlOf(init);
  const table = new Int32Array(init.memory.buffer, init.tableAddr, HEAD_TABLE_INTS);
  const states = new Int32Array(init.memory.buffer, init.statesAddr, CHUNK_STATE_INTS);
  const budget = new SpinBudget(), claims = new WorkerClaims(k, ctrl, table, states, init.index), preemptedMs = preemptionGapMs(init.tickMs);

  // Read the job counter before announcing readiness: a job posted right after 'ready' must be seen as new.
  let seen = Atomics.load(ctrl, Ctrl.SEQ);
  post('ready');
  try {
    for (;;) {
      seen = nextJob(ctrl, seen, budget, preemptedMs);
      if (Atomics.load(ctrl, Ctrl.STOP) !== 0) break;
      const tag = seen & TAG_MASK;
      if (!enterJob(lanes, init.index, tag)) break; // the pool gave up on this worker (a stall): stop
      // OP may already be a newer job's: then this job's tag no longer matches and nothing is claimed.
      const op = ctrl[Ctrl.OP]!;
      noteJobOp(lanes, init.index, op);
      if (rescuable(op)) claims.run(tag, init.threads);
      else claimChunks(k, ctrl, table, tag);
      leaveJob(lanes, init.index, tag);
    }
  } catch (err) {
    markGone(ctrl, lanes, init.index, Gone.Threw);
    throw err;
  }
  post('stopped');
}

/**
 * Makes the current Web Worker a kernel worker: its first message is the KernelWorkerInit.
 * For bundled pages: a worker entry file that calls this, started by the `createWorker` option.
 */
export function serveKernelWorker(): void {
  const scope = globalThis as unknown as { addEventListener(type: 'message', f: (e: MessageEvent) => void, o: { once: true }): void; postMessage(m: unknown): void };
  scope.addEventListener('message', (e) => runKernelWorker(e.data as KernelWorkerInit, (m) => scope.postMessage(m)), { once: true });
}
