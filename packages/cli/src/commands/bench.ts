// `msrnn bench`: decode tokens/s per backend × threads × weight type, prefill tokens/s and
// matmul GFLOP/s, and decode at a long position with a full vs a bounded state — all in one run,
// so the ratios compare like with like on a machine that others may be loading.
// Models: llama2.c files with random weights in the TinyStories shapes
// (scripts/make-random-models.ts writes them; speed depends only on the shapes), and random GGUF
// files in the shapes of SmolLM2-135M, Qwen2.5-0.5B and TinyLlama-1.1B (written on demand by
// ../bench/random-gguf.ts), each measured in a process of its own (../bench/file-measure.ts).
import { existsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, resolve } from 'node:path';
import type { Command } from 'commander';
import { BACKEND_CHOICES, checkPromptActivations, createWasmBackend, jsBackend, wasmSimdUnavailableReason, type Backend, type KvType, type PromptActivations, type WasmBackend, type WeightType } from '@msrnn/tensor';
import { getPolicy } from '@msrnn/policies';
import { createState, loadModel, prefill, quantizeModel, type Model } from '@msrnn/transformer';
import type { MultiState } from '@msrnn/msrnn';
import { parseList } from '../ppl/parse.js';
import { addKvOption, isGgufPath, parseBackendChoice, parseKv, parseThreads } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';
import { withCompetitor } from '../bench/competitor.js';
import { checkRandomGgufFits, ensureRandomGguf, GGUF_WEIGHTS, MODEL_SHAPES, type GgufWeights } from '../bench/random-gguf.js';
import { benchDecode, machineInfo, measureFileInChild } from '../bench/file-measure.js';

interface BenchFlags {
  model?: string;
  kv: string;
  models: string;
  shapes: string;
  threads: string;
  weights?: string;
  seconds: string;
  prompt: string;
  promptActivations: string;
  json?: string;
  longPosition: string;
  bounded: string;
  backend: string;
  js: boolean;
  long: boolean;
  compete: boolean;
}

/** Largest full state the long-position comparison allocates (keys + values, all layers). */
const MAX_LONG_STATE_BYTES = 2 ** 31;

/** Interleaved rounds per decode measurement (best round kept). */
const ROUNDS = 5;

/** The TinyStories shapes (llama2.c files from scripts/make-random-models.ts). */
const STORIES_SHAPES = ['15M', '42M', '110M'] as const;

const TARGETS = {
  wasm1: 300, jsDecode: 100, twoThreadSpeedup: 1.6, boundedFlatness: 0.95, matmulGflops: 20,
};

export function registerBench(program: Command, io: CliIo = processIo): void {
  const command = program
    .command('bench')
    .description('speed: decode tok/s per backend × threads × weights, prefill, matmul GFLOP/s, long-position full vs bounded state')
    .option('--models <dir>', 'folder with random-stories<shape>.bin (node scripts/run-ts.mjs scripts/make-random-models.ts writes them)', '.bench/models')
    .option('--shapes <list>', `model shapes (comma-separated): ${STORIES_SHAPES.join(', ')} (TinyStories, llama2.c files) or ${Object.keys(MODEL_SHAPES).join(', ')} (random GGUF files written on demand into --models)`, '15M')
    .option('--model <file>', 'measure this model file (GGUF or llama2.c) instead of --models/--shapes; a GGUF file runs in its own weight types')
    .option('--threads <list>', 'wasm thread counts to measure (comma-separated)', '1,2')
    .option('--weights <list>', 'weight types: f32, f16, q8 (TinyStories shapes: converted after loading, default all three; GGUF shapes: the file\'s types, also q4_0 and q4_k_m, default q8,q4_k_m)')
    .option('--prompt <n>', 'prompt tokens prefilled per GGUF shape (prompt tok/s)', '512')
    .option('--prompt-activations <mode>', 'the GGUF shapes\' prompts: exact, or q8_0 (Q8_0 and Q4_0 weights multiply activations rounded to int8 per 32 values, as ggml does)', 'exact')
    .option('--json <file>', 'also write the results as JSON (rows + machine) to this file')
    .option('--seconds <s>', 'time per measurement', '1')
    .option('--long-position <n>', 'position for the full-vs-bounded decode comparison', '8192')
    .option('--bounded <k>', 'capacity of the bounded state in that comparison', '256')
    .option('--backend <name>', `backends to measure: ${BACKEND_CHOICES.join(', ')} (auto: the pure-TS one and, where it compiles, WebAssembly SIMD at each --threads)`, 'auto')
    .option('--no-js', 'skip the pure-TS backend (as --backend wasm)')
    .option('--no-long', 'skip the long-position comparison')
    .option('--compete', 'run a competing busy process (one core) for the whole measurement: what threads give when the other core is taken', false);
  addKvOption(command)
    .action(async (flags: BenchFlags) => { await withCompetitor(flags.compete, (line) => note(io, `msrnn bench: ${line}`), () => runBench(flags, io)); });
}

