// Next-token choice: greedy, temperature, top-k, top-p (nucleus), with a seeded xorshift RNG
// (run.c's generator), so the same seed gives the same text.
import { raw } from '@msrnn/tensor';

/** run.c's xorshift64* generator: random_u32 / random_f32. Deterministic for a given seed. */
export class XorShiftRng {
  private state: bigint;
  constructor(seed: number | bigint) {
    const s = BigInt.asUintN(64, BigInt(seed));
    if (s === 0n) throw new RangeError('RNG seed must be non-zero (xorshift has an all-zero fixed point)');
    this.state = s;
  }
  nextU32(): number {
    let s = this.state;
    s ^= s >> 12n;
    s = BigInt.asUintN(64, s ^ (s << 25n));
    s ^= s >> 27n;
    this.state = s;
    return Number(BigInt.asUintN(64, s * 0x2545f4914f6cdd1dn) >> 32n);
  }
  /** The generator's state (16 hex digits), to save and restore a sampling run exactly. */
  getState(): string {
    return this.state.toString(16).padStart(16, '0');
  }
  setState(hex: string): void {
    if (typeof hex !== 'string' || !/^[0-9a-f]{16}$/.test(hex) || /^0+$/.test(hex)) throw new RangeError(`RNG state must be 16 hex digits, not all zero, got ${JSON.stringify(hex)}`);
    this.state = BigInt(`0x${hex}`);
  }
  /** Uniform float32 in [0, 1). */
  nextFloat(): number {
    return (this.nextU32() >>> 8) / 16777216;
  }
}

export interface SamplerOptions {
  /** 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Nucleus: smallest set of tokens whose probability mass reaches p (1 = off). */
  topP?: number;
  /** RNG seed (positive integer). Default: clockSeed(). */
  seed?: number;
}

/** A seed from the clock, in [1, 2^31 - 1] (the one default; print it to make a run repeatable). */
export function clockSeed(): number {
  return (Date.now() % 2147483647) + 1;
}

/**
 * The sampler's settings with defaults filled in, each checked once here (the Sampler and
 * command lines use this); `names` renames an option in errors (e.g. { topP: '--top-p' }).
 */
export function samplerSettings(opts: SamplerOptions = {}, names: Partial<Record<keyof SamplerOptions, string>> = {}): Required<SamplerOptions> {
  const name = (k: keyof SamplerOptions) => names[k] ?? k;
  const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  const { temperature = 1, topK = 0, topP = 1 } = opts;
  const seed = opts.seed ?? clockSeed();
  if (typeof temperature !== 'number' || !(temperature >= 0) || !Number.isFinite(temperature)) throw new RangeError(`${name('temperature')} must be a finite number >= 0, got ${show(temperature)}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`${name('topK')} must be a non-negative integer, got ${show(topK)}`);
  if (typeof topP !== 'number' || !(topP > 0 && topP <= 1)) throw new RangeError(`${name('topP')} must be in (0, 1], got ${show(topP)}`);
  if (!Number.isSafeInteger(seed) || seed <= 0) throw new RangeError(`${name('seed')} must be a positive integer, got ${show(seed)}`);
  return { temperature, topK, topP, seed };
}

/** First maximum of logits[0, n) (NaN never chosen); all NaN (or n = 0) is an error, never -1. */
export function argmax(logits: Float32Array, n = logits.length): number {
  const best = raw.argmax(logits, 0, n);
  if (best < 0) throw noDistribution();
  return best;
}

export class Sampler {
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly seed: number;
  /** The RNG: its getState()/setState() save and resume a sampling run (generate --save-state / --resume). */
  readonly rng: XorShiftRng;
  private probs = new Float64Array(0);
  private order = new Int32Array(0);
  /** Descending probability, ties to the lower id; one function for the sampler's life, not one per token. */
  private readonly byProbability = (a: number, b: number): number => this.probs[b]! - this.probs[a]! || a - b;

  constructor(readonly vocabSize: number, opts: SamplerOptions = {}) {
    ({ temperature: this.temperature, topK: this.topK, topP: this.topP, seed: this.seed } = samplerSettings(opts));
    this.rng = new XorShiftRng(this.seed);
  }

  /** Picks the next token from `logits` (not modified). One RNG draw per non-greedy call, as run.c. */
  sample(logits: Float32Array): number {
    const n = this.vocabSize;
    if (this.temperature === 0) return argmax(logits, n);
    if (this.probs.length < n) { this.probs = new Float64Array(n); this.order = new Int32Array(n); }
    const p = this.probs;
    let max = -Infinity;
    for (let i = 0; i < n; i++) if (logits[i]! > max) max = logits[i]!;
    let sum = 0;
    for (let i = 0; i < n; i++) { const e = Math.exp((logits[i]! - max) / this.temperature); p[i] = e; sum += e; }
    // Any NaN logit (or all -Infinity, or +Infinity) makes sum NaN: there is nothing to sample from.
    if (!(sum > 0 && sum < Infinity)) throw noDistribution();
    for (let i = 0; i < n; i++) p[i]! /= sum;
    const coin = this.rng.nextFloat();
    if (this.topK === 0 && this.topP >= 1) return sampleMultinomial(p, n, coin);
    return this.sampleTruncated(p, n, coin);
  }

  /**
   * run.c's sample_topp, with an optional top-k cut first: candidates sorted by probability
   * (those below (1-p)/(n-1) cannot be in the nucleus and are skipped), truncated where the
   * cumulative probability first exceeds p, then sampled with coin · (kept mass).
   */
  private sampleTruncated(p: Float64Array, n: number, coin: number): number {
    const cutoff = this.topP < 1 ? (1 - this.topP) / (n - 1) : 0;
    let m = 0;
    for (let i = 0; i < n; i++) if (p[i]! >= cutoff) this.order[m++] = i;
    const order = this.order.subarray(0, m);
    order.sort(this.byProbability);
    let last = this.topK > 0 ? Math.min(this.topK, m) - 1 : m - 1;
    let mass = 0;
    for (let i = 0; i <= last; i++) {
      mass += p[order[i]!]!;
      if (mass > this.topP) { last = i; break; }
    }
    const target = coin * mass;
    let acc = 0;
    for (let i = 0; i <= last; i++) {
      acc += p[order[i]!]!;
      if (target < acc) return order[i]!;
    }
    return order[last]!;
  }
}

function noDistribution(): RangeError {
  return new RangeError('sampler: the logits are NaN or infinite, so they give no distribution (are the model weights corrupt?)');
}

function sampleMultinomial(p: Float64Array, n: number, coin: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += p[i]!;
    if (coin < acc) return i;
  }
  return n - 1;
}
