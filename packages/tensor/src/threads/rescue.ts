// Decode jobs (Matvecs, AttendHeads) that the caller can take back from a late worker. A worker
// computes each chunk of such a job into its own scratch and then commits it (copies it to the
// job's outputs), but only if the caller has not taken the chunk over meanwhile. So the caller
// never waits long for a worker the OS descheduled in the middle of a chunk (any other process
// waking on the machine, or a busy other core): once no chunk is left to claim, it gives each
// unfinished worker chunk about two of its own chunks' time, then takes it over and computes it
// itself. Without the scratch, taking over would be unsafe: the late worker would still write into
// outputs the caller had moved on from and may have changed since (RoPE rotates q in place).
//
// Each chunk has a state word, (tag << 3) | ChunkState. The caller resets a job's words to Free
// before it posts the job, so a worker late from an older job (another tag) never matches one:
//   Free → Running (the worker that claimed it starts) → Committing → Done (the worker copied it out)
//   Free or Running → Taken (the caller takes it over and runs it)
// (The caller's own chunks it notes in its own memory, not in the state words.)
// A worker whose Running or Committing step fails drops its result. Prompt jobs (MatmulT,
// AttendCausal) write more than a scratch could hold and keep the plain protocol (protocol.ts).
import type { KernelExports } from '../wasm/kernels.js';
import { AttendArg, CHUNK_BITS, Ctrl, HEAD_ARGS, JOB_ARGS, JobOp, MAX_CHUNKS, MatvecArg, PART_ARGS, PartArg, matvecChunkPart, runChunk, runHead, runMatvecRows } from './protocol.js';

export enum ChunkState { Free = 0, Running = 1, Committing = 2, Done = 3, Taken = 4 }
const STATE_BITS = 3;
/** State words: one per chunk of a job. */
export const CHUNK_STATE_INTS = MAX_CHUNKS;

/** Whether chunks of `op` are committed from a worker's scratch (and so can be taken over). */
export function rescuable(op: number): boolean { return op === JobOp.Matvecs || op === JobOp.AttendHeads; }

/** Sets the first `chunks` state words to Free of the job tagged `tag` (before the job is posted). */
export function resetChunkStates(states: Int32Array, tag: number, chunks: number): void {
  const free = (tag << STATE_BITS) | ChunkState.Free;
  for (let i = 0; i < chunks; i++) states[i] = free;
}

/**
 * The caller's share: claims chunks of its own job and runs them straight into the outputs, marking
 * each in `mine` with the job's `seq` (the caller's own memory: the state words it leaves alone, so
 * the line they share stays with the workers while they run). A trapping chunk is recorded in
 * FAILED (the job still completes). Returns how many it ran.
 */
export function claimAsCaller(k: KernelExports, ctrl: Int32Array, table: Int32Array, mine: Int32Array, seq: number): number {
  const chunks = ctrl[Ctrl.CHUNKS]!;
  let ran = 0;
  for (;;) {
    const v = Atomics.load(ctrl, Ctrl.CLAIM), i = v & MAX_CHUNKS;
    if (i >= chunks) return ran;
    if (Atomics.compareExchange(ctrl, Ctrl.CLAIM, v, v + 1) !== v) continue;
    try { runChunk(k, ctrl, table, i); } catch { Atomics.store(ctrl, Ctrl.FAILED, i + 1); }
    mine[i] = seq;
    ran++;
  }
}

/**
 * After claimAsCaller ran dry: waits for the workers' chunks (those not marked `seq` in `mine`),
 * taking over any not Done `patienceMs` after `since` (performance.now()). When it returns every
 * chunk is done, and no worker can commit into this job's outputs any more. Returns how many
 * chunks it took over.
 */