function list<T extends string>(flag: string, value: string, allowed?: readonly T[]): T[] {
  const items = parseList(value);
  if (items.length === 0) throw new Error(`${flag}: empty list`);
  if (allowed) for (const it of items) if (!allowed.includes(it as T)) throw new Error(`${flag}: "${it}" is not one of ${allowed.join(', ')}`);
  return items as T[];
}

function positiveNumber(flag: string, value: string, integer = false): number {
  const n = Number(value);
  // Infinity would measure forever; NaN ("abc") fails n > 0.
  if (!(n > 0 && n < Infinity) || (integer && !Number.isInteger(n))) throw new Error(`${flag} must be a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

/** The full state at --long-position is allocated up front: refuse sizes no JS heap can hold. */
function checkLongStateFits(flags: BenchFlags, c: Model['config'], longPos: number): void {
  if (!flags.long) return;
  const bytes = longPos * c.nLayers * (c.dim / c.nHeads) * c.nKvHeads * 2 * 4;
  if (bytes > MAX_LONG_STATE_BYTES) {
    throw new RangeError(`--long-position ${longPos}: the full state would need ${(bytes / 2 ** 30).toFixed(1)} GiB (at most ${MAX_LONG_STATE_BYTES / 2 ** 30} GiB); give a smaller position or --no-long`);
  }
}

/** Runs `fn` repeatedly for about `seconds` (after one warm-up call); returns calls per second. */
function rate(seconds: number, fn: () => void): number {
  fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < seconds * 1000) { fn(); n++; t = performance.now(); }
  return n / ((t - t0) / 1000);
}


/** Decode tokens/s from a state that has seen a short prompt. */
function decodeRate(model: Model, seconds: number, kv: KvType): number {
  const state = createState(model, { kv });
  prefill(model, state, [1, 400, 500, 600, 700, 800, 900, 1000].map((t) => t % model.config.vocabSize));
  let token = 1;
  return rate(seconds, () => { token = benchDecode(model, state, 1, token); });
}

/** A state positioned at `position` holding `entries` entries per head (random keys/values, positions position-entries..position-1). */
function syntheticState(model: Model, position: number, entries: number, capacity: number, kv: KvType): MultiState {
  const state = capacity === Infinity
    ? createState(model, { initialSlots: entries + 64, kv })
    : createState(model, { policy: getPolicy('window', { capacity }), kv });
  let seed = 12345;
  const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x7fffffff - 0.5; };
  const hd = state.geometry.headDim, k = new Float32Array(hd), v = new Float32Array(hd);
  for (const layer of state.layers) {
    for (const head of layer.heads) {
      for (let i = 0; i < entries; i++) {
        for (let d = 0; d < hd; d++) { k[d] = rnd(); v[d] = rnd(); }
        head.writeEntry(head.push(position - entries + i), k, 0, v, 0);
      }
    }
  }
  state.seen = position;
  return state;
}

function stateRate(model: Model, state: MultiState, seconds: number): number {
  let token = 5;
  return rate(seconds, () => { token = benchDecode(model, state, 1, token); });
}

function matmulGflops(backend: Backend, m: number, n: number, k: number, seconds: number): number {
  const a = backend.alloc(m * k), b = backend.alloc(n * k), out = backend.alloc(m * n);
  for (let i = 0; i < a.length; i++) a[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  for (let i = 0; i < b.length; i++) b[i] = ((i * 104729) % 1000) / 1000 - 0.5;
  return (rate(seconds, () => backend.matmulT(out, a, b, 0, m, n, k)) * 2 * m * n * k) / 1e9;
}

/** weights: the type the matrices were converted to; 'file' = as a GGUF file stores them. */
interface Row { shape: string; what: string; backend: string; threads: number; weights: WeightType | GgufWeights | 'file' | '-'; value: number; unit: string }

/** A value with its unit: ratios and seconds to 3 and 2 places, rates and sizes to 1. */
function shown(r: Row): string {
  return `${r.value.toFixed(r.unit === 'x' ? 3 : r.unit === 's' ? 2 : 1)} ${r.unit}`;
}

async function runBench(flags: BenchFlags, io: CliIo): Promise<void> {
  const dir = resolve(flags.models);
  const allShapes = list('--shapes', flags.shapes, [...STORIES_SHAPES, ...Object.keys(MODEL_SHAPES)]);
  const shapes = allShapes.filter((s): s is (typeof STORIES_SHAPES)[number] => (STORIES_SHAPES as readonly string[]).includes(s));
  const ggufShapes = allShapes.filter((s) => s in MODEL_SHAPES);
  const threadCounts = list('--threads', flags.threads).map((t) => parseThreads('--threads', t, (line) => note(io, `msrnn bench: ${line}`)));
  const backendChoice = parseBackendChoice(flags.backend);
  const measureJs = flags.js && backendChoice !== 'wasm';
  if (backendChoice === 'js' && !flags.js) throw new Error('--backend js with --no-js leaves nothing to measure');
  let measureWasm = backendChoice !== 'js';
  const noWasm = wasmSimdUnavailableReason();
  if (measureWasm && noWasm) {
    if (backendChoice === 'wasm') throw new Error(`--backend wasm is unavailable: ${noWasm}`);
    note(io, `msrnn bench: measuring the pure-TS backend only: ${noWasm}`);
    measureWasm = false;
  }
  if (!measureJs && !measureWasm) throw new Error('nothing to measure: --no-js and no WebAssembly SIMD here');
  // A GGUF --model runs as stored (its matrices are not float32 to convert).
  const asStored = flags.model !== undefined && isGgufPath(flags.model);
  const storiesRun = flags.model !== undefined || shapes.length > 0;
  const weightTypes = asStored || !storiesRun ? (['f32'] as const) : list('--weights', flags.weights ?? 'f32,f16,q8', ['f32', 'f16', 'q8'] as const);
  const ggufWeights = ggufShapes.length > 0 ? list('--weights', flags.weights ?? 'q8,q4_k_m', GGUF_WEIGHTS) : [];
  const promptTokens = positiveNumber('--prompt', flags.prompt, true);
  const promptActivations = checkPromptActivations(flags.promptActivations, '--prompt-activations');
  for (const shape of ggufShapes) for (const w of ggufWeights) checkRandomGgufFits(shape, w);
  if (ggufShapes.length > 0 && backendChoice === 'js') throw new Error(`--shapes ${ggufShapes.join(',')}: the GGUF shapes are measured on the wasm backend only`);
  const label = (wt: WeightType): WeightType | 'file' => (asStored ? 'file' : wt);
  const seconds = positiveNumber('--seconds', flags.seconds);
  const kv = parseKv(flags.kv);
  const longPos = positiveNumber('--long-position', flags.longPosition, true);
  const bounded = positiveNumber('--bounded', flags.bounded, true);
  if (bounded * 2 > longPos) throw new Error(`--bounded ${bounded} must be at most half of --long-position ${longPos}`);
  const rows: Row[] = [];
  const add = (r: Row) => {
    rows.push(r);
    note(io, `  ${r.shape} ${r.what} ${r.backend}×${r.threads} ${r.weights}: ${shown(r)}`);
  };

  const targets = flags.model !== undefined ? [{ shape: basename(flags.model), file: flags.model }] : shapes.map((shape) => ({ shape, file: resolve(dir, `random-stories${shape}.bin`) }));
  for (const { shape, file } of targets) {
    if (!existsSync(file)) {
      throw new Error(flags.model !== undefined ? `--model ${file} does not exist` : `${file} does not exist; write it with: node scripts/run-ts.mjs scripts/make-random-models.ts ${flags.models} ${shape}`);
    }
    note(io, `msrnn bench: ${shape} (${file}), ${kv} KV entries`);
    const configs: { name: string; threads: number; backend: Backend; wasm?: WasmBackend }[] = [];
    if (measureJs) configs.push({ name: 'js', threads: 1, backend: jsBackend });
    if (measureWasm) for (const t of threadCounts) {
      const wasm = await createWasmBackend({ threads: t });
      configs.push({ name: 'wasm', threads: t, backend: wasm, wasm });
    }
    try {
      // Decode configurations are measured in ROUNDS interleaved rounds and each keeps its best
      // round: on a shared machine a burst of someone else's load then hits every configuration
      // alike instead of one of them.
      const decode = new Map<string, number>(), prompts = new Map<string, number>();
      const runs: { key: string; cfg: (typeof configs)[number]; wt: WeightType; model: Model }[] = [];
      const long: { what: string; model: Model; state: MultiState; best: number }[] = [];
      for (const cfg of configs) {
        const base = await loadModel(file, { backend: cfg.backend, source: `random ${shape}` });
        const c = base.config;
        checkLongStateFits(flags, c, longPos);
        for (const wt of weightTypes) {
          // quantizeModel takes its input's memory over: each weight type quantizes its own copy.
          const model = wt === 'f32' ? base : quantizeModel(await loadModel(file, { backend: cfg.backend, source: `random ${shape}` }), wt);
          const key = `${cfg.name}${cfg.threads}${wt}`;
          runs.push({ key, cfg, wt, model });
          // Prefill: 64 prompt tokens in one chunk (matmuls, and the chunk's attention at once).
          const prompt = Array.from({ length: 64 }, (_, i) => (i * 37) % Math.min(1000, c.vocabSize - 2) + 2);
          const p = rate(seconds, () => { const s = createState(model); prefill(model, s, prompt, { chunkSize: 64 }); s.dispose(); }) * prompt.length;
          prompts.set(key, p);
          add({ shape, what: 'prefill', backend: cfg.name, threads: cfg.threads, weights: label(wt), value: p, unit: 'tok/s' });
        }
        const g = matmulGflops(cfg.backend, 64, c.hiddenDim, c.dim, seconds);
        add({ shape, what: `matmul 64×${c.hiddenDim}×${c.dim}`, backend: cfg.name, threads: cfg.threads, weights: 'f32', value: g, unit: 'GFLOP/s' });
        if (flags.long && cfg.threads === 1) {
          const full = syntheticState(base, longPos, longPos, Infinity, kv);
          const bLong = syntheticState(base, longPos, bounded, bounded, kv);
          const bShort = syntheticState(base, 2 * bounded, bounded, bounded, kv);
          // A bounded state never grows, so decoding on from the same state keeps it comparable;
          // the full state grows by a few hundred entries over the measurement (~3% at 8192).
          long.push({ what: `${cfg.name} full`, model: base, state: full, best: 0 });
          long.push({ what: `${cfg.name} bounded long`, model: base, state: bLong, best: 0 });
          long.push({ what: `${cfg.name} bounded short`, model: base, state: bShort, best: 0 });
        }
      }
      for (let round = 0; round < ROUNDS; round++) {
        for (const r of runs) {
          // An idle worker spins a while (up to 20 ms, tensor's threads/spin.ts) before it sleeps: let the
          // last configuration's stop, so it takes no core from this one's threads.
          await new Promise((done) => setTimeout(done, 30));
          decode.set(r.key, Math.max(decode.get(r.key) ?? 0, decodeRate(r.model, seconds / ROUNDS, kv)));
        }
        for (const l of long) l.best = Math.max(l.best, stateRate(l.model, l.state, seconds / ROUNDS));
      }
      for (const r of runs) add({ shape, what: 'decode', backend: r.cfg.name, threads: r.cfg.threads, weights: label(r.wt), value: decode.get(r.key)!, unit: 'tok/s' });
      for (const r of runs) add({ shape, what: 'prefill / decode', backend: r.cfg.name, threads: r.cfg.threads, weights: label(r.wt), value: prompts.get(r.key)! / decode.get(r.key)!, unit: 'x' });
      for (let i = 0; i < long.length; i += 3) {
        const [full, bLong, bShort] = [long[i]!, long[i + 1]!, long[i + 2]!];
        const name = full.what.split(' ')[0]!;
        add({ shape, what: `decode @${longPos} full state`, backend: name, threads: 1, weights: label('f32'), value: full.best, unit: 'tok/s' });
        add({ shape, what: `decode @${longPos} bounded ${bounded}`, backend: name, threads: 1, weights: label('f32'), value: bLong.best, unit: 'tok/s' });
        add({ shape, what: `decode @${2 * bounded} bounded ${bounded}`, backend: name, threads: 1, weights: label('f32'), value: bShort.best, unit: 'tok/s' });
        add({ shape, what: `bounded @${longPos} / bounded @${2 * bounded}`, backend: name, threads: 1, weights: '-', value: bLong.best / bShort.best, unit: 'x' });
        add({ shape, what: `bounded @${longPos} / full @${longPos}`, backend: name, threads: 1, weights: '-', value: bLong.best / full.best, unit: 'x' });
      }
      for (const wt of weightTypes) {
        const one = decode.get(`wasm1${wt}`), two = decode.get(`wasm2${wt}`);
        if (one && two) add({ shape, what: 'decode 2 threads / 1 thread', backend: 'wasm', threads: 2, weights: label(wt), value: two / one, unit: 'x' });
        const js = decode.get('js1f32');
        if (one && js && wt === 'f32') add({ shape, what: 'decode wasm / js', backend: 'wasm', threads: 1, weights: label('f32'), value: one / js, unit: 'x' });
      }
    } finally {
      for (const cfg of configs) await cfg.wasm?.dispose();
    }
  }

  if (flags.model === undefined) {
    for (const shape of ggufShapes) {
      if (!measureWasm) throw new Error(`--shapes ${shape}: the GGUF shapes are measured on the wasm backend only`);
      for (const weights of ggufWeights) await benchGgufShape(io, dir, shape, weights, threadCounts, seconds, promptTokens, kv, promptActivations, add);
    }
  }

  print(io, `| shape | measurement | backend | threads | weights | value |`);
  print(io, `|---|---|---|---|---|---|`);
  for (const r of rows) {
    print(io, `| ${r.shape} | ${r.what} | ${r.backend} | ${r.threads} | ${r.weights} | ${shown(r)} |`);
  }
  if (ggufShapes.length > 0 && flags.model === undefined) {
    print(io, `\ntargets (issue 15, SmolLM2-135M shape, one thread): decode >= 0.6x ggml (F32 32, F16 52, Q8_0 80, Q4_0 81, Q4_K mix 76 tok/s); `
      + '512-token prompt >= 0.7x llama.cpp (F32 176, Q8_0 247 tok/s) and never below decode; resident <= file + state + 64 MB');
  }
  if (storiesRun) print(io, `\ntargets: wasm 1 thread >= ${TARGETS.wasm1} tok/s (15M); 2 threads >= ${TARGETS.twoThreadSpeedup}x; js >= ${TARGETS.jsDecode} tok/s; `
    + `bounded @${longPos} >= ${TARGETS.boundedFlatness}x its speed @${2 * bounded}; matmul >= ${TARGETS.matmulGflops} GFLOP/s`);
  const load = loadavg();
  print(io, `machine: ${cpus().length} cores, load average ${load[0]!.toFixed(1)} at the end of the run (numbers are only comparable within one run)`);
  if (flags.json) {
    const machine = machineInfo(load);
    writeFileSync(flags.json, `${JSON.stringify({ machine, rows }, null, 1)}\n`);
    note(io, `msrnn bench: wrote ${flags.json}`);
  }
}

/** One GGUF shape in one weight mix: the file (written when missing), measured in a child process. */
async function benchGgufShape(io: CliIo, dir: string, shape: string, weights: GgufWeights, threads: number[],
  seconds: number, promptTokens: number, kv: KvType, activations: PromptActivations, add: (r: Row) => void): Promise<void> {
  const file = ensureRandomGguf(dir, shape, weights, (line) => note(io, `msrnn bench: ${line}`));
  note(io, `msrnn bench: ${shape} ${weights} (${file}), measured in a separate process`);
  const m = await measureFileInChild({ file, threads, seconds, promptTokens, rounds: ROUNDS, kv, activations });
  const row = (what: string, t: number, value: number, unit: string) => add({ shape, what, backend: 'wasm', threads: t, weights, value, unit });
  const MB = 1e6;
  row('file size', threads[0]!, m.fileBytes / MB, 'MB');
  row('load', threads[0]!, m.loadSeconds, 's');
  row('resident before load (runtime + backend)', threads[0]!, m.rssBefore / MB, 'MB');
  row('resident after load', threads[0]!, m.rssLoaded / MB, 'MB');
  row(`resident after ${promptTokens}-token prompt`, threads[0]!, m.rssAfterPrompt / MB, 'MB');
  row(`resident growth over file + state (${(m.stateBytes / MB).toFixed(1)} MB)`, threads[0]!, (m.rssAfterPrompt - m.rssBefore - m.fileBytes - m.stateBytes) / MB, 'MB');
  row('peak resident during the load', threads[0]!, m.rssPeakLoaded / MB, 'MB');
  row('peak resident', threads[0]!, m.rssPeak / MB, 'MB');
  // The issue's budget: file + state + 64 MB over what the runtime held before the load.
  row(`peak growth over file + state (${(m.stateBytes / MB).toFixed(1)} MB)`, threads[0]!, (m.rssPeak - m.rssBefore - m.fileBytes - m.stateBytes) / MB, 'MB');
  const promptName = `prompt (${promptTokens} tokens${activations === 'exact' ? '' : `, ${activations} activations`})`;
  for (const t of threads) {
    row(promptName, t, m.prompt[t]!.wall, 'tok/s');
    if (t === 1) row(`${promptName}, by CPU time`, t, m.prompt[t]!.cpu, 'tok/s');
    row('decode', t, m.decode[t]!.wall, 'tok/s');
    if (t === 1) row('decode, by CPU time', t, m.decode[t]!.cpu, 'tok/s');
  }
  const one = m.decode[1]?.wall, two = m.decode[2]?.wall;
  if (one && two) row('decode 2 threads / 1 thread', 2, two / one, 'x');
  if (one) row('prompt / decode', 1, m.prompt[1]!.wall / one, 'x');
}
