// Shared test helpers: a seeded RNG (failures reproduce) and float comparison with a clear message.
import * as assert from 'uvu/assert';

/** Mulberry32: small, fast, deterministic. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform values in [-1, 1). */
export function randomArray(rand: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

/** A copy of src in storage from `backend.alloc` (e.g. inside the wasm backend's memory). */
export function copyInto(backend: { alloc(n: number): Float32Array }, src: Float32Array): Float32Array {
  const v = backend.alloc(src.length);
  v.set(src);
  return v;
}

/** The sizes the issue asks every kernel to survive, odd ones included. */
export const ODD_SIZES = [1, 3, 17, 33, 257] as const;

/** Asserts |actual - expected| <= atol + rtol·|expected| elementwise; NaN must match NaN. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string,
  rtol = 1e-5, atol = 1e-6): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!, e = expected[i]!;
    if (Number.isNaN(e)) { assert.ok(Number.isNaN(a), `${what}[${i}]: expected NaN, got ${a}`); continue; }
    if (a === e) continue;
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.unreachable(`${what}[${i}]: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)})`);
    }
  }
}
