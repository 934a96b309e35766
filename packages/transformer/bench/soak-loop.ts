// The soak loop shared by bench/soak.ts (100,000 tokens, by hand) and test/soak.test.ts (5,000, in
// CI): bounded generation (TOVA) token by token, sampling each next token, with a checkpoint every
// `every` tokens recording what must stay flat: resident memory, state bytes, the wasm heap's live
// bytes and the speed. A non-finite logit stops the run with an error naming the position.
import { getPolicy } from '@msrnn/policies';
import { Sampler, createState, step, type Model } from '../src/index.js';

export interface SoakOptions {
  tokens: number;
  /** Tokens between checkpoints. */
  every: number;
  /** TOVA's capacity k. */
  capacity: number;
  seed: number;
  /** Tokens generated before the first measured one (JIT warm-up; the state fills up). Default 0. */
  warmup?: number;
  /** Called before RSS is read at each checkpoint (a forced garbage collection, where available). */
  beforeSample?: () => void;
}

export interface Checkpoint {
  /** Tokens generated so far. */
  tokens: number;
  /** process.memoryUsage().rss at the checkpoint. */
  rssBytes: number;
  stateBytes: number;
  /** Live bytes of the wasm heap (null on the js backend). */
  heapUsedBytes: number | null;
  /** Tokens per second since the previous checkpoint: wall clock, and per second of this process's CPU time. */
  wallTokPerSec: number;
  cpuTokPerSec: number;
}

export function soak(model: Model, opts: SoakOptions, onCheckpoint: (c: Checkpoint) => void = () => {}): Checkpoint[] {
  const { tokens, every, capacity, seed } = opts;
  for (const [name, v] of Object.entries({ tokens, every, capacity })) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`soak: ${name} must be a positive integer, got ${v}`);
  }
  const warmup = opts.warmup ?? 0;
  if (!Number.isSafeInteger(warmup) || warmup < 0) throw new RangeError(`soak: warmup must be a non-negative integer, got ${warmup}`);
  const state = createState(model, { policy: getPolicy('tova', { capacity }) });
  const sampler = new Sampler(model.config.vocabSize, { temperature: 1, seed });
  const heap = (model.backend as { heap?: { usedBytes: number } }).heap;
  const out: Checkpoint[] = [];
  let token = 1;
  const next = (): void => {
    const logits = step(model, state, token);
    for (let i = 0; i < logits.length; i++) {
      if (!Number.isFinite(logits[i]!)) throw new Error(`soak: logit ${i} at position ${state.seen - 1} is ${logits[i]}`);
    }
    token = sampler.sample(logits);
  };
  try {
    for (let t = 0; t < warmup; t++) next();
    let wall0 = performance.now(), cpu0 = process.cpuUsage();
    for (let t = 1; t <= tokens; t++) {
      next();
      if (t % every === 0 || t === tokens) {
        const n = t - (out.at(-1)?.tokens ?? 0), cpu = process.cpuUsage(cpu0), wall = performance.now() - wall0;
        opts.beforeSample?.();
        const c: Checkpoint = {
          tokens: t, rssBytes: process.memoryUsage().rss, stateBytes: state.bytes(), heapUsedBytes: heap ? heap.usedBytes : null,
          wallTokPerSec: (n / wall) * 1000, cpuTokPerSec: n / ((cpu.user + cpu.system) / 1e6),
        };
        out.push(c);
        onCheckpoint(c);
        wall0 = performance.now(); cpu0 = process.cpuUsage();
      }
    }
  } finally {
    state.dispose();
  }
  return out;
}

/** (largest − smallest) / smallest of `values`: how far from flat a series is. */
export function spread(values: readonly number[]): number {
  return (Math.max(...values) - Math.min(...values)) / Math.min(...values);
}
