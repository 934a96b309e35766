// `msrnn trace`: which original positions each layer keeps over time under one policy (the
// paper's §7.3): JSON of every entry's eviction step, an SVG heatmap, and a per-layer summary.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { getPolicy, policyEntry, policyNames } from '@msrnn/policies';
import { loadModel } from '@msrnn/transformer';
import { loadCorpus } from '../ppl/corpus.js';
import {
  addBackendOptions, addKvBytesOption, addModelOptions, checkKvBytesPolicies, checkStateMemory, parseByteSize, policyForBytes, addStateOptions, checkOutputFile, defaultModelFiles, loadTokenizerFor, parseCapacity, parseNonNegativeInt, parsePositiveInt, parseRatio, parseStateOptions,
  selectBackendFor, type BackendFlags, type ModelFlags, type StateFlags,
} from '../options.js';
import { count, note, print, processIo, type CliIo } from '../io.js';
import { pieceLifetimes, recordTrace, summarize, type PieceLifetime, type Trace } from '../trace/record.js';
import { columnWidth, firstTokenText, traceSvg } from '../trace/svg.js';
import { parseSentinelSpec, readSentinelIds, SENTINEL_HELP, spanRuleFor } from '../sentinel/spec.js';

interface TraceFlags extends ModelFlags, StateFlags, BackendFlags {
  text: string;
  tokens?: string;
  policy: string;
  capacity?: string;
  kvBytes?: string;
  ratio?: string;
  seed: string;
  json?: string;
  svg?: string;
  progress: boolean;
  sentinel?: string;
}

export function registerTrace(program: Command, io: CliIo = processIo): void {
  const command = program
    .command('trace')
    .description('which positions each layer keeps over time under a policy: JSON + SVG heatmap, first-token survival, recent-k share');
  addModelOptions(command)
    .requiredOption('--text <file>', 'UTF-8 text (its first chunk: BOS + tokens), or a token-id JSON (its first sequence)')
    .option('--tokens <n>', 'tokens to run, BOS included (default: the model context)')
    .option('--policy <name>', `compression policy: ${policyNames.join(', ')}`, 'tova')
    .option('--capacity <k>', 'entries kept per layer: a positive integer or Infinity (default 32 unless --ratio is given)')
    .option('--ratio <r>', 'budget as a fraction of tokens seen (instead of, or on top of, --capacity)')
    .option('--sentinel <spec>', `${SENTINEL_HELP}; spans leave first, then the policy's budget; the trace numbers stream elements (text, <CL>, <CR>)`);
  addKvBytesOption(addStateOptions(command))
    .option('--seed <n>', 'seed of the random policies', '0')
    .option('--json <file>', 'write the trace: tokens, pieces, evictedAt[layer][kvHead][position] (-1 = kept), summary')
    .option('--svg <file>', 'write the heatmap (layer panels × position × step)');
  addBackendOptions(command)
    .option('--no-progress', 'no progress bar')
    .action(async (flags: TraceFlags) => {
      await runTrace(flags, io);
    });
}

