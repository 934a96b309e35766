// `msrnn recall`: what a bounded state loses on tasks that need memory. Any model × policy × capacity
// on the seeded recall tasks (associative recall, passkey, needle in a haystack; ../recall/tasks.ts):
// accuracy to a CSV, accuracy vs capacity per policy and a needle depth × length heatmap as SVG.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { getPolicy, isPolicyName, policyNames } from '@msrnn/policies';
import { loadModel } from '@msrnn/transformer';
import { addKvBytesOption, addKvOption, addModelOptions, checkKvBytesPolicies, parseByteSize, policyForBytes, checkOutputFile, parseKv, defaultModelFiles, loadTokenizerFor, parseNonNegativeInt, parsePositiveInt } from '../options.js';
import { note, print, processIo, type CliIo } from '../io.js';
import { DEFAULT_CAPACITIES, parseList } from '../ppl/parse.js';
import { readHaystack } from '../recall/haystack.js';
import { makeCases, runRecall, type RecallResult } from '../recall/harness.js';
import { accuracyByCapacity, accuracySvg, heatmapSvg } from '../recall/svg.js';
import { recallTaskNames, type RecallTaskName } from '../recall/tasks.js';

interface RecallFlags {
  model?: string; tokenizer?: string; tasks: string; policies: string; capacities?: string; kvBytes?: string; sizes: string; depths: string;
  examples: string; seed: string; haystack?: string; csv?: string; svg?: string; heatmap?: string; heatmapPolicy: string; kv: string;
}

function list<T>(option: string, value: string, parse: (s: string) => T): T[] {
  const items = parseList(value);
  if (items.length === 0) throw new Error(`${option}: give at least one value`);
  return items.map(parse);
}

export function registerRecall(program: Command, io: CliIo = processIo): void {
  const command = addModelOptions(program.command('recall').description('accuracy on recall tasks (assoc, passkey, needle) per policy and capacity: CSV + SVG'))
    .option('--tasks <list>', `tasks: ${recallTaskNames.join(', ')}`, recallTaskNames.join(','))
    .option('--policies <list>', `policies (full = the unbounded state): ${policyNames.join(', ')}`, 'full,window,sinks,tova,h2o')
    .option('--capacities <list>', `capacities for the bounded policies (default ${DEFAULT_CAPACITIES})`)
    .option('--sizes <list>', 'example sizes in tokens (approximate)', '128,256,512')
    .option('--depths <list>', 'where the fact sits, fractions in [0, 1]', '0,0.5,1')
    .option('--examples <n>', 'examples per task, size and depth', '4')
    .option('--seed <n>', 'task seed', '1')
    .option('--haystack <file>', 'book text for the needle task (default: ../shared/text/austen_3_persuasion.txt, held out from the default models)')
    .option('--csv <file>', 'write one row per task, policy, capacity, size and depth')
    .option('--svg <file>', 'write accuracy vs capacity per policy (one panel per task, files <file> with the task name before .svg)')
    .option('--heatmap <file>', 'write the needle depth × size heatmap of --heatmap-policy')
    .option('--heatmap-policy <p>', 'policy:capacity of the heatmap (or full)', 'full');
  addKvBytesOption(addKvOption(command))
    .action(async (flags: RecallFlags) => {
      const tasks = list('--tasks', flags.tasks, (t) => {
        if (!(recallTaskNames as readonly string[]).includes(t)) throw new Error(`--tasks: unknown task "${t}"; valid: ${recallTaskNames.join(', ')}`);
        return t as RecallTaskName;
      });
      const policies = list('--policies', flags.policies, (p) => {
        if (!isPolicyName(p)) throw new Error(`--policies: unknown policy "${p}"; valid: ${policyNames.join(', ')}`);
        return p;
      });
      const kvBytes = flags.kvBytes !== undefined ? parseByteSize('--kv-bytes', flags.kvBytes) : undefined;
      if (kvBytes !== undefined && flags.capacities !== undefined) throw new Error('give --capacities or --kv-bytes, not both');
      if (kvBytes !== undefined) checkKvBytesPolicies('--policies', policies);
      const capacities = list('--capacities', flags.capacities ?? DEFAULT_CAPACITIES, (k) => parsePositiveInt('--capacities', k));
      const sizes = list('--sizes', flags.sizes, (s) => parsePositiveInt('--sizes', s));
      const depths = list('--depths', flags.depths, (d) => {
        const x = Number(d);
        if (d === '' || !(x >= 0 && x <= 1)) throw new Error(`--depths: ${JSON.stringify(d)} is not a fraction in [0, 1]`);
        return x;
      });
      const perCell = parsePositiveInt('--examples', flags.examples);
      const seed = parseNonNegativeInt('--seed', flags.seed);
      const kv = parseKv(flags.kv);
      for (const [o, f] of [['--csv', flags.csv], ['--svg', flags.svg], ['--heatmap', flags.heatmap]] as const) checkOutputFile(o, f);
      const files = defaultModelFiles(flags);
      const model = await loadModel(files.model);
      const tokenizer = await loadTokenizerFor(files, model, (line) => note(io, `msrnn recall: ${line}`));
      const haystack = tasks.includes('needle') ? readHaystack(flags.haystack) : '';
      const cases = makeCases(tokenizer, { tasks, sizes, depths, perCell, seed, haystack, maxTokens: model.config.seqLen });
      note(io, `msrnn recall: ${files.model}, ${cases.length} examples × ${policies.length} policies`);
      // --kv-bytes: each policy at the largest capacity whose state fits (h2o's statistics take room too).
      const results = kvBytes === undefined ? runRecall(model, cases, policies, capacities, kv) : policies.flatMap((name) => {
        const budgeted = policyForBytes('--kv-bytes', model, kvBytes, kv, (capacity) => getPolicy(name, { capacity }));
        note(io, `msrnn recall: ${name}: ${budgeted.line}`);
        return runRecall(model, cases, [name], [budgeted.policy.capacity], kv);
      });
      const rows = ['task,policy,capacity,size,depth,solved,total,accuracy'];
      for (const r of results) rows.push([r.task, r.policy, r.capacity === Infinity ? 'full' : r.capacity, r.length, r.depth, r.solved, r.total, (r.solved / r.total).toFixed(4)].join(','));
      if (flags.csv) writeFileSync(flags.csv, rows.join('\n') + '\n');
      for (const task of tasks) {
        const acc = accuracyByCapacity(results, task);
        const cells = [...acc].map(([p, m]) => `${p} ${[...m].map(([k, a]) => `${k === Infinity ? 'full' : `k=${k}`}:${a.toFixed(2)}`).join(' ')}`);
        print(io, `${task}: ${cells.join(' | ')}`);
        if (flags.svg) writeFileSync(flags.svg.replace(/\.svg$/, '') + `-${task}.svg`, accuracySvg(`${task}: accuracy vs capacity (${files.model})`, acc));
      }
      if (flags.heatmap) {
        const [hp, hk] = flags.heatmapPolicy.split(':');
        const capacity = hp === 'full' ? Infinity : parsePositiveInt('--heatmap-policy capacity', hk ?? '');
        const cellResults = results.filter((r: RecallResult) => r.task === 'needle' && r.policy === hp && r.capacity === capacity);
        if (cellResults.length === 0) throw new Error(`--heatmap-policy ${flags.heatmapPolicy}: no needle results for it (is it in --policies and --capacities, and needle in --tasks?)`);
        writeFileSync(flags.heatmap, heatmapSvg(`needle: ${flags.heatmapPolicy}, depth × size`, cellResults));
      }
    });
}
