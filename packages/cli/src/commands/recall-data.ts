// `msrnn recall-data`: writes the recall tasks' training set (see ../recall/training-data.ts) so that
// the Python trainer (tools/train/recall.py) reads the tasks in the one format defined here.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { loadTokenizer } from '@msrnn/transformer';
import { note, processIo, type CliIo } from '../io.js';
import { checkOutputFile, defaultModelFiles, parseNonNegativeInt, parsePositiveInt } from '../options.js';
import { makeTrainingData, writeTrainingData } from '../recall/training-data.js';

interface RecallDataFlags { tokenizer?: string; haystack: string; count: string; seed: string; maxTokens: string; out: string }

export function registerRecallData(program: Command, io: CliIo = processIo): void {
  program
    .command('recall-data')
    .description('write recall-task training examples (<out>.bin uint16 token ids + <out>.json index) for tools/train/recall.py')
    .option('--tokenizer <file>', 'tokenizer.bin (default: the default model\'s)')
    .requiredOption('--haystack <files>', 'comma-separated UTF-8 books for the needle task (training books only)')
    .option('--count <n>', 'examples (the three tasks in turn)', '6000')
    .option('--seed <n>', 'seed', '1')
    .option('--max-tokens <n>', 'longest example in tokens, BOS included', '1024')
    .requiredOption('--out <prefix>', 'output prefix: writes <prefix>.bin and <prefix>.json')
    .action((flags: RecallDataFlags) => {
      const count = parsePositiveInt('--count', flags.count);
      const seed = parseNonNegativeInt('--seed', flags.seed);
      const maxTokens = parsePositiveInt('--max-tokens', flags.maxTokens);
      checkOutputFile('--out', `${flags.out}.bin`);
      const tokenizerPath = defaultModelFiles({ tokenizer: flags.tokenizer }).tokenizer;
      if (tokenizerPath === null) throw new Error('--tokenizer: give a tokenizer.bin');
      const haystackFiles = flags.haystack.split(',').filter((f) => f.length > 0);
      if (haystackFiles.length === 0) throw new Error('--haystack: give at least one text file');
      const haystack = haystackFiles.map((f) => {
        try {
          return readFileSync(f, 'utf8');
        } catch (err: any) {
          throw new Error(`--haystack: cannot read ${f}: ${err?.code ?? err?.message ?? err}`);
        }
      }).join('\n');
      return loadTokenizer(tokenizerPath).then((tokenizer) => {
        const data = makeTrainingData(tokenizer, { count, seed, maxTokens, haystack });
        writeTrainingData(flags.out, data, { seed, maxTokens, count, haystack: haystackFiles.map((f) => f.split('/').pop()) });
        note(io, `msrnn recall-data: ${count} examples, ${data.ids.length} tokens -> ${flags.out}.bin, ${flags.out}.json`);
      });
    });
}
