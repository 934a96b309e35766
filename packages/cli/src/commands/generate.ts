// `msrnn generate`: stream a continuation of a prompt through a (bounded or unbounded)
// multi-state RNN, then report speed and the state's size.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { getPolicy, policyNames, policyTable } from '@msrnn/policies';
import { checkPromptActivations, type Backend, type KvType, type PromptActivations, type WeightType } from '@msrnn/tensor';
import type { Policy } from '@msrnn/msrnn';
import { encodeChat } from '@msrnn/transformer/chat';
import { Sampler, SentinelStream, quantizeModel, createState, generate, loadModel, restoreState, samplerSettings, type PositionMode } from '@msrnn/transformer';
import {
  addBackendOptions, addKvBytesOption, addModelOptions, checkKvBytesPolicies, addSlidingWindowOption, parseSlidingWindow, checkStateMemory, stateMemoryLimit, addStateOptions, parseByteSize, policyForBytes, defaultModelFiles, integerOrRaw, loadTokenizerFor, parseCapacity, parseNonNegativeInt, parseNumber, parsePositiveInt, parseRatio, parseWeightType,
  parseStateOptions, selectBackendFor, type BackendFlags, type ModelFiles, type ModelFlags, type StateFlags,
} from '../options.js';
import { count, note, processIo, type CliIo } from '../io.js';
import { looksBinary } from '../ppl/corpus.js';
import { describeSentinelSpec, everySpecOf, parseSentinelSpec, readSentinelIds, SENTINEL_HELP, spanRuleFor, type SentinelSpec } from '../sentinel/spec.js';

interface GenerateFlags extends ModelFlags, StateFlags, BackendFlags {
  slidingWindow?: string;
  prompt: string;
  promptFile?: string;
  steps: string;
  temperature: string;
  topP: string;
  topK: string;
  seed?: string;
  policy: string;
  capacity?: string;
  kvBytes?: string;
  ratio?: string;
  chunkSize: string;
  promptActivations: string;
  weights: string;
  progress: boolean;
  json: boolean;
  chat: boolean;
  system?: string;
  saveState?: string;
  resume?: string;
  sentinel?: string;
}

/** Tokens of context a saved run keeps for the text decoder (a leading space after the last token). */
const RESUME_CONTEXT = 8;

/** Prompts at least this long get a progress bar for their prefill (when stderr is a terminal). */
const PROGRESS_MIN_TOKENS = 512;

/**
 * `select` picks the kernels from --backend / --threads; a test passes its own backend to watch what a
 * run leaves on it.
 */
export function registerGenerate(program: Command, io: CliIo = processIo, select: typeof selectBackendFor = selectBackendFor): void {
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
    .option('--ratio <r>', `budget as a fraction of the tokens seen, in (0, 1] (${policyTable.filter((e) => e.needsRatio).map((e) => e.name).join(' and ')} need it)`)
    .option('--sentinel <spec>', `${SENTINEL_HELP}; composes with --policy (spans leave first, then its budget)`);
  addSlidingWindowOption(addKvBytesOption(addStateOptions(command)))
    .option('--chunk-size <n>', 'prompt tokens per prefill matmul chunk', '64')
    .option('--prompt-activations <mode>', 'exact, or q8_0: prompt chunks round their activations to int8 per 32 values for Q8_0 and Q4_0 weights (wasm), as ggml does: faster prompts, logits differ slightly from exact', 'exact');
  addBackendOptions(command)
    .option('--weights <type>', 'weight matrices: f32, f16 (half the bytes) or q8 (int8 blocks of 32, a quarter)', 'f32')
    .option('--no-progress', 'no progress bar for long prompts')
    .option('--json', 'print one JSON object (prompt and generated token ids, text, timings, state bytes) instead of streaming text', false)
    .option('--chat', 'the prompt is a user message, formatted by the model\'s own chat template (GGUF tokenizer.chat_template); prints the reply', false)
    .option('--system <text>', 'with --chat: a system message before the user\'s')
    .option('--save-state <file>', 'after generating, write the state, the last logits and the sampler\'s RNG state to FILE (continue with --resume)')
    .option('--resume <file>', 'continue a run saved with --save-state, token for token: its policy, sentinel stream (if any), sampling settings and RNG state are used (no --prompt)')
    .action(async (flags: GenerateFlags) => {
      await runGenerate(flags, io, select);
    });
}

