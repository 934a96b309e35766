// `msrnn convert`: a model (llama2.c, GGUF or a Hugging Face folder) written as another of them,
// with its tokenizer where the target can hold it, then loaded back and checked: the written
// model's logits on a run of tokens must equal the source's within the written type's rounding.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadModel, modelFromBytes, modelFromFiles, type Model, type Tokenizer } from '@msrnn/transformer';
import {
  compareLogits, ggufExportType, ggufTokenizerEntries, LOGIT_TOLERANCE, modelToGguf, modelToHfFiles, modelToLlama2c, tokenizerGgufMetadata,
  tokenizerHfFiles, verificationTokens, withinTolerance, type GgufWriteValue, type LogitComparison,
} from '@msrnn/transformer/export';
import { addModelOptions, addSlidingWindowOption, defaultModelFiles, loadTokenizerFor, parsePositiveInt, parseSlidingWindow, type ModelFlags } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';

interface ConvertFlags extends ModelFlags { slidingWindow?: string; to: string; format?: string; type: string; force: boolean; tokens: string; json: boolean }

const FORMATS = ['gguf', 'hf', 'llama2c'] as const;
type Format = (typeof FORMATS)[number];

export function registerConvert(program: Command, io: CliIo = processIo): void {
  const command = program
    .command('convert')
    .description('write a model as GGUF, a Hugging Face folder or a llama2.c checkpoint, then load it back and compare logits with the source');
  addSlidingWindowOption(addModelOptions(command))
    .requiredOption('--to <path>', 'output: a .gguf file, a .bin llama2.c checkpoint, or a folder (Hugging Face: config.json, model.safetensors, tokenizer.json)')
    .option('--format <name>', `output format when --to does not say: ${FORMATS.join(', ')}`)
    .option('--type <name>', 'weight type: GGUF F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1; a folder F32, F16, BF16; llama2.c F32', 'F32')
    .option('--tokens <n>', 'tokens the check runs through both models', '32')
    .option('--force', 'replace an existing output', false)
    .option('--json', 'print one JSON object instead of text', false)
    .action(async (flags: ConvertFlags) => {
      const format = outputFormat(flags);
      const files = defaultModelFiles(flags);
      const model = await loadModel(files.model, parseSlidingWindow(flags.slidingWindow));
      const tokenizer = files.tokenizer === null && model.metadata === null ? null : await loadTokenizerFor(files, model, (l) => note(io, l));
      const notes: string[] = [];
      const type = flags.type.toUpperCase();
      const written = writeModel(format, model, tokenizer, files.tokenizer === null, type, flags, notes);
      const check = verify(model, written, format, type, parsePositiveInt('--tokens', flags.tokens));
      const summary = { from: files.model, fromFormat: model.format, to: flags.to, format: written.model.format, type, notes, ...check };
      if (flags.json) print(io, JSON.stringify(summary));
      else {
        print(io, `wrote ${flags.to}: ${written.model.format}`);
        for (const n of notes) print(io, `  note: ${n}`);
        for (const c of check.checks) print(io, `  check: ${c.what}: ${c.tokens} tokens, max |logit diff| ${c.maxAbsDiff.toExponential(2)} (limit ${c.limit.toExponential(2)}), argmax differs at ${c.argmaxDisagreements}`);
      }
      const failed = check.checks.find((c) => !c.passed);
      if (failed) throw new Error(`the written model fails the check against ${failed.what}: max |logit diff| ${failed.maxAbsDiff.toExponential(2)} > ${failed.limit.toExponential(2)}`);
    });
}

function outputFormat(flags: ConvertFlags): Format {
  if (flags.format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(flags.format)) throw new Error(`--format ${flags.format}: not a format (known: ${FORMATS.join(', ')})`);
    return flags.format as Format;
  }
  if (/\.gguf$/i.test(flags.to)) return 'gguf';
  if (/\.bin$/i.test(flags.to)) return 'llama2c';
  if (/\.[a-z0-9]+$/i.test(flags.to) && !statSync(flags.to, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`--to ${flags.to}: say the format with the name (.gguf, .bin, or a folder) or --format ${FORMATS.join('|')}`);
  }
  return 'hf';
}

