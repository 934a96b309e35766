// `msrnn generate`: stream a continuation of a prompt through a (bounded or unbounded)
// multi-state RNN, then report speed and the state's size.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { getPolicy, policyNames } from '@msrnn/policies';
import { parseWeightType } from '@msrnn/tensor';
import type { Backend } from '@msrnn/tensor';
import type { Policy } from '@msrnn/msrnn';
import { quantizeModel, createState, generate, loadModel, type PositionMode } from '@msrnn/transformer';
import {
  addBackendOptions, addModelOptions, addStateOptions, defaultModelFiles, loadTokenizerFor, parseCapacity, parseFloatOption, parseNonNegativeInt, parsePositiveInt, parseRatio,
  parseStateOptions, selectBackendFor, type BackendFlags, type ModelFiles, type ModelFlags, type StateFlags,
} from '../options.js';

interface GenerateFlags extends ModelFlags, StateFlags, BackendFlags {
  prompt: string;
  promptFile?: string;
  steps: string;
  temperature: string;
  topP: string;
  topK: string;
  seed?: string;
  policy: string;
  capacity?: string;
  ratio?: string;
  chunkSize: string;
  weights: string;
  progress: boolean;
}

/** Prompts at least this long get a progress bar for their prefill (when stderr is a terminal). */
const PROGRESS_MIN_TOKENS = 512;

export function registerGenerate(program: Command): void {
  const command = program
    .command('generate')
    .description('generate text from a prompt, streaming; then print tokens/s and the state size');
  addModelOptions(command)
    .option('--prompt <text>', 'prompt text', '')
    .option('--prompt-file <file>', 'read the prompt from a UTF-8 file (long prompts get a prefill progress bar)')
    .option('--steps <n>', 'new tokens to generate at most', '256')
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', '1.0')
    .option('--top-p <p>', 'nucleus sampling threshold in (0, 1]; 1 = off', '0.9')
    .option('--top-k <k>', 'sample among the k most likely tokens; 0 = off', '0')
    .option('--seed <n>', 'RNG seed (positive integer); default: from the clock (printed)')
    .option('--policy <name>', `compression policy: ${policyNames.join(', ')}`, 'full')
    .option('--capacity <k>', 'entries kept per layer (positive integer) or Infinity; required by every policy but full')
    .option('--ratio <r>', 'budget as a fraction of the tokens seen, in (0, 1] (local and scattered need it)');
  addStateOptions(command)
    .option('--chunk-size <n>', 'prompt tokens per prefill matmul chunk', '64');
  addBackendOptions(command)
    .option('--weights <type>', 'weight matrices: f32, f16 (half the bytes) or q8 (int8 blocks of 32, a quarter)', 'f32')
    .option('--no-progress', 'no progress bar for long prompts')
    .action(async (flags: GenerateFlags) => {
      await runGenerate(flags);
    });
}

async function runGenerate(flags: GenerateFlags): Promise<void> {
  const steps = parseNonNegativeInt('--steps', flags.steps);
  const temperature = parseFloatOption('--temperature', flags.temperature, (x) => x >= 0, 'a number >= 0');
  const topP = parseFloatOption('--top-p', flags.topP, (x) => x > 0 && x <= 1, 'a number in (0, 1]');
  const topK = parseNonNegativeInt('--top-k', flags.topK);
  const seed = flags.seed === undefined ? (Date.now() % 2147483646) + 1 : parsePositiveInt('--seed', flags.seed);
  const chunkSize = parsePositiveInt('--chunk-size', flags.chunkSize);
  const { sinks, positionMode } = parseStateOptions(flags);
  const capacity = flags.capacity === undefined ? undefined : parseCapacity('--capacity', flags.capacity);
  const policy = getPolicy(flags.policy, {
    ...(capacity !== undefined ? { capacity } : {}),
    sinks,
    ...(flags.ratio !== undefined ? { ratio: parseRatio('--ratio', flags.ratio) } : {}),
    seed,
  });

  const prompt = readPrompt(flags);
  const files = defaultModelFiles(flags);
  const selection = await selectBackendFor(flags);
  try {
    await generateWith(flags, files, selection.backend, selection.note, { prompt, steps, temperature, topP, topK, seed, chunkSize, positionMode, policy });
  } finally {
    await selection.dispose();
  }
}

