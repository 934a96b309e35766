// The clock the pool times itself with, and its step. performance.now() is fine-grained in Node
// (sub-microsecond), but browsers coarsen it: 5-20 us with cross-origin isolation, 100 us or 1 ms
// without. Every duration the threads compare against a threshold (a take-over's patience, a spin's
// preemption gap, the split judge's windows) is floored at a few steps, so a coarse clock makes
// them longer, never zero.

/** Milliseconds since some origin (performance.now(), or a test's clock). */
export type Clock = () => number;

export const systemClock: Clock = () => performance.now();

/** Reads while looking for the clock's steps: bounds the look when the clock barely moves. */
const MAX_READS = 1_000_000;

/** The clock's step in ms: the smallest change seen over a few consecutive changes (1 if it never moved). */
export function clockTick(now: Clock = systemClock): number {
  let tick = Infinity, last = now();
  for (let reads = 0, changes = 0; changes < 4 && reads < MAX_READS; reads++) {
    const t = now();
    if (t !== last) { tick = Math.min(tick, t - last); last = t; changes++; }
  }
  return Number.isFinite(tick) ? tick : 1;
}
