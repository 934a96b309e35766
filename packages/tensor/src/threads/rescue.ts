// Decode jobs (Matvecs, AttendHeads): claimed by state words instead of a shared counter, so each
// thread starts on the same chunks every job, and the caller can take chunks back from a late worker.
//
// Same chunks every job: thread t of n (the caller is 0, worker k is k) has a home, the t-th of n
// equal runs of the job's chunks; it claims its home in order, then steals what is left of the
// others' homes from their far ends. Chunk i of a layer's q/k/v job is the same rows step after
// step, so with both threads active each keeps re-reading the same weight rows (and each head's
// keys and values) from its own caches instead of half of them from the other core's.
//
// Taking over: a worker computes each chunk into its own scratch and then commits it (copies it to
// the job's outputs), but only if the caller has not taken the chunk over meanwhile. So the caller
// never waits long for a worker the OS descheduled in the middle of a chunk (any other process
// waking on the machine, or a busy other core): once no chunk is left to claim, it gives each
// unfinished worker chunk about two of its own chunks' time, then takes it over and computes it
// itself. Without the scratch, taking over would be unsafe: the late worker would still write into
// outputs the caller had moved on from and may have changed since (RoPE rotates q in place).
//
// Each chunk has a state word, (tag << 3) | ChunkState. The caller resets a job's words to Free
// before it posts the job, so a worker late from an older job (another tag) never matches one:
//   Free → Running (a worker claims it) → Committing → Done (the worker copied it out)
//   Free → Taken (the caller claims it, or takes over a Running one) and the caller runs it
// A worker whose Running or Committing step fails drops its result. Prompt jobs (MatmulT,
// AttendCausal) write more than a scratch could hold and keep the plain protocol (protocol.ts).
import type { KernelExports } from '../wasm/kernels.js';
import { AttendArg, Ctrl, HEAD_ARGS, HeadArg, JOB_ARGS, JobOp, MAX_CHUNKS, MatvecArg, PART_ARGS, PartArg, matvecChunkPart, runChunkRecordingTrap, runHead, runMatvecRows } from './protocol.js';

export enum ChunkState { Free = 0, Running = 1, Committing = 2, Done = 3, Taken = 4 }
const STATE_BITS = 3;
/** State words: one per chunk of a job. */
export const CHUNK_STATE_INTS = MAX_CHUNKS;

/** Whether chunks of `op` are claimed by state words and committed from a worker's scratch (so can be taken over). */
export function rescuable(op: number): boolean { return op === JobOp.Matvecs || op === JobOp.AttendHeads; }

/** Sets the first `chunks` state words to Free of the job tagged `tag` (before the job is posted). */
export function resetChunkStates(states: Int32Array, tag: number, chunks: number): void {
  const free = (tag << STATE_BITS) | ChunkState.Free;
  for (let i = 0; i < chunks; i++) states[i] = free;
}

/**
 * Visits the chunks thread `t` of `threads` claims, in its order (its home, then the others' homes
 * from their far ends), calling `claim(i)` for each until it returns false (stop).
 */
function inClaimOrder(t: number, threads: number, chunks: number, claim: (i: number) => boolean): void {
  for (let i = Math.floor((t * chunks) / threads), end = Math.floor(((t + 1) * chunks) / threads); i < end; i++) if (!claim(i)) return;
  for (let o = 1; o < threads; o++) {
    const u = (t + o) % threads, first = Math.floor((u * chunks) / threads);
    for (let i = Math.floor(((u + 1) * chunks) / threads) - 1; i >= first; i--) if (!claim(i)) return;
  }
}

/**
 * The caller's share: claims (Free → Taken) its home's chunks and then whatever the workers have not
 * claimed, running each straight into the outputs. A trapping chunk is recorded in FAILED (the job
 * still completes). Returns how many it ran.
 */
export class CallerClaims {
  private ran = 0;
  private t = 0;
  constructor(private readonly k: KernelExports, private readonly ctrl: Int32Array, private readonly table: Int32Array, private readonly states: Int32Array) {}
  /** Bound once: inClaimOrder calls it per chunk without a closure per job. */
  private readonly claim = (i: number): boolean => {
    const free = this.t | ChunkState.Free;
    if (this.states[i] !== free || Atomics.compareExchange(this.states, i, free, this.t | ChunkState.Taken) !== free) return true;
    runChunkRecordingTrap(this.k, this.ctrl, this.table, i);
    this.ran++;
    return true;
  };

  run(tag: number, threads: number): number {
    this.t = tag << STATE_BITS; this.ran = 0;
    inClaimOrder(0, threads, this.ctrl[Ctrl.CHUNKS]!, this.claim);
    return this.ran;
  }
}

/** Set in finishLate's result when it took over a chunk a worker was copying out (see there). */
export const TOOK_COMMITTING = 1 << 30;

/**
 * After the caller's claims: waits for the workers' chunks, taking over any not Done `patienceMs`
 * after `since` (performance.now()). A chunk a worker is copying out (Committing) is waited for,
 * unless a worker was lost (ctrl's LOST) or the copy shows no end for `stallMs`: then it is taken
 * over too, and the result has TOOK_COMMITTING set: that worker may still be copying (the same
 * bits), so the caller must see it out of the job before the job ends (ThreadPool.recover).
 * Otherwise, when it returns, no worker can commit into this job's outputs any more. Returns how
 * many chunks it took over.
 */
