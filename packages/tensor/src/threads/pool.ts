// Worker threads that share the backend's wasm memory and split large matvecs/matmuls by rows.
// Synchronous from the caller's view (the Backend contract is synchronous): the caller posts a
// job through the control block, claims and runs chunks itself, then waits for the workers' —
// or, for decode jobs, takes a late worker's chunk over (./rescue.ts). A worker lost for good
// (it threw, exited, or held a job past the stall limit: ./lanes.ts) never hangs a job: the caller
// finishes the job itself and runs every later one alone.
// The workers come from the host ('#thread-host': worker_threads on Node, Web Workers elsewhere);
// browsers need cross-origin isolation for the shared memory.
import { spawnKernelWorker } from '#thread-host';
import type { KernelWorkerHandle, SpawnOptions } from './host.js';
import type { WasmHeap } from '../wasm/heap.js';
import type { KernelExports } from '../wasm/kernels.js';
import { CTRL_INTS, Ctrl, HEAD_TABLE_INTS, JOB_ARGS, MAX_CHUNKS, TAG_MASK, CHUNK_BITS, claimChunks, runChunkRecordingTrap } from './protocol.js';
import { CHUNK_STATE_INTS, CallerClaims, TOOK_COMMITTING, finishLate, rescuable, resetChunkStates } from './rescue.js';
import { Gone, goneHow, goneWhat, inJob, laneInts, lastJobOp, markGone } from './lanes.js';
import { SplitJudge } from './split-judge.js';
import { clockTick } from './clock.js';

/**
 * Below this many multiply-adds a job is not worth handing out (a split costs ~1.5 us of sync).
 * 50k splits stories15M's 288×288 projections (83k MACs): measured alone on a quiet machine with
 * a spinning worker, 7.2 us on one thread, 5.2 us on two.
 */
const MIN_SPLIT_MACS = 50_000;
/** The caller spins this many iterations (~0.1 ms) on the completion count before it sleeps. */
const CALLER_SPIN = 20_000;
/**
 * A rescuable job's worker chunk still unfinished this many of the caller's own chunk times after
 * the caller ran out of chunks is taken over (./rescue.ts): a chunk running normally ends within
 * about one, so only a worker the OS stopped loses its chunk.
 */
const PATIENCE_CHUNKS = 2;
/** The patience when the caller ran no chunk of its own (no chunk time to go by). */
const PATIENCE_DEFAULT_MS = 1;
/**
 * A job whose workers show no progress for this long has lost a worker that could not say so (killed
 * without running any code): the caller terminates it and finishes the job itself. Far beyond any
 * chunk, even a prompt's on a loaded machine.
 */
const STALL_MS = 10_000;
/** How long stop() waits for the workers to leave their loops before it terminates them anyway. */
const STOP_WAIT_MS = 2_000;

/**
 * How long the caller gives a worker's unfinished chunk (ms): `chunks` of its own average chunk
 * time (`callerMs` over `mine` chunks), at least two clock steps (a coarse clock may read no time
 * at all for the caller's chunks); PATIENCE_DEFAULT_MS if it ran none. 0 chunks: no patience at all.
 */
export function takeOverPatience(chunks: number, callerMs: number, mine: number, tickMs: number): number {
  if (chunks === 0) return 0;
  return Math.max(mine > 0 ? (chunks * callerMs) / mine : PATIENCE_DEFAULT_MS, 2 * tickMs);
}

function trapped(op: number, chunk: number, chunks: number, chunkRows: number): Error {
  return new Error(`wasm thread pool: the kernel trapped in chunk ${chunk} of ${chunks} (rows ${chunk * chunkRows}.. of a job, op ${op}); `
    + 'run with threads: 1 to see the trap');
}

export interface PoolOptions {
  /**
   * Hand every job big enough to split to the workers, even when the caller measures that it does
   * not pay (./split-judge.ts): for tests that must exercise the workers, and for measuring them.
   */
  alwaysShare?: boolean;
}

/**
 * What the caller spent in jobs shared with the workers (its own chunks and the waits), cumulative;
 * how many worker chunks it took over because they ran late (./rescue.ts), and how many jobs found
 * a worker asleep (woken through the OS: each costs the caller a system call and the worker a wake-up).
 */
export interface JobTime { jobs: number; ms: number; takenOver: number; wakes: number }

