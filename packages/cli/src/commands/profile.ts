// `msrnn profile`: where a prompt's and a decode's time goes, per thread. Runs one prefill and then
// a decode of a model file in this process under node:inspector's Profiler (the wasm backend's
// worker threads too, ../profile/all-threads.ts) and prints each thread's self time per function:
// wasm kernels by name, JS functions by name and file, with their share of the thread's time.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { checkPromptActivations, selectBackend, type BackendSelection, type KvType, type PromptActivations } from '@msrnn/tensor';
import type { MultiState } from '@msrnn/msrnn';
import { createState, loadModel, prefill, quantizeModel, type Model } from '@msrnn/transformer';
import { addBackendOptions, addKvOption, backendRequestFor, defaultModelFiles, parseKv, parseNonNegativeInt, parsePositiveInt, parseWeightType, type BackendFlags } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';
import { benchDecode, benchTokens, machineInfo } from '../bench/file-measure.js';
import { AllThreadsProfiler, type ThreadProfile } from '../profile/all-threads.js';
import { TIME_KINDS, isKernelWorker, selfTimes, spanOf, type ThreadSelfTime, type TimeKind } from '../profile/self-time.js';

interface ProfileFlags extends BackendFlags {
  model?: string;
  prompt: string;
  decode: string;
  warmup: string;
  weights: string;
  promptActivations: string;
  kv: string;
  interval: string;
  top: string;
  save?: string;
  json?: string;
  alwaysShare: boolean;
}

/** Sampling intervals accepted (µs): below 10 the sampler itself is the profile; above 0.1 s a phase has a handful of samples. */
const INTERVAL_RANGE = [10, 100_000] as const;
/** Tokens of the warm-up prefill at most: one chunk tiers the prompt's kernels up as a whole prompt would. */
const WARMUP_PROMPT_MAX = 128;

export function registerProfile(program: Command, io: CliIo = processIo): void {
  const command = program
    .command('profile')
    .description('CPU profile of a prompt and a decode: self time per function (wasm kernels by name) on every thread')
    .option('--model <path>', 'GGUF file, llama2.c checkpoint, Hugging Face folder, or a folder holding model.gguf / model.bin (default: as generate)')
    .option('--prompt <n>', 'prompt tokens, prefilled in one profiled call (0: no prompt phase)', '64')
    .option('--decode <n>', 'tokens decoded one step at a time after the prompt, profiled as a second phase (0: none)', '64')
    .option('--warmup <n>', 'decode steps (and one prefill of up to 128 tokens) run first, unprofiled, so the kernels run compiled as they will stay', '16')
    .option('--weights <type>', 'float models\' matrices: f32, f16 or q8 (a GGUF file runs in its own types)', 'f32')
    .option('--prompt-activations <mode>', 'exact, or q8_0 (Q8_0 and Q4_0 weights on the wasm backend, as in generate)', 'exact')
    .option('--interval <us>', `sampling interval in microseconds, ${INTERVAL_RANGE[0]} to ${INTERVAL_RANGE[1]} (each sample costs the sampled thread: a shorter interval slows the run more; the CLI README has the measured cost)`, '500')
    .option('--top <n>', 'functions listed per thread', '12')
    .option('--always-share', 'hand every job big enough to split to the workers, even while the thread pool measures that sharing does not pay (on a busy machine it keeps them on the calling thread)', false)
    .option('--save <dir>', 'also write each phase\'s profile per thread as DIR/<phase>-<thread>.cpuprofile (Chrome devtools, Performance panel, opens them)')
    .option('--json <file>', 'also write the tables (every function, not only --top) as JSON: machine, model, and per phase the rates and each thread\'s rows');
  addBackendOptions(addKvOption(command))
    .action(async (flags: ProfileFlags, cmd: Command) => { await runProfile(flags, cmd.getOptionValueSource('warmup') === 'cli', io); });
}

interface Phase { name: 'prompt' | 'decode'; tokens: number; run: (state: MultiState) => void }