export function finishLate(k: KernelExports, ctrl: Int32Array, table: Int32Array, states: Int32Array, tag: number, patienceMs: number, since: number, stallMs: number): number {
  const t = tag << STATE_BITS, chunks = ctrl[Ctrl.CHUNKS]!;
  let taken = 0, flags = 0;
  for (let i = 0; i < chunks; i++) {
    let committingSince = -1;
    for (let spins = 1; ; spins++) {
      const s = Atomics.load(states, i);
      if (s === (t | ChunkState.Done) || s === (t | ChunkState.Taken)) break; // Taken: the caller ran it
      // Committing: a worker is copying it out (tens of ns) — unless the OS stopped it right
      // there; then sleep a little between looks instead of spinning through its time slice.
      const committing = s === (t | ChunkState.Committing);
      if (committing) {
        if (spins <= 20_000) continue;
        Atomics.wait(states, i, s, 0.05);
        const now = performance.now();
        if (committingSince < 0) committingSince = now;
        if (Atomics.load(ctrl, Ctrl.LOST) === 0 && now - committingSince <= stallMs) continue;
      } else if ((spins & 31) !== 1 || performance.now() - since < patienceMs) continue; // the clock every 32 looks
      if (Atomics.compareExchange(states, i, s, t | ChunkState.Taken) !== s) continue;
      if (committing) flags = TOOK_COMMITTING;
      runChunkRecordingTrap(k, ctrl, table, i);
      taken++;
      break;
    }
  }
  return taken | flags;
}

/**
 * A worker's share of a rescuable job: its copies of the job's arguments and of a head's table row
 * (one per worker: no allocation per chunk), and its claim loop.
 */
export class WorkerClaims {
  private readonly args = new Int32Array(JOB_ARGS);
  private readonly head = new Int32Array(HEAD_ARGS);
  private committed = 0;
  private t = 0;
  constructor(private readonly k: KernelExports, private readonly ctrl: Int32Array, private readonly table: Int32Array, private readonly states: Int32Array, private readonly index: number) {}

  /**
   * Claims (Free → Running) its home's chunks, then what is left of the others'; for each, first
   * copies the job's arguments (if the claim then succeeds, the job was live all along, so the copy
   * is its), computes the chunk into its scratch (worker `index`, from 1), then commits it unless
   * the caller took it over. Returns how many chunks it committed.
   */
  run(tag: number, threads: number): number {
    this.t = tag << STATE_BITS; this.committed = 0;
    // (A newer job's count if this job is over: then no claim of this tag succeeds.)
    inClaimOrder(this.index, threads, Atomics.load(this.ctrl, Ctrl.CHUNKS), this.claim);
    return this.committed;
  }

  private readonly claim = (i: number): boolean => {
    const { k, ctrl, table, states, args, head, t } = this;
    if (i >= MAX_CHUNKS || Atomics.load(states, i) !== (t | ChunkState.Free)) return true;
    const op = ctrl[Ctrl.OP]!, per = ctrl[Ctrl.CHUNK_ROWS]!, room = ctrl[Ctrl.SCRATCH_FLOATS]!;
    const scratch = ctrl[Ctrl.SCRATCH]! + 4 * (this.index - 1) * room;
    for (let j = 0; j < JOB_ARGS; j++) args[j] = ctrl[Ctrl.ARG0 + j]!;
    let out = 0, n = 0, att = 0, count = 0, queries = 0, attStride = 0, p = 0, s = 0;
    if (op === JobOp.Matvecs) {
      p = matvecChunkPart(args, 0, i);
      const at = MatvecArg.PART0 + p * PART_ARGS;
      s = (i - args[at + PartArg.FIRST_CHUNK]!) * per;
      out = args[at + PartArg.OUT]! + 4 * s; n = Math.min(args[at + PartArg.ROWS]!, s + per) - s;
      args[at + PartArg.OUT] = scratch - 4 * s; // so that rows [s, s + n) land at scratch[0 ..)
    } else {
      for (let j = 0; j < HEAD_ARGS; j++) head[j] = table[i * HEAD_ARGS + j]!;
      queries = head[HeadArg.QUERIES]!; attStride = head[HeadArg.ATT_STRIDE]!;
      n = args[AttendArg.HEAD_DIM]! * queries; out = head[HeadArg.OUT]!; att = head[HeadArg.ATT]!; count = head[HeadArg.COUNT]!;
      // The heads' outputs, then their attention weights, one row of `count` each.
      head[HeadArg.OUT] = scratch; head[HeadArg.ATT] = scratch + 4 * n; head[HeadArg.ATT_STRIDE] = count;
    }
    // Too big for the scratch (a job posted without ensureScratch): leave it for the caller.
    if (!(n + queries * count <= room)) return true;
    if (Atomics.compareExchange(states, i, t | ChunkState.Free, t | ChunkState.Running) !== (t | ChunkState.Free)) return true;
    let failed = false;
    try {
      if (op === JobOp.Matvecs) runMatvecRows(k, args, 0, p, s, s + n);
      else runHead(k, args, 0, head, 0);
    } catch {
      failed = true;
    }
    if (Atomics.compareExchange(states, i, t | ChunkState.Running, t | ChunkState.Committing) !== (t | ChunkState.Running)) return true;
    // The copy can trap too (outputs outside the memory): a throw here would end the worker with
    // its chunk Committing, which the caller waits out forever.
    if (!failed) {
      try {
        k.copyF32(out, scratch, n);
        if (count > 0) for (let g = 0; g < queries; g++) k.copyF32(att + 4 * g * attStride, scratch + 4 * (n + g * count), count);
      } catch {
        failed = true;
      }
    }
    if (failed) Atomics.store(ctrl, Ctrl.FAILED, i + 1);
    Atomics.store(states, i, t | ChunkState.Done);
    this.committed++;
    return true;
  };
}