export function finishLate(k: KernelExports, ctrl: Int32Array, table: Int32Array, states: Int32Array, mine: Int32Array, seq: number, tag: number,
  patienceMs: number, since: number): number {
  const t = tag << STATE_BITS, chunks = ctrl[Ctrl.CHUNKS]!;
  let taken = 0;
  for (let i = 0; i < chunks; i++) {
    if (mine[i] === seq) continue;
    for (let spins = 1; ; spins++) {
      const s = Atomics.load(states, i);
      if (s === (t | ChunkState.Done)) break;
      // Committing: a worker is copying it out (tens of ns) — unless the OS stopped it right
      // there; then sleep a little between looks instead of spinning through its time slice.
      if (s === (t | ChunkState.Committing)) { if (spins > 20_000) Atomics.wait(states, i, s, 0.05); continue; }
      if ((spins & 31) !== 1 || performance.now() - since < patienceMs) continue; // the clock every 32 looks
      if (Atomics.compareExchange(states, i, s, t | ChunkState.Taken) !== s) continue;
      try { runChunk(k, ctrl, table, i); } catch { Atomics.store(ctrl, Ctrl.FAILED, i + 1); }
      taken++;
      break;
    }
  }
  return taken;
}

/** A worker's copies of a job's arguments and of a head's table row (one per worker: no allocation per chunk). */
export class WorkerSnapshot {
  readonly args = new Int32Array(JOB_ARGS);
  readonly head = new Int32Array(HEAD_ARGS);
}

/**
 * A worker's share of a rescuable job: claims chunks; for each, copies the job's arguments (they
 * are this job's: it cannot end while the chunk is Free, see the file comment), marks it Running,
 * computes it into scratch (worker `index`, from 1), then commits it unless the caller took it
 * over. Returns how many chunks it committed.
 */
export function claimIntoScratch(k: KernelExports, ctrl: Int32Array, table: Int32Array, states: Int32Array, tag: number, index: number, snap: WorkerSnapshot): number {
  const t = tag << STATE_BITS, args = snap.args, head = snap.head;
  let committed = 0;
  for (;;) {
    const v = Atomics.load(ctrl, Ctrl.CLAIM);
    if (v >>> CHUNK_BITS !== tag) return committed;
    const i = v & MAX_CHUNKS, chunks = Atomics.load(ctrl, Ctrl.CHUNKS);
    if (i >= chunks) return committed;
    if (Atomics.compareExchange(ctrl, Ctrl.CLAIM, v, v + 1) !== v) continue;
    // Snapshot, then Free → Running: if that succeeds the job was live all along, so the copy is its.
    const op = ctrl[Ctrl.OP]!, per = ctrl[Ctrl.CHUNK_ROWS]!, room = ctrl[Ctrl.SCRATCH_FLOATS]!;
    const scratch = ctrl[Ctrl.SCRATCH]! + 4 * (index - 1) * room;
    for (let j = 0; j < JOB_ARGS; j++) args[j] = ctrl[Ctrl.ARG0 + j]!;
    let out = 0, n = 0, att = 0, count = 0, p = 0, s = 0;
    if (op === JobOp.Matvecs) {
      p = matvecChunkPart(args, 0, i);
      const at = MatvecArg.PART0 + p * PART_ARGS;
      s = (i - args[at + PartArg.FIRST_CHUNK]!) * per;
      out = args[at + PartArg.OUT]! + 4 * s; n = Math.min(args[at + PartArg.ROWS]!, s + per) - s;
      args[at + PartArg.OUT] = scratch - 4 * s; // so that rows [s, s + n) land at scratch[0 ..)
    } else {
      for (let j = 0; j < HEAD_ARGS; j++) head[j] = table[i * HEAD_ARGS + j]!;
      n = args[AttendArg.HEAD_DIM]!; out = head[0]!; att = head[7]!; count = head[6]!;
      head[0] = scratch; head[7] = scratch + 4 * n; // the head's output, then its attention weights
    }
    // Too big for the scratch (a job posted without ensureScratch): leave it Free for the caller.
    if (n + count > room) continue;
    if (Atomics.compareExchange(states, i, t | ChunkState.Free, t | ChunkState.Running) !== (t | ChunkState.Free)) continue;
    let failed = false;
    try {
      if (op === JobOp.Matvecs) runMatvecRows(k, args, 0, p, s, s + n);
      else runHead(k, args, 0, head, 0);
    } catch {
      failed = true;
    }
    if (Atomics.compareExchange(states, i, t | ChunkState.Running, t | ChunkState.Committing) !== (t | ChunkState.Running)) continue;
    if (failed) Atomics.store(ctrl, Ctrl.FAILED, i + 1);
    else {
      k.copyF32(out, scratch, n);
      if (count > 0) k.copyF32(att, scratch + 4 * n, count);
    }
    Atomics.store(states, i, t | ChunkState.Done);
    committed++;
  }
}