/** `warmupGiven`: --warmup was on the command line (only then is it worth a warning when nothing uses it). */
async function runProfile(flags: ProfileFlags, warmupGiven: boolean, io: CliIo): Promise<void> {
  // Every option, the model's path and the output paths checked before the profiler attaches (it
  // changes a V8 flag of the whole process until it closes), so a bad call changes nothing.
  const promptTokens = parseNonNegativeInt('--prompt', flags.prompt);
  const decodeTokens = parseNonNegativeInt('--decode', flags.decode);
  if (promptTokens === 0 && decodeTokens === 0) throw new Error('--prompt 0 and --decode 0 leave nothing to profile');
  const warmup = parseNonNegativeInt('--warmup', flags.warmup);
  const weights = parseWeightType('--weights', flags.weights);
  const activations = checkPromptActivations(flags.promptActivations, '--prompt-activations');
  const kv = parseKv(flags.kv);
  const interval = parsePositiveInt('--interval', flags.interval);
  if (interval < INTERVAL_RANGE[0] || interval > INTERVAL_RANGE[1]) throw new RangeError(`--interval: ${interval} µs is outside ${INTERVAL_RANGE[0]} to ${INTERVAL_RANGE[1]}`);
  const top = parsePositiveInt('--top', flags.top);
  const noteLine = (line: string) => note(io, `msrnn profile: ${line}`);
  const request = backendRequestFor(flags, noteLine, { alwaysShare: flags.alwaysShare });
  const file = flags.model ?? defaultModelFiles({}).model;
  if (!existsSync(file)) throw new Error(`--model ${file}: no such file or folder`);
  prepareOutputs(flags);
  if (warmupGiven && decodeTokens === 0) noteLine(`warning: --warmup ${warmup} is ignored with --decode 0 (the prompt's warm-up prefill runs anyway)`);
  // Attached before the backend starts its workers: those are the ones profiled.
  const profiler = await AllThreadsProfiler.attach(interval);
  let model: Model | undefined;
  const states: MultiState[] = [];
  let selection: BackendSelection | undefined;
  try {
    selection = await selectBackend(request);
    if (selection.note) noteLine(selection.note);
    if (flags.alwaysShare && selection.threads === 1) noteLine(`warning: --always-share is ignored: the ${selection.backend.name} backend runs one thread (no workers to share with)`);
    await profiler.adoptNewWorkers(selection.threads - 1);
    const loaded = await loadModel(file, { backend: selection.backend });
    model = loaded.metadata !== null || weights === 'f32' ? loaded : quantizeModel(loaded, weights);
    if (weights !== 'f32' && loaded.metadata !== null) noteLine(`warning: --weights ${weights} is ignored: ${file} runs in its own types (${loaded.format})`);
    const c = model.config;
    noteLine(`${file} (${model.format}, dim ${c.dim}, ${c.nLayers} layers), ${selection.backend.name} backend, ${selection.threads} thread${selection.threads === 1 ? '' : 's'}${flags.alwaysShare && selection.threads > 1 ? ' (every job shared)' : ''}, sampling every ${interval} µs`);
    warmUp(model, promptTokens, decodeTokens, warmup, activations, kv);
    // Two states at the same positions: each phase runs unprofiled on one (the rate to compare
    // with), then on the other under the profiler.
    const plain = createState(model, { kv }), profiled = createState(model, { kv });
    states.push(plain, profiled);
    const m = model, prompt = benchTokens(m, promptTokens);
    const phases: Phase[] = [
      { name: 'prompt' as const, tokens: promptTokens, run: (s: MultiState) => { prefill(m, s, prompt, { activations }); } },
      { name: 'decode' as const, tokens: decodeTokens, run: (s: MultiState) => { benchDecode(m, s, decodeTokens, 3); } },
    ].filter((p) => p.tokens > 0);
    const results: PhaseResult[] = [];
    for (const phase of phases) {
      const unprofiledSeconds = timedPhase(() => phase.run(plain));
      await profiler.start();
      const profiledSeconds = timedPhase(() => phase.run(profiled));
      const profiles = await profiler.stop();
      results.push(analyze(phase, profiledSeconds, unprofiledSeconds, profiles));
      report(io, results.at(-1)!, top);
      if (flags.save !== undefined) save(io, flags.save, phase.name, profiles);
    }
    const load = loadavg();
    print(io, `\nmachine: load average ${load[0]!.toFixed(1)}`);
    if (flags.json !== undefined) {
      const machine = machineInfo(load);
      const run = { model: file, format: model.format, backend: selection.backend.name, threads: selection.threads, alwaysShare: flags.alwaysShare, intervalUs: interval };
      writeFileSync(flags.json, `${JSON.stringify({ machine, run, phases: results }, null, 1)}\n`);
      noteLine(`wrote ${flags.json}`);
    }
  } finally {
    await profiler.close();
    for (const st of states) st.dispose();
    model?.dispose();
    await selection?.dispose();
  }
}

/**
 * Runs a phase (unprofiled or profiled); returns its seconds. The profiles are read over the
 * samples with this function on the main thread's stack (not the profiler's own start and stop),
 * so its name is looked for.
 */
function timedPhase(run: () => void): number {
  const t0 = performance.now();
  run();
  return (performance.now() - t0) / 1000;
}
const PHASE_MARK = timedPhase.name;

/**
 * Creates --save's folder and checks --json's: a bad path is one line naming the option before
 * anything runs, not an error after the profiled runs.
 */