async function runGenerate(flags: GenerateFlags, io: CliIo, select: typeof selectBackendFor): Promise<void> {
  const steps = parseNonNegativeInt('--steps', flags.steps);
  // Checked now (before the model loads) by the sampler's own rules; no --seed: one from the clock, printed.
  const { temperature, topP, topK, seed } = samplerSettings({
    temperature: parseNumber('--temperature', flags.temperature),
    topP: parseNumber('--top-p', flags.topP),
    topK: integerOrRaw(flags.topK) as number,
    ...(flags.seed !== undefined ? { seed: integerOrRaw(flags.seed) as number } : {}),
  }, { temperature: '--temperature', topP: '--top-p', topK: '--top-k', seed: '--seed' });
  const weights = parseWeightType('--weights', flags.weights);
  const chunkSize = parsePositiveInt('--chunk-size', flags.chunkSize);
  const promptActivations = checkPromptActivations(flags.promptActivations, '--prompt-activations');
  const { sinks, positionMode, kv } = parseStateOptions(flags);
  const capacity = flags.capacity === undefined ? undefined : parseCapacity('--capacity', flags.capacity);
  const kvBytes = flags.kvBytes === undefined ? undefined : parseByteSize('--kv-bytes', flags.kvBytes);
  if (kvBytes !== undefined && capacity !== undefined) throw new Error('give --capacity or --kv-bytes, not both');
  if (kvBytes !== undefined) checkKvBytesPolicies('--policy', [flags.policy]);
  const makePolicy = (k: number | undefined) => getPolicy(flags.policy, {
    ...(k !== undefined ? { capacity: k } : {}),
    sinks,
    ...(flags.ratio !== undefined ? { ratio: parseRatio('--ratio', flags.ratio) } : {}),
    seed,
  });
  // Checked now, before the model loads; with --kv-bytes the capacity comes from the model's shape.
  const policy = makePolicy(kvBytes !== undefined ? 1 : capacity);

  const sentinel = flags.sentinel !== undefined ? parseSentinelSpec('--sentinel', flags.sentinel) : null;
  if (sentinel && flags.resume !== undefined) throw new Error('--resume continues the saved run with its own sentinel stream, if it had one: give no --sentinel');
  if (sentinel?.rule === 'ratio' && flags.saveState !== undefined) {
    throw new Error('--save-state: --sentinel ratio=R draws its spans for this run\'s length, so the run could not continue past it; use --sentinel every=N, whose rule goes on');
  }
  const prompt = readPrompt(flags, io);
  if (flags.resume !== undefined && (prompt !== '' || flags.chat)) throw new Error('--resume continues the saved text: give no --prompt, --prompt-file or --chat');
  if (!flags.chat && flags.system !== undefined) throw new Error('--system needs --chat');
  const files = defaultModelFiles(flags);
  const selection = await select(flags, (line) => note(io, `msrnn generate: ${line}`));
  try {
    await generateWith(flags, io, files, selection.backend, selection.note, { prompt, steps, temperature, topP, topK, seed, chunkSize, promptActivations, positionMode, kv, policy, makePolicy, kvBytes, weights, sentinel });
  } finally {
    await selection.dispose();
  }
}

interface Settings {
  prompt: string; steps: number; temperature: number; topP: number; topK: number; seed: number; chunkSize: number; promptActivations: PromptActivations;
  positionMode: PositionMode; kv: KvType; policy: Policy; weights: WeightType; sentinel: SentinelSpec | null;
  /** With --kv-bytes: the budget, and the policy at a given capacity. */
  kvBytes: number | undefined; makePolicy: (capacity: number) => Policy;
}

