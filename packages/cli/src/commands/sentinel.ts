// `msrnn sentinel ppl | generate`: Ren et al.'s sentinel compression on a model fine-tuned for it
// (tools/train/finetune.py --method sentinel; its model.json names <CL>/<CR>). Spans come from the
// paper's seeded rule (chooseSpans): lengths 2..max-span until share r of the text is inside spans.
//   ppl       the paper's protocol: every text token is scored from the element just before it in
//             the stream (text or sentinel); chunk i uses span stream i, so the numbers equal
//             tools/train/finetune.py's held-out evaluation (same chunks, same spans)
//   generate  spans drawn over prompt + new tokens; the state keeps about (1 - r) of the text
import type { Command } from 'commander';
import { chooseSpans, MAX_SPAN_DEFAULT } from '@msrnn/policies';
import { loadModel, Sampler, samplerSettings } from '@msrnn/transformer';
import { loadCorpus } from '../ppl/corpus.js';
import { tokenNll } from '../ppl/evaluate.js';
import { addKvOption, addModelOptions, defaultModelFiles, parseKv, integerOrRaw, loadTokenizerFor, parseNonNegativeInt, parseNumber, parsePositiveInt } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';
import { readSentinelIds, runWithSpans, SentinelRun } from '../sentinel/driver.js';

interface SentinelFlags { model?: string; tokenizer?: string; ratio: string; maxSpan: string; seed: string; kv: string }

function parseShare(value: string): number {
  const r = Number(value);
  if (value.trim() === '' || !(r > 0 && r < 1)) throw new Error(`--ratio must be a compressed share in (0, 1), got ${JSON.stringify(value)}`);
  return r;
}

function parseMaxSpan(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 1024) throw new Error(`--max-span must be an integer in [2, 1024], got ${JSON.stringify(value)}`);
  return n;
}

function common(command: Command): Command {
  return addKvOption(addModelOptions(command)
    .option('--ratio <r>', 'share of the text compressed into spans, in (0, 1) (the KV budget is about 1 - r)', '0.5')
    .option('--max-span <n>', 'span lengths 2..n (the paper: 25)', String(MAX_SPAN_DEFAULT))
    .option('--seed <n>', 'seed of the span rule', '0'));
}

async function open(flags: SentinelFlags, io: CliIo) {
  const ratio = parseShare(flags.ratio);
  const maxSpan = parseMaxSpan(flags.maxSpan);
  const seed = parseNonNegativeInt('--seed', flags.seed);
  const kv = parseKv(flags.kv);
  const files = defaultModelFiles(flags);
  const model = await loadModel(files.model);
  const ids = readSentinelIds(files.model, model.config.vocabSize);
  const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn sentinel: ${line}`));
  return { ratio, maxSpan, seed, kv, files, model, ids, tokenizer };
}

export function registerSentinel(program: Command, io: CliIo = processIo): void {
  const sentinel = program.command('sentinel').description('sentinel-token context compression (Ren et al. 2023) on a model fine-tuned for it');
  common(sentinel.command('ppl').description('perplexity with spans compressed, scoring only text tokens (the paper\'s protocol)'))
    .requiredOption('--text <file>', 'UTF-8 text, chunked as msrnn ppl does')
    .option('--chunk <n>', 'tokens per chunk, BOS included', '2048')
    .option('--chunks <n>', 'chunks to evaluate', '8')
    .action(async (flags: SentinelFlags & { text: string; chunk: string; chunks: string }) => {
      const { ratio, maxSpan, seed, kv, files, model, ids, tokenizer } = await open(flags, io);
      const corpus = loadCorpus(flags.text, tokenizer, parsePositiveInt('--chunk', flags.chunk), parsePositiveInt('--chunks', flags.chunks));
      for (const w of corpus.warnings) note(io, `msrnn sentinel: warning: ${w}`);
      let nll = 0, predictions = 0, entries = 0;
      const vocab = model.config.vocabSize;
      corpus.chunks.forEach((chunk, c) => {
        const run = new SentinelRun(model, ids, kv);
        runWithSpans(run, chunk, chooseSpans(chunk.length, ratio, maxSpan, seed, c), (i, logits) => {
          nll += tokenNll(logits, chunk[i]!, vocab);
          predictions++;
          entries += run.state.layers[0]!.heads[0]!.count;
        });
      });
      note(io, `msrnn sentinel ppl: ${files.model}, ${corpus.name}, ${corpus.chunks.length} chunks, r=${ratio}, spans 2..${maxSpan}, seed ${seed}`);
      print(io, `ppl ${Math.exp(nll / predictions).toFixed(3)}  mean_nll ${(nll / predictions).toFixed(6)}  predictions ${predictions}  mean entries per query ${(entries / predictions).toFixed(1)}`);
    });
  common(sentinel.command('generate').description('generate with spans of the text compressed as it goes'))
    .option('--prompt <text>', 'prompt text', '')
    .option('--steps <n>', 'new tokens', '128')
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', '0.8')
    .option('--top-p <p>', 'nucleus sampling threshold', '0.9')
    .option('--sample-seed <n>', 'sampling RNG seed', '42')
    .action(async (flags: SentinelFlags & { prompt: string; steps: string; temperature: string; topP: string; sampleSeed: string }) => {
      const { ratio, maxSpan, seed, kv, files, model, ids, tokenizer } = await open(flags, io);
      const steps = parseNonNegativeInt('--steps', flags.steps);
      const sampler = new Sampler(model.config.vocabSize, samplerSettings({
        temperature: parseNumber('--temperature', flags.temperature), topP: parseNumber('--top-p', flags.topP),
        seed: integerOrRaw(flags.sampleSeed) as number,
      }, { temperature: '--temperature', topP: '--top-p', seed: '--sample-seed' }));
      const prompt = tokenizer.encode(flags.prompt, { bos: true });
      const total = prompt.length + steps;
      if (total > model.config.seqLen) throw new Error(`prompt (${prompt.length} tokens) + --steps ${steps} exceeds the model's context ${model.config.seqLen}`);
      const spans = total > 2 ? chooseSpans(total, ratio, maxSpan, seed, 0) : [];
      const starts = new Map(spans.map((s) => [s.start, s.start + s.length - 1]));
      const run = new SentinelRun(model, ids, kv);
      const logits = new Float32Array(model.config.vocabSize);
      let closeAt = -1;
      const tokens: number[] = [];
      for (let i = 0; i < total; i++) {
        const end = starts.get(i);
        if (end !== undefined) { run.open(logits); closeAt = end; }
        const token = i < prompt.length ? prompt[i]! : sampler.sample(logits);
        tokens.push(token);
        run.text(token, logits);
        if (i === closeAt) run.close(logits);
      }
      // Spans as «…» in the output, so the reader sees what was compressed.
      let text = '';
      const ends = new Set(starts.values());
      for (let i = 0; i < tokens.length; i++) {
        if (starts.has(i)) text += '«';
        if (i > 0) text += tokenizer.tokenText(tokens[i]!, tokens[i - 1]);
        if (ends.has(i)) text += '»';
      }
      print(io, text);
      note(io, `msrnn sentinel generate: ${total} tokens, ${spans.length} spans, ${run.state.layers[0]!.heads[0]!.count} entries kept per layer at the end`);
    });
}
