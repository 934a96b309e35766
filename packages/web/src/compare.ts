// Two policies from one read of the prompt: the prompt is prefilled once under policy A, and
// policy B continues from a clone of that state (MultiState.cloneWithPolicy) — exact while the
// prompt fits both budgets and B keeps no per-entry statistics; otherwise B reads the prompt
// itself and the result says why. Each side then generates (the library's generate, as the CLI
// does) from its own clone, and scores the reference text token by token (log-probabilities).
import type { MultiState, Policy } from '@msrnn/msrnn';
import { createState, generate, prefill, Sampler, step, type Model, type SamplerOptions, type Tokenizer } from '@msrnn/transformer';

export interface CompareSide {
  policy: string;
  /** Whether this side continued from the shared prompt state (else: why it read the prompt itself). */
  shared: boolean;
  note: string | null;
  tokens: number[];
  text: string;
  /** log p(reference token i | prompt, reference tokens < i). */
  logprobs: number[];
}

export interface CompareResult { referencePieces: string[]; a: CompareSide; b: CompareSide }

export interface CompareOptions {
  prompt: string;
  reference: string;
  steps: number;
  sampling: SamplerOptions;
  /** Backend memory for the logits (model.backend.alloc(vocab)), reused across runs. */
  logitsOut: Float32Array;
}

/** Log-probability of `token` under `logits` (log-softmax, computed stably). */
export function logProb(logits: Float32Array, token: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let z = 0;
  for (let i = 0; i < logits.length; i++) z += Math.exp(logits[i]! - max);
  return logits[token]! - max - Math.log(z);
}

export async function comparePolicies(model: Model, tokenizer: Tokenizer, a: Policy, b: Policy, opts: CompareOptions): Promise<CompareResult> {
  const prompt = tokenizer.encode(opts.prompt);
  if (prompt.length === 0) throw new Error('the prompt encodes to no tokens');
  const ref = tokenizer.encode(opts.reference, { bos: false });
  if (ref.length === 0) throw new Error('the reference text encodes to no tokens');
  const vocab = model.config.vocabSize;
  const read = (policy: Policy) => {
    const state = createState(model, { policy });
    return { state, logits: prefill(model, state, prompt, { logitsOut: opts.logitsOut }).slice(0, vocab) };
  };
  const stateA = read(a);
  let stateB: { state: MultiState; logits: Float32Array }, note: string | null = null;
  try {
    stateB = { state: stateA.state.cloneWithPolicy(b), logits: stateA.logits };
  } catch (err) {
    note = `${(err as Error).message}; it read the prompt itself`;
    stateB = read(b);
  }
  const side = async (policy: Policy, from: { state: MultiState; logits: Float32Array }, shared: boolean, why: string | null): Promise<CompareSide> => {
    const tokens: number[] = [];
    let text = '';
    const sampler = new Sampler(vocab, opts.sampling);
    const branch = from.state.clone();
    for await (const piece of generate(model, tokenizer, branch, prompt, { maxNewTokens: opts.steps, sampler, startLogits: from.logits, logitsOut: opts.logitsOut })) {
      tokens.push(piece.token);
      text += piece.text;
    }
    branch.dispose(); // the page's wasm heap may not grow: every state goes back when done
    // The reference, read from the prompt's state (this side's own: the generation ran on a clone).
    const logprobs: number[] = [];
    let logits = from.logits;
    for (const t of ref) {
      logprobs.push(logProb(logits, t));
      logits = step(model, from.state, t, opts.logitsOut);
    }
    from.state.dispose();
    return { policy: policy.name, shared, note: why, tokens, text, logprobs };
  };
  return {
    referencePieces: ref.map((t, i) => tokenizer.tokenText(t, i > 0 ? ref[i - 1] : prompt.at(-1))),
    a: await side(a, stateA, true, null),
    b: await side(b, stateB, note === null, note),
  };
}