async function runTrace(flags: TraceFlags, io: CliIo): Promise<void> {
  const ratio = flags.ratio !== undefined ? parseRatio('--ratio', flags.ratio) : undefined;
  const kvBytes = flags.kvBytes !== undefined ? parseByteSize('--kv-bytes', flags.kvBytes) : undefined;
  if (kvBytes !== undefined && (flags.capacity !== undefined || ratio !== undefined)) throw new Error('give --capacity / --ratio or --kv-bytes, not both');
  if (kvBytes !== undefined) checkKvBytesPolicies('--policy', [flags.policy]);
  // A default budget for the policies that take one (not `full`, e.g. with --sentinel alone).
  const capacity = flags.capacity !== undefined ? parseCapacity('--capacity', flags.capacity) : ratio === undefined && !policyEntry(flags.policy).unbounded ? 32 : undefined;
  const sentinelSpec = flags.sentinel !== undefined ? parseSentinelSpec('--sentinel', flags.sentinel) : null;
  const { sinks, positionMode, kv } = parseStateOptions(flags);
  const makePolicy = (k: number | undefined) => getPolicy(flags.policy, {
    ...(k !== undefined ? { capacity: k } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    sinks,
    seed: parseNonNegativeInt('--seed', flags.seed),
  });
  // Checked before the model loads; with --kv-bytes the capacity comes from the model's shape.
  let policy = makePolicy(capacity);
  checkOutputFile('--json', flags.json);
  checkOutputFile('--svg', flags.svg);
  const files = defaultModelFiles(flags);
  const selection = await selectBackendFor(flags, (line) => note(io, `msrnn trace: ${line}`));
  if (selection.note) note(io, `msrnn trace: ${selection.note}`);
  const model = await loadModel(files.model, { backend: selection.backend });
  const context = model.config.seqLen;
  const nTokens = flags.tokens ? parsePositiveInt('--tokens', flags.tokens) : context;
  if (nTokens > context) {
    if (policy.capacity === Infinity) throw new RangeError(`--tokens ${nTokens} exceeds the context of ${files.model} (${context}); "${policy.name}" keeps a growing cache and cannot run past it`);
    note(io, `msrnn trace: warning: --tokens ${nTokens} runs past the trained context (${context}); the bounded state runs at positions the model never saw`);
  }
  const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn trace: ${line}`));
  const corpus = loadCorpus(flags.text, tokenizer, nTokens, 1);
  const tokens = Array.from(corpus.chunks[0]!);
  const sentinel = sentinelSpec ? { ids: readSentinelIds(files.model, model.config.vocabSize), spans: spanRuleFor(sentinelSpec, tokens.length) } : undefined;
  for (const w of corpus.warnings) note(io, `msrnn trace: warning: ${w}`);

  if (kvBytes !== undefined) {
    const budgeted = policyForBytes('--kv-bytes', model, kvBytes, kv, makePolicy);
    policy = budgeted.policy;
    note(io, `msrnn trace: ${budgeted.line}`);
  }
  const capacityFlag = kvBytes !== undefined ? '--kv-bytes' : flags.ratio !== undefined && flags.capacity === undefined ? '--ratio' : '--capacity';
  checkStateMemory(capacityFlag, model, policy, 'heap' in selection.backend, kv);
  const bar = flags.progress && io.stderr.isTTY
    ? new SingleBar({ format: 'trace [{bar}] {value}/{total} tokens | ETA {eta_formatted}', stream: io.stderr as NodeJS.WritableStream, etaBuffer: 20 })
    : null;
  bar?.start(tokens.length, 0);
  let trace: Trace;
  try {
    trace = recordTrace(model, policy, tokens, positionMode, {
      kv,
      onProgress: (done) => bar?.update(done),
      ...(sentinel ? { sentinel } : {}),
    });
  } finally {
    bar?.stop();
  }
  const summary = summarize(trace);
  const title = `${trace.policy}${trace.describe ? ` (${trace.describe})` : ''} on ${corpus.name}, ${count(tokens.length, 'token')}`;
  // Under sentinel compression entries are stream elements: text shows its position, <CR> as [position].
  const entryLabel = (e: number) => (trace.kinds === undefined ? String(e) : trace.kinds[e] === 0 ? String(trace.positions![e]) : trace.kinds[e] === 2 ? `[${trace.positions![e]}]` : `<CL>${trace.positions![e]}`);
  print(io, title);
  print(io, '| layer | first token | attention on it while cached (uniform would be) | recent-k share (mean over steps ≥ k) | at the end | kept at the end (KV head 0) |');
  print(io, '|---:|---|---:|---:|---:|---|');
  for (const s of summary) {
    const firstText = firstTokenText(s.firstTokenEvictedAt);
    const kept = s.keptFinal.length > 24 ? `${s.keptFinal.slice(0, 24).map(entryLabel).join(' ')} … (${s.keptFinal.length})` : s.keptFinal.map(entryLabel).join(' ');
    const a = trace.firstTokenAttention[s.layer]!;
    const att = a.steps > 0 ? `${a.mean.toFixed(3)} (${a.uniform.toFixed(3)})` : '—';
    print(io, `| ${s.layer} | ${firstText} | ${att} | ${(100 * s.recentShareMean).toFixed(1)}% | ${(100 * s.recentShareFinal).toFixed(1)}% | ${kept} |`);
  }
  const pieces = trace.tokens.map((t, i) => tokenizer.tokenText(t, i > 0 ? trace.tokens[i - 1]! : undefined));
  const lifetimes = trace.capacity !== null ? pieceLifetimes(trace, pieces) : null;
  if (lifetimes && lifetimes.pieces.length > 0) {
    const show = (l: PieceLifetime) => `${JSON.stringify(l.piece)} ${l.meanSteps.toFixed(1)} (×${l.occurrences})`;
    print(io, `\nsteps in the state per token piece (${trace.kinds ? 'stream elements' : 'positions'} < ${trace.tokens.length - 2 * trace.capacity!}, pieces seen ≥ 3 times; mean over all: ${lifetimes.overall.toFixed(1)}):`);
    print(io, `  longest:  ${lifetimes.pieces.slice(0, 8).map(show).join(', ')}`);
    print(io, `  shortest: ${lifetimes.pieces.slice(-8).reverse().map(show).join(', ')}`);
  }
  if (flags.json) {
    writeFileSync(flags.json, JSON.stringify({ ...trace, model: files.model.split(/[\\/]/).pop(), text: corpus.name, pieces, summary, lifetimes }) + '\n');
  }
  if (flags.svg) {
    const width = columnWidth(trace.tokens.length);
    if (width > 1) note(io, `msrnn trace: the heatmap is thinned to ${Math.ceil(trace.tokens.length / width)} columns of ${width} positions (a screen shows no more; the JSON has every position)`);
    writeFileSync(flags.svg, traceSvg(trace, summary, title));
  }
}