export class ThreadPool {
  private stopped = false;
  /**
   * Read by measurements: a step's time outside shared jobs is the serial work on the caller, which
   * caps what threads can give (Amdahl). Two float adds per job, so it is always kept.
   */
  readonly jobTime: JobTime = { jobs: 0, ms: 0, takenOver: 0, wakes: 0 };
  private seq = 0;
  private readonly judge: SplitJudge;
  private alwaysShare = false;
  /** Floats of scratch per worker now, and every scratch ever given out (byte addresses). */
  private scratchFloats = 0;
  private readonly scratches: number[] = [];
  private readonly claims: CallerClaims;
  /** LOST as last seen: a change means a worker was lost (./lanes.ts). */
  private lostSeen = 0;
  /**
   * Why sharing stopped for good, if it did: a worker was lost (./lanes.ts). Its job was finished
   * on the calling thread, and every later job runs there too (one thread's bits, as always).
   */
  failure: Error | null = null;
  /** How long a job may show no progress from its workers before they count as lost (ms). */
  stallMs = STALL_MS;
  /**
   * How long the caller gives a worker's unfinished chunk of a rescuable job before taking it over,
   * in its own average chunk times. 0 takes every unfinished chunk over at once (tests use it to race
   * every worker's commit against the caller).
   */
  patienceChunks = PATIENCE_CHUNKS;

  private constructor(
    private readonly heap: WasmHeap,
    private readonly workers: KernelWorkerHandle[],
    private readonly stopped_: Promise<void>[],
    private readonly ctrl: Int32Array,
    /** Rows of per-head addresses for AttendHeads jobs (protocol.ts). */
    readonly table: Int32Array,
    /** The chunk state words of rescuable jobs (./rescue.ts). */
    private readonly states: Int32Array,
    /** The workers' lanes (./lanes.ts). */
    private readonly lanes: Int32Array,
    private readonly k: KernelExports,
    /** performance.now()'s step here (coarse in browsers): take-overs wait at least two (./clock.ts). */
    private readonly tickMs: number,
  ) {
    this.args = ctrl.subarray(Ctrl.ARG0, Ctrl.ARG0 + JOB_ARGS);
    this.judge = new SplitJudge(undefined, this.tickMs);
    this.claims = new CallerClaims(k, ctrl, table, states);
  }

  /** The next job's arguments (protocol.ts lays them out per op): write them, then call run(). */
  readonly args: Int32Array;

  /** Starts `workers` workers over `heap`'s shared memory and waits until each is ready. */
  static async start(module: WebAssembly.Module, heap: WasmHeap, workers: number, opts: SpawnOptions & PoolOptions = {}): Promise<ThreadPool> {
    if (!heap.shared) throw new Error('wasm thread pool: needs a shared WebAssembly.Memory');
    const ctrlAddr = heap.allocBytes(CTRL_INTS * 4, 64);
    const ctrl = new Int32Array(heap.buffer, ctrlAddr, CTRL_INTS);
    const tableAddr = heap.allocBytes(HEAD_TABLE_INTS * 4, 64);
    const table = new Int32Array(heap.buffer, tableAddr, HEAD_TABLE_INTS);
    const statesAddr = heap.allocBytes(CHUNK_STATE_INTS * 4, 64);
    const states = new Int32Array(heap.buffer, statesAddr, CHUNK_STATE_INTS);
    const lanesAddr = heap.allocBytes(laneInts(workers) * 4, 64);
    const lanes = new Int32Array(heap.buffer, lanesAddr, laneInts(workers)).fill(0);
    // Measured once here (a coarse clock takes a few ms of reads) and handed to the workers.
    const tickMs = clockTick();
    const list: KernelWorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    const stopped: Promise<void>[] = [];
    try {
      for (let i = 0; i < workers; i++) {
        const w = spawnKernelWorker({ module, memory: heap.memory, ctrlAddr, tableAddr, statesAddr, lanesAddr, index: i + 1, threads: workers + 1, tickMs }, opts);
        list.push(w);
        let isReady!: () => void, isStopped!: () => void;
        ready.push(new Promise<void>((resolve, reject) => {
          isReady = resolve;
          w.onError((err) => reject(new Error(`wasm thread pool: worker ${i + 1} failed to start: ${err.message}`)));
        }));
        stopped.push(new Promise<void>((resolve) => { isStopped = resolve; }));
        w.onMessage((m) => (m === 'ready' ? isReady() : isStopped()));
        w.onExit(() => isStopped());
      }
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(list.map((w) => w.terminate()));
      throw err;
    }
    // Idle workers must not keep the process alive if the owner forgets dispose().
    for (const w of list) w.unref();
    const instance = await WebAssembly.instantiate(module, { env: { memory: heap.memory } });
    const pool = new ThreadPool(heap, list, stopped, ctrl, table, states, lanes, instance.exports as unknown as KernelExports, tickMs);
    pool.alwaysShare = opts.alwaysShare === true;
    // Between jobs the host's word comes through the event loop; during one, shared memory says it.
    for (const [i, w] of list.entries()) {
      w.onError(() => pool.lose(i + 1, Gone.Failed));
      w.onExit(() => { if (!pool.stopped) pool.lose(i + 1, Gone.Exited); });
    }
    return pool;
  }