interface Written { model: Model; reference: Model | null }

function refuseExisting(path: string, force: boolean): void {
  if (!force && existsSync(path)) throw new Error(`${path} exists; give --force to replace it`);
}

/** Writes the output; returns it loaded back, and for a quantized GGUF the source rounded to that type (F32). */
function writeModel(format: Format, model: Model, tokenizer: Tokenizer | null, embedded: boolean, type: string, flags: ConvertFlags, notes: string[]): Written {
  const to = flags.to;
  if (format === 'gguf') {
    ggufExportType(type); // an unknown type fails before any work
    let tok: GgufWriteValue[] = [];
    if (embedded && model.metadata?.has('tokenizer.ggml.model')) tok = ggufTokenizerEntries(model.metadata);
    else if (tokenizer) {
      const made = tokenizerGgufMetadata(tokenizer);
      if (made.ok) tok = made.value;
      else notes.push(`tokenizer not embedded: ${made.reason}`);
    }
    const out = modelToGguf(model, { type, tokenizer: tok, name: model.source.replace(/^.*[\\/]/, '').replace(/\.[^.]*$/, '') });
    notes.push(...out.notes);
    refuseExisting(to, flags.force);
    writeFileSync(to, out.bytes);
    const reference = type !== 'F32' ? modelFromBytes(modelToGguf(model, { type, roundedF32: true }).bytes, { source: `${model.source} rounded to ${type}` }) : null;
    return { model: modelFromBytes(out.bytes, { source: to }), reference };
  }
  if (format === 'llama2c') {
    if (type !== 'F32') throw new Error(`--type ${flags.type}: a llama2.c checkpoint holds F32 only`);
    const bytes = modelToLlama2c(model);
    refuseExisting(to, flags.force);
    writeFileSync(to, bytes);
    notes.push('llama2.c keeps its tokenizer in a separate tokenizer.bin: give the source\'s with --tokenizer');
    return { model: modelFromBytes(bytes, { source: to }), reference: null };
  }
  const files = modelToHfFiles(model, {
    dtype: type, ...(tokenizer?.bosId !== undefined ? { bosId: tokenizer.bosId } : {}), ...(tokenizer?.eosId !== undefined ? { eosId: tokenizer.eosId } : {}),
  });
  if (tokenizer) {
    const made = tokenizerHfFiles(tokenizer);
    if (made.ok) for (const [name, bytes] of made.value) files.set(name, bytes);
    else notes.push(`tokenizer.json not written: ${made.reason}`);
  }
  if (statSync(to, { throwIfNoEntry: false })?.isFile()) throw new Error(`--to ${to} is a file; a Hugging Face model is a folder`);
  for (const name of files.keys()) refuseExisting(join(to, name), flags.force);
  mkdirSync(to, { recursive: true });
  for (const [name, bytes] of files) writeFileSync(join(to, name), bytes);
  return { model: modelFromFiles(files, { source: to }), reference: null };
}

interface Check extends LogitComparison { what: string; limit: number; passed: boolean }

/**
 * Against the source rounded to the written type (quantized GGUF): must agree to float32
 * arithmetic (1e-4 of the logit scale), which checks the file's layout exactly; against the source
 * itself: within LOGIT_TOLERANCE of the type, the rounding's own effect.
 */
function verify(source: Model, written: Written, format: Format, type: string, count: number): { checks: Check[] } {
  const tokens = verificationTokens(source, count);
  const checks: Check[] = [];
  const judge = (what: string, c: LogitComparison, key: string): void => {
    checks.push({ ...c, what, limit: LOGIT_TOLERANCE[key]! * Math.max(1, c.maxAbsLogit), passed: withinTolerance(c, key) });
  };
  if (written.reference) judge(`the source rounded to ${type}`, compareLogits(written.reference, written.model, tokens), 'F32');
  judge('the source', compareLogits(source, written.model, tokens), format === 'llama2c' ? 'F32' : type);
  return { checks };
}
