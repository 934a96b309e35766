// The job protocol between the calling thread and its workers: a small Int32Array control
// block in the shared wasm memory. A job's rows are cut into chunks that every thread (caller
// included) claims one at a time with compare-and-swap, so a worker that the OS has descheduled
// (a loaded machine) delays a job by at most the chunk it holds, never by its whole share.
import type { KernelExports } from '../wasm/kernels.js';
import { GGML_WASM_KERNELS } from '../wasm/kernels/ggml.js';

/**
 * Control block slots. CLAIM = (job tag << CHUNK_BITS) | next chunk; the tag stops a late worker
 * claiming from a newer job. Three 64-byte cache lines: the job description (written once per job,
 * then only read), CLAIM, and COMPLETED/FAILED — so the claims and completions that bounce between
 * cores do not also evict the job description every thread reads for each chunk.
 */
export const Ctrl = { SEQ: 0, OP: 1, STOP: 2, CHUNKS: 3, CHUNK_ROWS: 4, ARG0: 5, SLEEPERS: 15, CLAIM: 16, COMPLETED: 32, FAILED: 33 } as const;
export const CTRL_INTS = 48;
export const CHUNK_BITS = 12;
export const MAX_CHUNKS = (1 << CHUNK_BITS) - 1;
export const TAG_MASK = (1 << (31 - CHUNK_BITS)) - 1;

export const JobOp = { Matvec: 1, MatvecF16: 2, MatvecQ8: 3, MatmulT: 4, MatvecBF16: 5, MatvecGgml: 6 } as const;

/** Rows per chunk for `rows` rows over `threads` threads: about 4 chunks per thread, whole 4-row tiles. */
export function chunkRowsFor(rows: number, threads: number): number {
  const per = Math.max(Math.ceil(rows / (threads * 4)), Math.ceil(rows / MAX_CHUNKS), 8);
  return Math.ceil(per / 4) * 4;
}

/** Runs chunk `i` of the job described in `ctrl`. Arguments are byte addresses and counts. */
export function runChunk(k: KernelExports, ctrl: Int32Array, i: number): void {
  const a = Ctrl.ARG0, per = ctrl[Ctrl.CHUNK_ROWS]!;
  const s = i * per;
  switch (ctrl[Ctrl.OP]) {
    case JobOp.Matvec:
    case JobOp.MatvecF16:
    case JobOp.MatvecBF16: {
      // args: out, w, x, rows, cols (a weight row is cols f32, fp16 or bf16 values)
      const e = Math.min(ctrl[a + 3]!, s + per), cols = ctrl[a + 4]!;
      const op = ctrl[Ctrl.OP];
      const kernel = op === JobOp.Matvec ? k.matvec : op === JobOp.MatvecF16 ? k.matvecF16 : k.matvecBF16;
      kernel(ctrl[a]! + 4 * s, ctrl[a + 1]! + s * cols * (op === JobOp.Matvec ? 4 : 2), ctrl[a + 2]!, e - s, cols);
      return;
    }
    case JobOp.MatvecGgml: {
      // args: out, w, x16, xs, xsum, rows, cols, ggml type, row bytes
      const e = Math.min(ctrl[a + 5]!, s + per);
      const kernel = k[GGML_WASM_KERNELS[ctrl[a + 7]!]!]!;
      kernel(ctrl[a]! + 4 * s, ctrl[a + 1]! + s * ctrl[a + 8]!, ctrl[a + 2]!, ctrl[a + 3]!, ctrl[a + 4]!, e - s, ctrl[a + 6]!);
      return;
    }
    case JobOp.MatvecQ8: {
      // args: out, q, scales, x16, xScales, rows, cols
      const e = Math.min(ctrl[a + 5]!, s + per);
      const cols = ctrl[a + 6]!;
      k.matvecQ8(ctrl[a]! + 4 * s, ctrl[a + 1]! + s * cols, ctrl[a + 2]! + 4 * s * Math.ceil(cols / 32), ctrl[a + 3]!, ctrl[a + 4]!, e - s, cols);
      return;
    }
    case JobOp.MatmulT: {
      // args: out, a, b, m, n, k — split over the rows of B (columns of out) so each thread streams its own part of the weights.
      const n = ctrl[a + 4]!, kd = ctrl[a + 5]!;
      const e = Math.min(n, s + per);
      k.matmulT(ctrl[a]! + 4 * s, ctrl[a + 1]!, ctrl[a + 2]! + 4 * s * kd, ctrl[a + 3]!, e - s, kd, n);
      return;
    }
    default:
      throw new Error(`wasm thread pool: unknown job op ${ctrl[Ctrl.OP]}`);
  }
}

/**
 * Claims and runs chunks of the job tagged `tag` until none are left (or a newer job replaced it).
 * A chunk that throws (a wasm trap) is still counted as completed, so nobody waits forever, and
 * FAILED records 1 + its index for the caller to report. Returns how many chunks this thread ran.
 */
export function claimChunks(k: KernelExports, ctrl: Int32Array, tag: number): number {
  for (let ran = 0; ; ran++) {
    const v = Atomics.load(ctrl, Ctrl.CLAIM);
    if (v >>> CHUNK_BITS !== tag) return ran;
    // Read after the claim word, never before: a late worker that read the count of the caller's
    // next job (written after it closed this one, see ThreadPool.run) then fails its claim below.
    const i = v & MAX_CHUNKS, chunks = Atomics.load(ctrl, Ctrl.CHUNKS);
    if (i >= chunks) return ran;
    if (Atomics.compareExchange(ctrl, Ctrl.CLAIM, v, v + 1) !== v) { ran--; continue; }
    try {
      runChunk(k, ctrl, i);
    } catch {
      Atomics.store(ctrl, Ctrl.FAILED, i + 1);
    }
    if (Atomics.add(ctrl, Ctrl.COMPLETED, 1) + 1 === chunks) Atomics.notify(ctrl, Ctrl.COMPLETED);
  }
}