interface Settings {
  prompt: string; steps: number; temperature: number; topP: number; topK: number; seed: number; chunkSize: number;
  positionMode: PositionMode; policy: Policy;
}

async function generateWith(flags: GenerateFlags, files: ModelFiles, backend: Backend, note: string | undefined, settings: Settings): Promise<void> {
  const { prompt, steps, temperature, topP, topK, seed, chunkSize, positionMode, policy } = settings;
  if (note) console.error(note);
  const model = quantizeModel(await loadModel(files.model, { backend }), parseWeightType(flags.weights));
  const tokenizer = await loadTokenizerFor(files, model.config.vocabSize);
  const c = model.config;
  console.error(
    `model: ${files.model} (${files.origin}; ${model.format}, ${backend.name} backend, dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads}/${c.nKvHeads} heads, vocab ${c.vocabSize})`,
  );
  const state = createState(model, { policy, positionMode: policy.positionMode ?? positionMode });
  console.error(
    `state: policy ${policy.name}${policy.describe?.() ? ` (${policy.describe()})` : ''}, capacity ${state.capacity}, positions ${state.positionMode}; ` +
    `seed ${seed}, temperature ${temperature}, top-p ${topP}, top-k ${topK}`,
  );

  const promptTokens = tokenizer.encode(prompt);
  const longest = promptTokens.length + steps;
  if (longest > c.seqLen) {
    // Not an error: a bounded state runs at any length, and an unbounded one may be asked to.
    console.warn(
      `msrnn generate: warning: prompt (${promptTokens.length} tokens) + --steps ${steps} can run past the trained context of ${files.model} (${c.seqLen} tokens); ` +
      (state.bounded ? 'the state stays bounded, but positions past the context are new to the model' : 'the unbounded state keeps growing and text past the context degrades'),
    );
  }
  const bar = flags.progress && process.stderr.isTTY && promptTokens.length >= PROGRESS_MIN_TOKENS
    ? new SingleBar({ format: 'prefill [{bar}] {value}/{total} tokens', stream: process.stderr, clearOnComplete: true })
    : null;
  bar?.start(promptTokens.length, 0);

  const out = process.stdout;
  const t0 = performance.now();
  let tFirst = 0;
  let generated = 0;
  for await (const piece of generate(model, tokenizer, state, promptTokens, {
    maxNewTokens: steps, temperature, topP, topK, seed,
    prefill: { chunkSize, onProgress: (done) => bar?.update(done) },
  })) {
    if (generated === 0) {
      // Echo the prompt only after prefill, so the progress bar (stderr) never interleaves with it.
      tFirst = performance.now();
      bar?.stop();
      out.write(prompt);
    }
    generated++;
    out.write(piece.text);
  }
  bar?.stop();
  const t1 = performance.now();
  if (generated === 0) { tFirst = t1; out.write(prompt); }
  out.write('\n');
  const prefillMs = tFirst - t0;
  // The first sample comes right after prefill; the remaining tokens each cost one step.
  const genSeconds = (t1 - tFirst) / 1000;
  console.error(
    `prompt ${promptTokens.length} tokens, prefill ${prefillMs.toFixed(1)} ms (${(promptTokens.length / (prefillMs / 1000)).toFixed(0)} tok/s); ` +
    `generated ${generated} tokens in ${genSeconds.toFixed(2)} s: ${generated > 1 ? ((generated - 1) / genSeconds).toFixed(1) : 'n/a'} tok/s`,
  );
  console.error(`state: ${state.bytes()} bytes after ${state.seen} tokens (${stateSummary(state.layers[0]!.maxCount, state.capacity)})`);
}

function readPrompt(flags: GenerateFlags): string {
  if (flags.promptFile === undefined) return flags.prompt;
  if (flags.prompt !== '') throw new Error('give either --prompt or --prompt-file, not both');
  try {
    return readFileSync(flags.promptFile, 'utf8');
  } catch (err: any) {
    throw new Error(`--prompt-file ${flags.promptFile}: ${err?.code ?? err?.message ?? err}`);
  }
}

function stateSummary(kept: number, capacity: number): string {
  return capacity === Infinity ? `unbounded, ${kept} entries per layer` : `bounded at ${capacity}, ${kept} entries per layer`;
}