  get size(): number { return this.workers.length + 1; }

  /**
   * Whether a job of `macs` multiply-adds goes to the workers (then run() must follow): big enough to
   * split, and (unless alwaysShare) sharing has been paying (./split-judge.ts). A job it turns down
   * runs on the caller the way one thread runs it (one kernel call per part, no chunks).
   */
  takes(macs: number): boolean { return !this.stopped && this.failure === null && macs >= MIN_SPLIT_MACS && (this.alwaysShare || this.judge.share(macs)); }
  /** takes() for a job over `rows` rows of `cols` columns (fewer than 8 rows never split). */
  takesRows(rows: number, cols: number): boolean { return rows >= 8 && this.takes(rows * cols); }

  /**
   * Makes each worker's scratch hold at least `floats` floats (a rescuable job's chunk output, see
   * ./rescue.ts): call before run(). Outgrown scratch stays allocated until stop(): a worker late
   * from an older job may still be writing into it.
   */
  ensureScratch(floats: number): void {
    if (floats <= this.scratchFloats) return;
    const n = Math.max(floats, 2 * this.scratchFloats, 1024);
    const at = this.heap.allocBytes(4 * n * this.workers.length, 64);
    this.scratches.push(at);
    this.ctrl[Ctrl.SCRATCH] = at;
    this.ctrl[Ctrl.SCRATCH_FLOATS] = n;
    this.scratchFloats = n;
  }

  /**
   * Runs the job whose arguments are in `args` as `chunks` chunks of `chunkRows` rows, on this
   * thread and the workers; returns when every chunk is done. Throws if a chunk trapped.
   */
  run(op: number, chunks: number, chunkRows: number): void {
    const c = this.ctrl;
    // Close the previous job's claims before its description is overwritten: a worker that saw
    // that job late must not claim a chunk "of it" against this job's description.
    Atomics.or(c, Ctrl.CLAIM, MAX_CHUNKS);
    c[Ctrl.OP] = op;
    c[Ctrl.CHUNK_ROWS] = chunkRows;
    Atomics.store(c, Ctrl.CHUNKS, chunks);
    const t0 = performance.now();
    const seq = (this.seq = (this.seq + 1) | 0);
    const tag = seq & TAG_MASK, rescue = rescuable(op);
    if (rescue) resetChunkStates(this.states, tag, chunks);
    Atomics.store(c, Ctrl.COMPLETED, 0);
    // A rescuable job is claimed by its state words: its counter stays closed.
    Atomics.store(c, Ctrl.CLAIM, (tag << CHUNK_BITS) | (rescue ? MAX_CHUNKS : 0));
    Atomics.store(c, Ctrl.SEQ, seq); // publishes the plain writes above (sequentially consistent)
    if (Atomics.load(c, Ctrl.SLEEPERS) > 0) { Atomics.notify(c, Ctrl.SEQ); this.jobTime.wakes++; }
    let mine: number;
    if (rescue) {
      mine = this.claims.run(tag, this.size);
      const t1 = performance.now();
      const late = finishLate(this.k, c, this.table, this.states, tag, takeOverPatience(this.patienceChunks, t1 - t0, mine, this.tickMs), t1, this.stallMs);
      const taken = late & ~TOOK_COMMITTING;
      this.jobTime.takenOver += taken;
      // A chunk taken over while a worker was copying it out: that worker may still be writing
      // (the same bits) into the outputs, so it must be out of the job before the job ends.
      if ((late & TOOK_COMMITTING) !== 0 || Atomics.load(c, Ctrl.LOST) !== this.lostSeen) this.recover(tag, 0);
      this.finish(t0, t1, mine, op, chunks, chunkRows, taken);
      return;
    }
    mine = claimChunks(this.k, c, this.table, tag);
    const t1 = performance.now();
    // Wait only for chunks a worker is still running (unless a worker is lost: ./lanes.ts).
    let spins = 0, since = t1;
    for (let done = Atomics.load(c, Ctrl.COMPLETED), seen = done; done < chunks; done = Atomics.load(c, Ctrl.COMPLETED)) {
      if (Atomics.load(c, Ctrl.LOST) !== this.lostSeen) { this.recover(tag, chunks); break; }
      if (++spins <= CALLER_SPIN) continue;
      Atomics.wait(c, Ctrl.COMPLETED, done, 1);
      spins = 0;
      const now = performance.now();
      if (done !== seen) { seen = done; since = now; } else if (now - since > this.stallMs) { this.recover(tag, chunks, since); break; }
    }
    this.finish(t0, t1, mine, op, chunks, chunkRows, 0);
  }