async function generateWith(flags: GenerateFlags, io: CliIo, files: ModelFiles, backend: Backend, selectionNote: string | undefined, settings: Settings): Promise<void> {
  const { prompt, steps, temperature, topP, topK, seed, chunkSize, promptActivations, positionMode, kv } = settings;
  let policy = settings.policy;
  if (selectionNote) note(io, selectionNote);
  const loaded = await loadModel(files.model, { backend, ...parseSlidingWindow(flags.slidingWindow) });
  if (settings.weights !== 'f32' && loaded.metadata !== null) {
    // --weights converts float32 matrices; a GGUF file's already have their types.
    note(io, `msrnn generate: warning: --weights ${settings.weights} is ignored: ${files.model} runs in its own types (${loaded.format})`);
  }
  const model = loaded.metadata !== null ? loaded : quantizeModel(loaded, settings.weights);
  // What this run takes from the backend goes back when it ends, also on an error: the model, the
  // state, the logits buffer (so a program calling it again leaves the wasm heap as it found it).
  const taken: Array<{ dispose(): void }> = [model];
  try {
    const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn generate: ${line}`));
    const c = model.config;
    note(io,
      `model: ${files.model} (${files.origin}; ${model.format}, ${backend.name} backend, dim ${c.dim}, ${c.nLayers} layers, ${c.nHeads}/${c.nKvHeads} heads, vocab ${c.vocabSize})`,
    );
    if (settings.kvBytes !== undefined) {
      const budgeted = policyForBytes('--kv-bytes', model, settings.kvBytes, kv, settings.makePolicy);
      policy = budgeted.policy;
      note(io, budgeted.line);
    }
    checkStateMemory(settings.kvBytes !== undefined ? '--kv-bytes' : '--capacity', model, policy, 'heap' in backend, kv);
    let resumed: ReturnType<typeof restoreState> | undefined;
    if (flags.resume !== undefined) {
      let bytes: Uint8Array;
      try { bytes = readFileSync(flags.resume); } catch (err: any) { throw new Error(`--resume ${flags.resume}: ${err?.code ?? err?.message ?? err}`); }
      // The user asked for this state: allow it up to the memory a state can have (as --capacity is checked).
      resumed = restoreState(model, bytes, { source: flags.resume, maxStateBytes: stateMemoryLimit('heap' in backend) });
      taken.push(resumed.state);
    }
    const saved = resumed?.meta as undefined | { sampler?: { temperature: number; topP: number; topK: number; seed: number; rng: string }; logits?: string; context?: number[] };
    if (resumed && (!saved?.sampler || typeof saved.logits !== 'string' || !Array.isArray(saved.context))) {
      throw new Error(`--resume ${flags.resume}: the state was not saved by msrnn generate --save-state (no sampler, logits or context)`);
    }
    const messages = [...(flags.system !== undefined ? [{ role: 'system', content: flags.system }] : []), { role: 'user', content: prompt }];
    const promptTokens = resumed ? saved!.context! : flags.chat ? encodeChat(model, tokenizer, messages).tokens : tokenizer.encode(prompt);
    // Sentinel compression: spans from its rule over prompt + new tokens; the policy's budget applies after them.
    const sentinels = resumed ? resumed.sentinels : settings.sentinel
      ? new SentinelStream(model, {
        ids: readSentinelIds(files.model, c.vocabSize), spans: spanRuleFor(settings.sentinel, promptTokens.length + steps), policy, positionMode: policy.positionMode ?? positionMode, kv,
      })
      : undefined;
    const state = resumed ? resumed.state : sentinels ? sentinels.state : createState(model, { policy, positionMode: policy.positionMode ?? positionMode, kv });
    if (!resumed) taken.push(state);
    // A resumed run reports its saved stream's rule.
    const sentinelSpec = settings.sentinel ?? (sentinels ? everySpecOf(sentinels.spans) : null);
    const sampling = saved?.sampler ?? { temperature, topP, topK, seed };
    const sampler = new Sampler(c.vocabSize, sampling);
    if (saved?.sampler) sampler.rng.setState(saved.sampler.rng);
    let startLogits: Float32Array | undefined;
    if (saved?.logits !== undefined) {
      const raw = Buffer.from(saved.logits, 'base64');
      if (raw.length !== c.vocabSize * 4) throw new Error(`--resume ${flags.resume}: saved logits hold ${raw.length / 4} floats, the vocabulary ${c.vocabSize}`);
      startLogits = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.length));
    }
    if (resumed) note(io, `resumed ${flags.resume}: ${state.seen} tokens seen; its policy, kv type${sentinels ? ', sentinel stream' : ''} and sampling settings are used`);
    note(io,
      `state: policy ${state.policy.name}${state.policy.describe?.() ? ` (${state.policy.describe()})` : ''}${sentinelSpec ? `, ${describeSentinelSpec(sentinelSpec)}` : ''}, capacity ${state.capacity} (${state.bytes()} bytes allocated${state.bounded ? ', never more' : ', growing as needed'}), kv ${state.kv}, positions ${state.positionMode}; ` +
      `seed ${sampling.seed}, temperature ${sampling.temperature}, top-p ${sampling.topP}, top-k ${sampling.topK}`,
    );

    // A chat prints the reply only; plain generation echoes the prompt it continues.
    const echo = flags.chat ? '' : prompt;
    const longest = promptTokens.length + steps;
    if (longest > c.seqLen) {
      // Not an error: a bounded state runs at any length, and an unbounded one may be asked to.
      note(io,
        `msrnn generate: warning: prompt (${count(promptTokens.length, 'token')}) + --steps ${steps} can run past the trained context of ${files.model} (${c.seqLen} tokens); ` +
        (state.bounded ? 'the state stays bounded, but positions past the context are new to the model' : 'the unbounded state keeps growing and text past the context degrades'),
      );
    }
    const bar = !resumed && flags.progress && io.stderr.isTTY && promptTokens.length >= PROGRESS_MIN_TOKENS
      ? new SingleBar({ format: 'prefill [{bar}] {value}/{total} tokens', stream: io.stderr as NodeJS.WritableStream, clearOnComplete: true })
      : null;
    bar?.start(promptTokens.length, 0);

    // --json: nothing streams; the text and token ids go into one object at the end.
    const json = flags.json;
    const out = json ? { write: (_: string) => {} } : io.stdout;
    const generatedTokens: number[] = [];
    let text = '';
    const t0 = performance.now();
    let tFirst = 0;
    let generated = 0;
    const logitsOut = model.backend.alloc(c.vocabSize);
    taken.push({ dispose: () => model.backend.free?.(logitsOut) });
    for await (const piece of generate(model, tokenizer, state, promptTokens, {
      maxNewTokens: steps, sampler, logitsOut, ...(startLogits ? { startLogits } : {}), ...(sentinels ? { sentinels } : {}),
      prefill: { chunkSize, activations: promptActivations, onProgress: (done) => bar?.update(done) },
    })) {
      if (generated === 0) {
        // Echo the prompt only after prefill, so the progress bar (stderr) never interleaves with it.
        tFirst = performance.now();
        bar?.stop();
        out.write(echo);
      }
      generated++;
      generatedTokens.push(piece.token);
      text += piece.text;
      out.write(piece.text);
    }
    bar?.stop();
    const t1 = performance.now();
    if (generated === 0) { tFirst = t1; out.write(echo); }
    out.write('\n');
    const prefillMs = tFirst - t0;
    // The first sample comes right after prefill; the remaining tokens each cost one step.
    const genSeconds = (t1 - tFirst) / 1000;
    note(io,
      `prompt ${count(promptTokens.length, 'token')}, prefill ${prefillMs.toFixed(1)} ms (${(promptTokens.length / (prefillMs / 1000)).toFixed(0)} tok/s); ` +
      `generated ${count(generated, 'token')} in ${genSeconds.toFixed(2)} s: ${generated > 1 ? ((generated - 1) / genSeconds).toFixed(1) : 'n/a'} tok/s`,
    );
    if (flags.saveState !== undefined) {
      const context = [...promptTokens, ...generatedTokens].slice(-RESUME_CONTEXT);
      const bytes = (sentinels ?? state).save({
        sampler: { ...sampling, rng: sampler.rng.getState() },
        logits: Buffer.from(logitsOut.buffer, logitsOut.byteOffset, c.vocabSize * 4).toString('base64'),
        context,
      });
      try { writeFileSync(flags.saveState, bytes); } catch (err: any) { throw new Error(`--save-state ${flags.saveState}: ${err?.code ?? err?.message ?? err}`); }
      note(io, `saved state: ${flags.saveState} (${bytes.length} bytes, ${state.seen} tokens seen)`);
    }
    note(io, `state: ${state.bytes()} bytes after ${count(state.seen, 'token')} (${stateSummary(state.layers[0]!.maxCount, state.capacity)})`);
    if (sentinels) note(io, `sentinel: ${count(sentinels.spansClosed, 'span')} compressed${sentinels.spanOpen ? ', one still open' : ''}, ${state.layers[0]!.maxCount} entries kept per layer for ${count(sentinels.textSeen, 'text token')}`);
    if (json) {
      io.stdout.write(`${JSON.stringify({
        model: files.model, format: model.format, backend: backend.name,
        policy: state.policy.name, sentinel: sentinelSpec ? describeSentinelSpec(sentinelSpec) : null, capacity: state.capacity === Infinity ? 'Infinity' : state.capacity, position_mode: positionMode, kv: state.kv,
        seed, temperature, top_p: topP, top_k: topK,
        prompt, prompt_tokens: promptTokens, generated_tokens: generatedTokens, text,
        timings: {
          prefill_ms: prefillMs, generate_ms: genSeconds * 1000,
          tokens_per_second: generated > 1 ? (generated - 1) / genSeconds : null,
        },
        state_bytes: state.bytes(), state_tokens_seen: state.seen, state_entries_per_layer: state.layers[0]!.maxCount,
      })}\n`);
    }
  } finally {
    for (const t of taken.reverse()) t.dispose();
  }
}

function readPrompt(flags: GenerateFlags, io: CliIo): string {
  if (flags.promptFile === undefined) return flags.prompt;
  if (flags.prompt !== '') throw new Error('give either --prompt or --prompt-file, not both');
  let text: string;
  try {
    text = readFileSync(flags.promptFile, 'utf8');
  } catch (err: any) {
    throw new Error(`--prompt-file ${flags.promptFile}: ${err?.code ?? err?.message ?? err}`);
  }
  // The same check (and words) as ppl and trace give their texts.
  if (looksBinary(text)) note(io, `msrnn generate: warning: --prompt-file ${flags.promptFile}: does not look like UTF-8 text (NUL bytes or invalid UTF-8); using it anyway`);
  return text;
}

function stateSummary(kept: number, capacity: number): string {
  return capacity === Infinity ? `unbounded, ${kept} entries per layer` : `bounded at ${capacity}, ${kept} entries per layer`;
}
