// `msrnn ppl`: perplexity of a text under every policy × capacity (the paper's Figure 3 / Table 3).
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { policyNames, policyTable } from '@msrnn/policies';
import { loadModel, type Model, type PositionMode } from '@msrnn/transformer';
import { loadCorpus, type Corpus } from '../ppl/corpus.js';
import { DEFAULT_CAPACITIES, parseCapacities, parseList, parseRatios } from '../ppl/parse.js';
import { toSvg } from '../ppl/plot.js';
import { toCsv, toMarkdown } from '../ppl/report.js';
import { buildRuns, makeRunPolicy, type GridOptions, type RunSpec } from '../ppl/runs.js';
import { wasmSimdUnavailableReason, type BackendChoice, type KvType } from '@msrnn/tensor';
import { defaultThreads, runSweep, type RunResult } from '../ppl/sweep.js';
import type { SweepInput } from '../ppl/jobs.js';
import {
  addBackendOption, addKvBytesOption, addModelOptions, checkKvBytesPolicies, parseByteSize, policyForBytes, checkStateMemory, addStateOptions, checkOutputFile, defaultModelFiles, loadTokenizerFor, parseBackendChoice, parseNonNegativeInt, parsePositiveInt, parseStateOptions, parseThreads, type ModelFlags, type StateFlags,
} from '../options.js';
import { count, listVerb, note, processIo, type CliIo } from '../io.js';
import { describeSentinelSpec, parseSentinelSpec, readSentinelIds, SENTINEL_HELP } from '../sentinel/spec.js';

interface PplFlags extends ModelFlags, StateFlags {
  text: string[];
  chunk: string;
  chunks: string;
  policies: string;
  capacities?: string;
  kvBytes?: string;
  ratios?: string;
  seed: string;
  prefill: string;
  prompt: string;
  threads?: string;
  backend: string;
  csv?: string;
  md?: string;
  svg?: string;
  plotPolicies?: string;
  title?: string;
  progress: boolean;
  sentinel?: string;
}

export function registerPpl(program: Command, io: CliIo = processIo): void {
  const command = program
    .command('ppl')
    .description('perplexity of a text under compression policies × capacities (CSV, markdown table, SVG plot)');
  addModelOptions(command)
    .requiredOption('--text <files...>', 'UTF-8 text files (each encoded whole and evaluated on its own), or token-id JSONs: [[ids...]...] or {"chunks": [[ids...]...]}')
    .option('--chunk <n>', 'tokens per chunk: BOS + n-1 text tokens (at most the model context)', '512')
    .option('--chunks <n>', 'number of chunks', '16')
    .option('--policies <list>', `comma-separated policies: ${policyNames.join(', ')}`, 'full,window,sinks,h2o,tova')
    .option('--capacities <list>', `comma-separated capacities k (entries kept per layer; default ${DEFAULT_CAPACITIES})`)
    .option('--ratios <list>', `comma-separated budgets as fractions of tokens seen (${policyTable.filter((e) => e.needsRatio).map((e) => e.name).join('/')} need these)`);
  addKvBytesOption(addStateOptions(command))
    .option('--seed <n>', 'seed of the random policies', '0')
    .option('--prefill <mode>', 'exact: per-token eviction everywhere; fast: attend the --prompt unbounded, cut to k at its last token (TOVA code)', 'exact')
    .option('--prompt <n>', 'first n tokens of each chunk are context only, not scored (0: score every prediction)', '0')
    .option('--threads <n>', `worker threads (default: all cores, here ${defaultThreads()})`)
    .option('--sentinel <spec>', `${SENTINEL_HELP}; in every run, before its policy's budget; only text tokens are scored`);
  addBackendOption(command, '; one single-threaded backend per worker')
    .option('--csv <file>', 'write one CSV row per run (text,policy,capacity,ratio,budget,prefill,prompt,ppl,mean_nll,predictions,mean_kept,chunk_nll)')
    .option('--md <file>', 'write the markdown table')
    .option('--svg <file>', 'write the plot: perplexity vs capacity, log axes, one line per policy (several texts: FILE-<text>.svg each)')
    .option('--plot-policies <list>', 'policies drawn in the SVG (default: all run); e.g. leave out one far off the scale')
    .option('--title <text>', 'title of the table and plot (default: the text file name; several texts: "TITLE, <text>")')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: PplFlags) => {
      await runPpl(flags, io);
    });
}

