// The job protocol between the calling thread and its workers: a small Int32Array control
// block in the shared wasm memory. The caller writes a job, bumps SEQ and notifies; each worker
// (and the caller itself) runs one slice of rows; workers bump DONE when finished.
import type { KernelExports } from '../wasm/kernels.js';

export const Ctrl = { SEQ: 0, OP: 1, DONE: 2, STOP: 3, PARTS: 4, ARG0: 8 } as const;
export const CTRL_INTS = 16;

export const JobOp = { Matvec: 1, MatvecF16: 2, MatvecQ8: 3, MatmulT: 4 } as const;

/** Rows [start, end) of part `p` of `parts`, in multiples of 4 rows so each keeps whole SIMD row tiles. */
export function partRange(total: number, parts: number, p: number): [number, number] {
  const per = Math.ceil(total / parts / 4) * 4;
  const start = Math.min(total, p * per);
  return [start, Math.min(total, start + per)];
}

/** Runs part `p` of the job described in `ctrl`. Arguments are byte addresses and counts. */
export function runPart(k: KernelExports, ctrl: Int32Array, p: number): void {
  const parts = ctrl[Ctrl.PARTS]!;
  const a = Ctrl.ARG0;
  switch (ctrl[Ctrl.OP]) {
    case JobOp.Matvec:
    case JobOp.MatvecF16: {
      // args: out, w, x, rows, cols, rowBytes
      const [s, e] = partRange(ctrl[a + 3]!, parts, p);
      if (e <= s) return;
      const fn = ctrl[Ctrl.OP] === JobOp.Matvec ? k.matvec : k.matvecF16;
      fn(ctrl[a]! + 4 * s, ctrl[a + 1]! + s * ctrl[a + 5]!, ctrl[a + 2]!, e - s, ctrl[a + 4]!);
      return;
    }
    case JobOp.MatvecQ8: {
      // args: out, q, scales, x, rows, cols
      const [s, e] = partRange(ctrl[a + 4]!, parts, p);
      if (e <= s) return;
      const cols = ctrl[a + 5]!;
      const blocks = Math.ceil(cols / 32);
      k.matvecQ8(ctrl[a]! + 4 * s, ctrl[a + 1]! + s * cols, ctrl[a + 2]! + 4 * s * blocks, ctrl[a + 3]!, e - s, cols);
      return;
    }
    case JobOp.MatmulT: {
      // args: out, a, b, m, n, k — split over the rows of A (and of out).
      const [s, e] = partRange(ctrl[a + 3]!, parts, p);
      if (e <= s) return;
      const n = ctrl[a + 4]!, kd = ctrl[a + 5]!;
      k.matmulT(ctrl[a]! + 4 * s * n, ctrl[a + 1]! + 4 * s * kd, ctrl[a + 2]!, e - s, n, kd);
      return;
    }
    default:
      throw new Error(`wasm thread pool: unknown job op ${ctrl[Ctrl.OP]}`);
  }
}
