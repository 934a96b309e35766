// The timed decode every side of the speed test runs (Node, and Chromium's bare worker): a fresh
// state, the two-token prompt [BOS, "Once"] (read first, not timed, as the page times only its
// decode), then `steps` greedy tokens. One function, so the sides differ only in the runtime.
import { argmax, createState, prefill, step, type Model } from '@msrnn/transformer';

export const PROMPT = [1, 403];

/** Milliseconds of wall time the decode took, and `cpuNs()`'s advance over it (0 when not given). */
export function timedDecode(model: Model, logitsOut: Float32Array, steps: number, cpuNs: () => number = () => 0): { ms: number; cpuNs: number } {
  const state = createState(model);
  try {
    let logits = prefill(model, state, PROMPT, { logitsOut });
    const t0 = performance.now(), cpu0 = cpuNs();
    for (let i = 0; i < steps; i++) logits = step(model, state, argmax(logits), logitsOut);
    return { ms: performance.now() - t0, cpuNs: cpuNs() - cpu0 };
  } finally {
    state.dispose();
  }
}