  /** Marks worker `index` lost (how) unless it already is; sharing stops for good (see failure). */
  private lose(index: number, how: Gone): void {
    if (!markGone(this.ctrl, this.lanes, index, how)) return;
    this.failure ??= new Error(`wasm thread pool: worker ${index} ${goneWhat(how)}; the calling thread runs every job from now on`);
    if (how === Gone.Stalled) void this.workers[index - 1]!.terminate().catch(() => {});
  }

  /**
   * Finishes the job tagged `tag` without its lost workers: closes its claims, waits until every
   * live worker is out of it (one still in it stallMs after `since`, the job's last progress, is
   * lost too, and terminated),
   * then reruns its first `rerun` chunks here (a plain job's chunks write nothing that depends on
   * who ran them before, so a rerun gives the same bits; a rescuable job passes 0: finishLate has
   * already run every chunk no worker committed).
   */
  private recover(tag: number, rerun: number, since = performance.now()): void {
    const c = this.ctrl;
    Atomics.or(c, Ctrl.CLAIM, MAX_CHUNKS);
    let stalled = false;
    for (let i = 1; i <= this.workers.length; i++) {
      while (goneHow(this.lanes, i) === 0 && inJob(this.lanes, i, tag)) {
        Atomics.wait(c, Ctrl.COMPLETED, Atomics.load(c, Ctrl.COMPLETED), 0.05);
        if (performance.now() - since > this.stallMs) { this.lose(i, Gone.Stalled); stalled = true; }
      }
    }
    // A terminated worker stops at its next interrupt check (microseconds): let it before rerunning.
    if (stalled) Atomics.wait(c, Ctrl.COMPLETED, Atomics.load(c, Ctrl.COMPLETED), 20);
    for (let i = 0; i < rerun; i++) {
      runChunkRecordingTrap(this.k, c, this.table, i);
    }
    this.lostSeen = Atomics.load(c, Ctrl.LOST);
    // The op the lost worker entered last: the loss may show only in a later job (its chunk counted, or taken over first).
    for (let i = 1; i <= this.workers.length && this.failure === null; i++) {
      const how = goneHow(this.lanes, i);
      if (how === 0) continue;
      const op = lastJobOp(this.lanes, i), during = op === 0 ? 'before its first job' : `during a job (op ${op})`;
      this.failure = new Error(`wasm thread pool: worker ${i} ${goneWhat(how)} ${during}; the calling thread finished the job and runs every later one`);
    }
  }

  /** A job's end: its timings to the judge and jobTime, and a chunk's trap as an error. */
  private finish(t0: number, t1: number, mine: number, op: number, chunks: number, chunkRows: number, taken: number): void {
    const splitMs = performance.now() - t0;
    this.jobTime.jobs++; this.jobTime.ms += splitMs;
    this.judge.record(splitMs, t1 - t0, mine, chunks, taken);
    const failed = Atomics.exchange(this.ctrl, Ctrl.FAILED, 0);
    if (failed !== 0) throw trapped(op, failed - 1, chunks, chunkRows);
  }

  /** Asks the workers to leave their loop, waits until each says so, then ends them. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const w of this.workers) w.ref(); // keep the event loop alive until they have exited
    Atomics.store(this.ctrl, Ctrl.STOP, 1);
    Atomics.store(this.ctrl, Ctrl.SEQ, (this.seq = (this.seq + 1) | 0));
    Atomics.notify(this.ctrl, Ctrl.SEQ);
    // A lost worker never says 'stopped'; a live one does within a job's time (bounded anyway).
    const live = this.stopped_.filter((_, i) => goneHow(this.lanes, i + 1) === 0);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([Promise.all(live), new Promise<void>((done) => { timer = setTimeout(done, STOP_WAIT_MS); })]);
    clearTimeout(timer);
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const at of this.scratches) this.heap.freeBytes(at);
  }
}