function prepareOutputs(flags: ProfileFlags): void {
  // --json checked before --save's folder is made: a refused call leaves nothing behind.
  if (flags.json !== undefined) {
    const folder = dirname(flags.json);
    if (!statSync(folder, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`--json ${flags.json}: the folder ${folder} does not exist`);
    if (statSync(flags.json, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`--json ${flags.json} is a folder; give a file name`);
  }
  if (flags.save !== undefined) {
    try {
      mkdirSync(flags.save, { recursive: true });
    } catch (err) {
      throw new Error(`--save ${flags.save}: cannot create the folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
}

/** Runs each profiled path once unprofiled: V8 compiles hot wasm functions again, optimized, after their first calls. */
function warmUp(model: Model, promptTokens: number, decodeTokens: number, steps: number, activations: PromptActivations, kv: KvType): void {
  const state = createState(model, { kv });
  try {
    if (promptTokens > 0) prefill(model, state, benchTokens(model, Math.min(promptTokens, WARMUP_PROMPT_MAX), 1), { activations });
    if (decodeTokens > 0) benchDecode(model, state, steps, 5);
  } finally {
    state.dispose();
  }
}

/** "12.3 %" */
const percent = (x: number): string => `${(100 * x).toFixed(1)} %`;

/** One phase's profiles as tables: its rates, and per thread (the main thread, then each kernel worker) the self times. */
interface PhaseResult {
  phase: Phase['name'];
  tokens: number;
  profiledSeconds: number;
  unprofiledSeconds: number;
  threads: Array<{ thread: string } & ThreadSelfTime>;
  /** Other worker threads started with the backend (Node's module loader): not the thread pool's. */
  otherThreads: number;
}

function analyze(phase: Phase, profiledSeconds: number, unprofiledSeconds: number, profiles: ThreadProfile[]): PhaseResult {
  // Every thread counted over the span the main thread ran the phase: not the workers' idle time
  // before it started or after it ended, nor the profiler's own messages.
  const window = spanOf(profiles[0]!.profile, PHASE_MARK);
  if (!window) throw new Error(`the ${phase.name} phase ran too briefly for a sample (${(profiledSeconds * 1e3).toFixed(2)} ms): give more tokens or a shorter --interval`);
  const root = process.cwd();
  const threads = profiles.filter((p, i) => i === 0 || isKernelWorker(p.profile))
    .map((p, i) => ({ thread: i === 0 ? 'main thread' : `kernel worker ${p.thread}`, ...selfTimes(p.profile, root, window) }));
  return { phase: phase.name, tokens: phase.tokens, profiledSeconds, unprofiledSeconds, threads, otherThreads: profiles.length - threads.length };
}

function report(io: CliIo, r: PhaseResult, top: number): void {
  const rate = (s: number) => `${s.toFixed(3)} s (${(r.tokens / s).toFixed(1)} tok/s)`;
  print(io, `\n## ${r.phase}: ${r.tokens} token${r.tokens === 1 ? '' : 's'} in ${rate(r.profiledSeconds)} under the profiler, ${rate(r.unprofiledSeconds)} unprofiled just before`);
  for (const t of r.threads) {
    print(io, `\n${t.thread}: ${t.samples} samples; ${kindSummary(t)}`);
    print(io, '');
    print(io, '| function | where | share | ≈ ms |');
    print(io, '|---|---|---:|---:|');
    // A share of the phase's wall time: the thread was in the phase for all of it.
    for (const row of t.rows.slice(0, top)) print(io, `| ${row.name} | ${row.where} | ${percent(row.share)} | ${(row.share * r.profiledSeconds * 1000).toFixed(1)} |`);
  }
  if (r.otherThreads > 0) print(io, `\n(not shown: ${r.otherThreads} more worker thread${r.otherThreads === 1 ? '' : 's'} started with the backend that ran none of the thread pool's code, e.g. Node's module loader)`);
}

/** "wasm kernels 80.1 %, thread pool 5.0 %, ...": the kinds with any samples, largest first. */
function kindSummary(t: ThreadSelfTime): string {
  return (Object.keys(TIME_KINDS) as TimeKind[]).filter((k) => t.byKind[k] > 0).sort((a, b) => t.byKind[b] - t.byKind[a])
    .map((k) => `${TIME_KINDS[k]} ${percent(t.byKind[k])}`).join(', ');
}

function save(io: CliIo, dir: string, phase: string, profiles: ThreadProfile[]): void {
  for (const p of profiles) {
    const name = p.thread === 'main' ? 'main' : p.thread.replace(/[^A-Za-z0-9]+/g, ' ').trim().replace(/ /g, '-');
    const path = join(dir, `${phase}-${name}.cpuprofile`);
    writeFileSync(path, JSON.stringify(p.profile));
    note(io, `msrnn profile: wrote ${path}`);
  }
}
