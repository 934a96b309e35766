// One run on one chunk: feed the chunk through a fresh state under the run's policy and add up the
// negative log-likelihood of each scored token. Exact per-token semantics: prefill runs attention
// and eviction token by token (only the projections are batched), so the prediction of token t+1
// uses the bounded state as it stood after token t — the paper's evaluation.
import { wrapPolicy, type Policy } from '@msrnn/msrnn';
import { selectBackend, type KvType } from '@msrnn/tensor';
import { createState, loadModel, prefill, SentinelStream, type Model, type PositionMode } from '@msrnn/transformer';
import { spanRuleFor } from '../sentinel/spec.js';
import type { SweepInput } from './jobs.js';
import { makeRunPolicy, type RunSpec } from './runs.js';

export interface ChunkScore {
  /** Σ NLL over scored predictions (nats). */
  nll: number;
  predictions: number;
  /** Σ over steps of layer 0's entries after eviction, and the step count: the mean state size. */
  keptSum: number;
  keptSteps: number;
}

/** -log softmax(logits)[target] in float64. */
export function tokenNll(logits: Float32Array, target: number, vocab: number): number {
  let max = -Infinity;
  for (let i = 0; i < vocab; i++) if (logits[i]! > max) max = logits[i]!;
  let z = 0;
  for (let i = 0; i < vocab; i++) z += Math.exp(logits[i]! - max);
  return max + Math.log(z) - logits[target]!;
}

/** Wraps a policy to count how many entries layer 0 keeps after each step. */
function countingPolicy(inner: Policy, score: ChunkScore): Policy {
  return wrapPolicy(inner, (layer, step) => {
    inner.afterAttention(layer, step);
    if (layer.index === 0) {
      score.keptSum += layer.maxCount;
      score.keptSteps++;
    }
  });
}

/** The sweep's model on its kernels: one copy per worker thread, or one inline. */
export async function loadSweepModel(input: SweepInput): Promise<Model> {
  return loadModel(input.modelPath, { backend: (await selectBackend({ backend: input.backend ?? 'auto' })).backend });
}

/** Job j of a sweep: run floor(j / chunks) on chunk j % chunks. */
export function scoreJob(model: Model, input: SweepInput, job: number): ChunkScore {
  const n = input.chunks.length, run = input.runs[Math.floor(job / n)]!, chunk = input.chunks[job % n]!;
  if (input.sentinel) return scoreSentinelChunk(model, run, chunk, input.sentinel, job % n, input.kv ?? 'f32');
  return scoreChunk(model, run, chunk, input.positionMode, job % n, input.kv ?? 'f32');
}

/**
 * NaN is an error, never a result: a non-finite NLL (NaN or infinite logits, e.g. from corrupt or
 * overflowing weights) stops the run, naming the chunk and position.
 */
export function nonFiniteError(what: string, value: number, chunk: number, position: number, runName: string): RangeError {
  return new RangeError(`${what} is ${value} at chunk ${chunk}, position ${position} (${runName}): the model produced non-finite logits (corrupt or overflowing weights?)`);
}

export function scoreChunk(model: Model, run: RunSpec, chunk: Int32Array, positionMode: PositionMode = 'absolute', chunkIndex = 0, kv: KvType = 'f32'): ChunkScore {
  const score: ChunkScore = { nll: 0, predictions: 0, keptSum: 0, keptSteps: 0 };
  const policy = makeRunPolicy(run);
  // A policy that fixes its position mode (StreamingLLM re-indexes) keeps it; the others take the sweep's.
  const state = createState(model, { policy: countingPolicy(policy, score), positionMode: policy.positionMode ?? positionMode, kv });
  const vocab = model.config.vocabSize;
  // Logits at position p predict token p+1; with a prompt of P tokens the first scored target is P.
  const firstTarget = Math.max(1, run.prompt);
  prefill(model, state, chunk.subarray(0, chunk.length - 1), {
    onLogits(position, logits) {
      const target = position + 1;
      if (target < firstTarget) return;
      const nll = tokenNll(logits, chunk[target]!, vocab);
      if (!Number.isFinite(nll)) throw nonFiniteError('the NLL', nll, chunkIndex, position, `policy ${run.policy}${run.capacity !== null ? ` at capacity ${run.capacity}` : ''}`);
      score.nll += nll;
      score.predictions++;
    },
  });
  return score;
}

/**
 * The paper's protocol under sentinel compression (then the run's policy): text token i is scored
 * from the element just before it in the stream (a text token, <CL> or <CR>); sentinels are never
 * scored. Chunk c draws the ratio rule's spans from stream c, as tools/train/finetune.py evaluates.
 * The state size is counted at each scored prediction (entries the prediction attended).
 */
export function scoreSentinelChunk(model: Model, run: RunSpec, chunk: Int32Array, sentinel: NonNullable<SweepInput['sentinel']>, chunkIndex = 0, kv: KvType = 'f32'): ChunkScore {
  const score: ChunkScore = { nll: 0, predictions: 0, keptSum: 0, keptSteps: 0 };
  const stream = new SentinelStream(model, { ids: sentinel.ids, spans: spanRuleFor(sentinel.spec, chunk.length, chunkIndex), policy: makeRunPolicy(run), kv });
  const vocab = model.config.vocabSize, firstTarget = Math.max(1, run.prompt), layer0 = stream.state.layers[0]!;
  const logitsOut = model.backend.alloc(vocab);
  for (let i = 0; i + 1 < chunk.length; i++) {
    const logits = stream.text(chunk[i]!, logitsOut);
    if (i + 1 < firstTarget) continue;
    const nll = tokenNll(logits, chunk[i + 1]!, vocab);
    if (!Number.isFinite(nll)) throw nonFiniteError('the NLL', nll, chunkIndex, i, `${stream.state.policy.name}${run.capacity !== null ? ` at capacity ${run.capacity}` : ''}`);
    score.nll += nll;
    score.predictions++;
    score.keptSum += layer0.maxCount;
    score.keptSteps++;
  }
  return score;
}
