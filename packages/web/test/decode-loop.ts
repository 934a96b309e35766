// The timed decode every side of the speed test runs (Node, and Chromium's bare worker): a fresh
// state, the prompt's tokens (the page's prompt as the model's tokenizer encodes it; read first,
// not timed, as the page times only its decode), then `steps` greedy tokens. One function, so the
// sides differ only in the runtime; the tokens come back, so the test can check that every side
// (and the page) decoded the same.
import type { JobTime } from '@msrnn/tensor';

export interface ThreadJobs { shared: number; takenOver: number }
import { argmax, createState, prefill, step, type Model } from '@msrnn/transformer';

export interface TimedDecode {
  /** Wall time of the decode, and `cpuNs()`'s advance over it (0 when not given). */
  ms: number; cpuNs: number;
  tokens: number[];
  /**
   * Jobs the backend's thread pool shared with its workers during the decode (0 on one thread), and
   * worker chunks its caller took over (threads/rescue.ts): how its judge and its patience, timed by
   * the runtime's clock (5 µs steps in a cross-origin isolated browser), behaved.
   */
  threadJobs: ThreadJobs;
}

/** `pool`: the wasm backend's jobTime (null on one thread); `cpuNs`: the decoding thread's CPU clock. */
export function timedDecode(model: Model, logitsOut: Float32Array, prompt: readonly number[], steps: number,
  pool: Readonly<JobTime> | null, cpuNs: () => number = () => 0): TimedDecode {
  const state = createState(model);
  const tokens = new Int32Array(steps);
  try {
    let logits = prefill(model, state, prompt, { logitsOut });
    const jobs0 = pool?.jobs ?? 0, taken0 = pool?.takenOver ?? 0, t0 = performance.now(), cpu0 = cpuNs();
    for (let i = 0; i < steps; i++) {
      const token = argmax(logits);
      tokens[i] = token;
      logits = step(model, state, token, logitsOut);
    }
    return { ms: performance.now() - t0, cpuNs: cpuNs() - cpu0, tokens: [...tokens], threadJobs: { shared: (pool?.jobs ?? 0) - jobs0, takenOver: (pool?.takenOver ?? 0) - taken0 } };
  } finally {
    state.dispose();
  }
}