async function runPpl(flags: PplFlags, io: CliIo): Promise<void> {
  const chunkLen = parsePositiveInt('--chunk', flags.chunk);
  if (chunkLen < 2) throw new RangeError('--chunk: at least 2 tokens are needed to predict one');
  const nChunks = parsePositiveInt('--chunks', flags.chunks);
  const prefillMode = flags.prefill;
  if (prefillMode !== 'exact' && prefillMode !== 'fast') throw new RangeError(`--prefill must be exact or fast, got "${prefillMode}"`);
  const prompt = parseNonNegativeInt('--prompt', flags.prompt);
  if (prefillMode === 'fast' && prompt === 0) throw new RangeError('--prefill fast needs --prompt N (the prompt that is attended in full, then cut)');
  if (prompt >= chunkLen) throw new RangeError(`--prompt ${prompt} leaves nothing to score in chunks of ${chunkLen}`);
  const { sinks, positionMode, kv } = parseStateOptions(flags);
  const sentinelSpec = flags.sentinel !== undefined ? parseSentinelSpec('--sentinel', flags.sentinel) : null;
  if (sentinelSpec && prefillMode === 'fast') throw new RangeError('--sentinel steps every token (sentinels in between); --prefill fast does not apply');
  const kvBytes = flags.kvBytes !== undefined ? parseByteSize('--kv-bytes', flags.kvBytes) : undefined;
  const grid: GridOptions = {
    policies: parseList(flags.policies),
    capacities: kvBytes !== undefined ? [] : parseCapacities('--capacities', flags.capacities ?? DEFAULT_CAPACITIES),
    ratios: flags.ratios ? parseRatios('--ratios', flags.ratios) : [],
    sinks,
    seed: parseNonNegativeInt('--seed', flags.seed),
    prefill: prefillMode,
    prompt,
  };
  if (kvBytes !== undefined) checkKvBytesGrid(flags, grid.policies);
  // With --kv-bytes each policy's capacity comes from the model's shape, once it is loaded.
  let runs = kvBytes !== undefined ? [] : buildRuns(grid);
  // Each worker loads its own copy of the model: as many as there are jobs would exhaust memory.
  const threads = flags.threads ? parseThreads('--threads', flags.threads, (line) => note(io, `msrnn ppl: ${line}`)) : defaultThreads();
  const backend = parseBackendChoice(flags.backend);
  checkOutputFile('--csv', flags.csv);
  checkOutputFile('--md', flags.md);
  checkOutputFile('--svg', flags.svg);

  const files = defaultModelFiles(flags);
  const model = await loadModel(files.model);
  if (kvBytes !== undefined) runs = budgetedRuns(model, kvBytes, kv, grid, (line) => note(io, `msrnn ppl: ${line}`));
  const sentinel = sentinelSpec ? { ids: readSentinelIds(files.model, model.config.vocabSize), spec: sentinelSpec } : undefined;
  if (sentinel) {
    for (const run of runs) {
      const mode = makeRunPolicy(run).positionMode ?? positionMode;
      if (mode !== 'absolute') throw new RangeError(`--sentinel needs position mode "absolute" (sentinels take the position of the token before them); ${run.policy} runs in "${mode}"`);
    }
  }
  // Every run's state must fit where the workers will hold it, checked before any sweep starts.
  const inWasm = backend !== 'js' && wasmSimdUnavailableReason() === null;
  for (const run of runs) checkStateMemory(kvBytes !== undefined ? '--kv-bytes' : run.capacity !== null ? '--capacities' : '--ratios', model, makeRunPolicy(run), inWasm, kv);
  const context = model.config.seqLen;
  if (chunkLen > context) {
    // Positions past the trained context: fine for a bounded RNN (a warning), not for a growing cache.
    const growing = runs.filter((r) => r.capacity === null).map((r) => r.policy);
    if (growing.length > 0) {
      throw new RangeError(`--chunk ${chunkLen} exceeds the context of ${files.model} (${context} tokens); ${listVerb([...new Set(growing)], 'keeps a growing cache', 'keep growing caches')} and cannot run past it (bounded capacities can)`);
    }
    note(io, `msrnn ppl: warning: --chunk ${chunkLen} runs past the trained context (${context}); bounded states run at positions the model never saw`);
  }
  const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn ppl: ${line}`));
  // Load every text first, so a bad file fails before any sweep runs.
  const corpora = flags.text.map((path) => loadCorpus(path, tokenizer, chunkLen, nChunks));
  const several = corpora.length > 1;
  let csv = '', md = '';
  for (const corpus of corpora) {
    for (const w of corpus.warnings) note(io, `msrnn ppl: warning: ${w}`);
    const name = sentinelSpec ? `${corpus.name}, ${describeSentinelSpec(sentinelSpec)}` : corpus.name;
    const title = flags.title ? (several ? `${flags.title}, ${name}` : flags.title) : name;
    const results = await sweepOne(flags, io, files, corpus, runs, { positionMode, kv }, backend, threads, sentinel);
    const table = toMarkdown(title, results);
    io.stdout.write((md ? '\n' : '') + table);
    md += (md ? '\n' : '') + table;
    csv += several && csv ? toCsv(corpus.name, results).split('\n').slice(1).join('\n') : toCsv(corpus.name, results);
    if (flags.svg) {
      const shown = flags.plotPolicies ? new Set(parseList(flags.plotPolicies)) : null;
      const hidden = shown ? [...new Set(results.map((r) => r.run.policy))].filter((p) => !shown.has(p)) : [];
      const path = several ? flags.svg.replace(/(\.svg)?$/i, `-${corpus.name.replace(/\.[^.]*$/, '').replace(/[^\w.-]+/g, '_')}.svg`) : flags.svg;
      writeFileSync(path, toSvg(title, shown ? results.filter((r) => shown.has(r.run.policy)) : results, hidden));
    }
  }
  if (flags.csv) writeFileSync(flags.csv, csv);
  if (flags.md) writeFileSync(flags.md, md);
}

/** --kv-bytes replaces the capacity grid: no --capacities / --ratios, and only policies a capacity bounds. */
function checkKvBytesGrid(flags: PplFlags, policies: string[]): void {
  if (flags.capacities !== undefined || flags.ratios !== undefined) throw new Error('give --capacities / --ratios or --kv-bytes, not both');
  checkKvBytesPolicies('--policies', policies);
}

/** One run per policy at the largest capacity whose state (in `kv` entries) fits `budget` bytes; each printed. */
function budgetedRuns(model: Model, budget: number, kv: KvType, grid: GridOptions, print: (line: string) => void): RunSpec[] {
  return grid.policies.flatMap((policy) => {
    const base = buildRuns({ ...grid, policies: [policy], capacities: [1] })[0]!;
    const budgeted = policyForBytes('--kv-bytes', model, budget, kv, (capacity) => makeRunPolicy({ ...base, capacity }));
    print(`${policy}: ${budgeted.line}`);
    return [{ ...base, capacity: budgeted.policy.capacity }];
  });
}

/** One text through every run, with a progress bar and the timing line. */
async function sweepOne(
  flags: PplFlags, io: CliIo, files: { model: string; origin: string }, corpus: Corpus, runs: RunSpec[], state: { positionMode: PositionMode; kv: KvType }, backend: BackendChoice, threads: number,
  sentinel: SweepInput['sentinel'],
): Promise<RunResult[]> {
  const jobs = runs.length * corpus.chunks.length;
  const used = Math.min(threads, jobs);
  const tokens = corpus.chunks.reduce((s, c) => s + c.length - 1, 0) * runs.length;
  note(io, `msrnn ppl: ${corpus.name}: model ${files.model} (${files.origin}); ${count(corpus.chunks.length, 'chunk')} × ${count(runs.length, 'run')} (${count(tokens, 'token')}, ${state.kv} KV entries) on ${count(used, 'thread')}`);
  const bar = flags.progress && io.stderr.isTTY
    ? new SingleBar({ format: 'ppl [{bar}] {percentage}% | {value}/{total} chunk runs | ETA {eta_formatted}', stream: io.stderr as NodeJS.WritableStream, etaBuffer: 50 })
    : null;
  const t0 = performance.now(), cpu0 = process.cpuUsage();
  bar?.start(jobs, 0);
  const results = await runSweep({ modelPath: files.model, chunks: corpus.chunks, runs, ...state, backend, ...(sentinel ? { sentinel } : {}) }, {
    threads,
    onProgress: (done) => bar?.update(done),
  }).finally(() => bar?.stop());
  const seconds = (performance.now() - t0) / 1000;
  // Process-wide CPU time (worker threads included): throughput per core even on a shared machine.
  const cpu = process.cpuUsage(cpu0), cpuSeconds = (cpu.user + cpu.system) / 1e6;
  note(io, 
    `msrnn ppl: ${seconds.toFixed(1)} s wall, ${(tokens / seconds).toFixed(0)} tokens/s on ${used} threads (${(tokens / seconds / used).toFixed(0)} per thread); ` +
    `${cpuSeconds.toFixed(1)} CPU-s, ${(tokens / cpuSeconds).toFixed(0)} tokens per CPU-second`,
  );
  return results;
}
