// Each worker's lane: one shared word (a cache line apart from the others) saying which job the
// worker is inside, so the caller can tell whether a worker may still write into a job's outputs,
// and that a worker stopped for good. A worker that stopped holding a chunk would otherwise leave
// the caller waiting forever: the caller blocks (the Backend contract is synchronous), so it never
// sees the host's 'error'/'exit' events while a job runs, only what lands in shared memory.
//   0: between jobs;  tag + 1: inside the job tagged `tag`;  < 0: gone (how, below).
// The lane's second word is the op of the job the worker last entered, so that a loss is reported
// with the job it happened in, whichever later job the caller notices it in.
// A worker marks itself gone when it throws out of its loop or its thread exits (process.exit);
// the pool marks one gone when the host reports it failed, or when it held a job without progress
// for the pool's stall limit (a worker killed without running any code: only time tells).
import { Ctrl } from './protocol.js';

/** Ints per lane: 64 bytes, so workers entering and leaving jobs do not share a cache line. */
export const LANE_INTS = 16;

/** How a worker was lost (a lane's value once it is gone). */
export enum Gone { Threw = -1, Exited = -2, Failed = -3, Stalled = -4 }

const GONE_WHAT: Record<Gone, string> = {
  [Gone.Threw]: 'threw out of its loop',
  [Gone.Exited]: 'exited',
  [Gone.Failed]: 'failed (reported by its host)',
  [Gone.Stalled]: 'held a job without progress past the stall limit and was terminated',
};

/** Words for `workers` lanes. */
export function laneInts(workers: number): number { return workers * LANE_INTS; }

function slot(index: number): number { return (index - 1) * LANE_INTS; }

/** Worker `index` (from 1) enters the job tagged `tag`; false if it was declared gone (it must stop). */
export function enterJob(lanes: Int32Array, index: number, tag: number): boolean {
  const s = slot(index), v = Atomics.load(lanes, s);
  return v >= 0 && Atomics.compareExchange(lanes, s, v, tag + 1) === v;
}

/**
 * Worker `index`, just entered a job, records its op. An atomic store: when the pool, not the
 * worker, declares it lost (an error event, a stall), nothing else orders this write before the read.
 */
export function noteJobOp(lanes: Int32Array, index: number, op: number): void { Atomics.store(lanes, slot(index) + 1, op); }

/** The op of the job worker `index` last entered (0 if none). */
export function lastJobOp(lanes: Int32Array, index: number): number { return Atomics.load(lanes, slot(index) + 1); }

/** Worker `index` is done with its job (unless it was declared gone meanwhile). */
export function leaveJob(lanes: Int32Array, index: number, tag: number): void {
  Atomics.compareExchange(lanes, slot(index), tag + 1, 0);
}

/**
 * Marks worker `index` gone (`how`), once: counts it in ctrl's LOST and wakes a caller sleeping on
 * the completion count. Returns whether this call marked it.
 */
export function markGone(ctrl: Int32Array, lanes: Int32Array, index: number, how: Gone): boolean {
  const s = slot(index);
  for (;;) {
    const v = Atomics.load(lanes, s);
    if (v < 0) return false;
    if (Atomics.compareExchange(lanes, s, v, how) !== v) continue;
    Atomics.add(ctrl, Ctrl.LOST, 1);
    Atomics.notify(ctrl, Ctrl.COMPLETED);
    return true;
  }
}

/** How worker `index` was lost, or 0 while it is alive. */
export function goneHow(lanes: Int32Array, index: number): Gone | 0 {
  const v = Atomics.load(lanes, slot(index));
  return v < 0 ? (v as Gone) : 0;
}

/** Whether worker `index` is inside the job tagged `tag`. */
export function inJob(lanes: Int32Array, index: number, tag: number): boolean { return Atomics.load(lanes, slot(index)) === tag + 1; }

/** What a lost worker's Gone means, for error messages. */
export function goneWhat(how: Gone): string { return GONE_WHAT[how]; }
