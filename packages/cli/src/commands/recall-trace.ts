// `msrnn recall-trace`: one seeded recall example under several policies: for each, whether the model
// answered, and per layer how many KV heads still held the fact's tokens when the answer was predicted
// (a markdown table), plus `msrnn trace`'s heatmap per policy. Where Window fails: the fact left the window.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getPolicy, isPolicyName, policyNames } from '@msrnn/policies';
import { loadModel } from '@msrnn/transformer';
import { addModelOptions, checkOutputFile, defaultModelFiles, loadTokenizerFor, parseNonNegativeInt, parsePositiveInt } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';
import { factSurvival } from '../recall/fact-trace.js';
import { readHaystack } from '../recall/haystack.js';
import { makeCases, solves } from '../recall/harness.js';
import { recallTaskNames, type RecallTaskName } from '../recall/tasks.js';
import { summarize } from '../trace/record.js';
import { traceSvg } from '../trace/svg.js';

interface RecallTraceFlags { model?: string; tokenizer?: string; task: string; size: string; depth: string; seed: string; policies: string; capacity: string; haystack?: string; svg?: string }

export function registerRecallTrace(program: Command, io: CliIo = processIo): void {
  addModelOptions(program.command('recall-trace').description('one recall example under each policy: answered?, and which layers still hold the fact when asked (markdown + trace SVGs)'))
    .option('--task <name>', `task: ${recallTaskNames.join(', ')}`, 'passkey')
    .option('--size <n>', 'example size in tokens (approximate)', '256')
    .option('--depth <d>', 'where the fact sits, a fraction in [0, 1]', '0')
    .option('--seed <n>', 'task seed', '1')
    .option('--policies <list>', `policies: ${policyNames.join(', ')}`, 'full,window,tova,h2o')
    .option('--capacity <k>', 'capacity of the bounded policies', '32')
    .option('--haystack <file>', 'book text for the needle task (default: ../shared/text/austen_3_persuasion.txt)')
    .option('--svg <prefix>', 'write one trace heatmap per policy: <prefix>-<policy>.svg')
    .action(async (flags: RecallTraceFlags) => {
      const task = flags.task as RecallTaskName;
      if (!recallTaskNames.includes(task)) throw new Error(`--task: unknown task "${flags.task}"; valid: ${recallTaskNames.join(', ')}`);
      const size = parsePositiveInt('--size', flags.size), seed = parseNonNegativeInt('--seed', flags.seed), capacity = parsePositiveInt('--capacity', flags.capacity);
      const depth = Number(flags.depth);
      if (flags.depth === '' || !(depth >= 0 && depth <= 1)) throw new Error(`--depth: ${JSON.stringify(flags.depth)} is not a fraction in [0, 1]`);
      const names = flags.policies.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
      if (names.length === 0) throw new Error('--policies: give at least one policy');
      for (const p of names) if (!isPolicyName(p)) throw new Error(`--policies: unknown policy "${p}"; valid: ${policyNames.join(', ')}`);
      if (flags.svg) checkOutputFile('--svg', `${flags.svg}-${names[0]}.svg`);
      const files = defaultModelFiles(flags);
      const model = await loadModel(files.model);
      const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn recall-trace: ${line}`));
      const haystack = task === 'needle' ? readHaystack(flags.haystack) : '';
      const [c] = makeCases(tokenizer, { tasks: [task], sizes: [size], depths: [depth], perCell: 1, seed, haystack, maxTokens: model.config.seqLen });
      const rows: string[] = [];
      let head = '';
      for (const name of names) {
        const policy = name === 'full' ? getPolicy('full') : getPolicy(name, { capacity });
        const s = factSurvival(model, policy, c!);
        if (!head) {
          const { ids } = c!.encoded;
          head = `${task}, size ${size}, depth ${depth}, seed ${seed}: ${ids.length} tokens, fact at positions ${s.fact[0]}..${s.fact.at(-1)} `
            + `(${JSON.stringify(tokenizer.decode(ids.slice(s.fact[0]!, s.fact.at(-1)! + 1)))}), answer asked at step ${s.asked}`;
          rows.push(`| policy${name === 'full' && names.length === 1 ? '' : ` (k = ${capacity})`} | answered | KV heads holding the whole fact, per layer | fact tokens held (of ${s.fact.length} × ${model.config.nKvHeads} heads × ${model.config.nLayers} layers) |`, '|---|---|---|---:|');
        }
        rows.push(`| ${name} | ${solves(model, policy, c!) ? 'yes' : 'no'} | ${s.wholeFactHeads.map((n) => `${n}/${model.config.nKvHeads}`).join(' ')} | ${s.keptTokens} |`);
        if (flags.svg) writeFileSync(`${flags.svg}-${name}.svg`, traceSvg(s.trace, summarize(s.trace), `${name}${name === 'full' ? '' : `, k = ${capacity}`}: ${task} (fact at ${s.fact[0]}..${s.fact.at(-1)}, asked at step ${s.asked})`));
      }
      print(io, [head, '', ...rows].join('\n'));
    });
}
