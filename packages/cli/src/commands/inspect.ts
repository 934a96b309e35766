// `msrnn inspect FILE`: what a model file holds (format, architecture, hyperparameters,
// tokenizer, tensors) and the memory its weights and a state of capacity k take. Reads no weights.
import type { Command } from 'commander';
import { bytesPerEntryByKv, inspectModelFile, MODEL_FOLDER_FILES, readHfFolder, stateBytes, type ModelReport } from '@msrnn/transformer';
import { inspectModelFiles } from '@msrnn/transformer/export';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCapacity } from '../options.js';
import { processIo, type CliIo } from '../io.js';
import { getPolicy, policyEntry, policyNames } from '@msrnn/policies';

interface InspectFlags { capacity?: string; policy?: string; json: boolean }

export function registerInspect(program: Command, io: CliIo = processIo): void {
  program
    .command('inspect')
    .description('show what a model (GGUF, llama2.c, Hugging Face folder) holds and the memory it and a state take')
    .argument('<path>', 'model file (GGUF or llama2.c checkpoint) or folder (Hugging Face, or one holding model.gguf / model.bin)')
    .option('--capacity <k>', 'state capacity to size (default: the model\'s trained context length)')
    .option('--policy <name>', `size the state for this policy (per-entry statistics: h2o, knorm): ${policyNames.join(', ')}`)
    .option('--json', 'print one JSON object instead of text', false)
    .action(async (path: string, flags: InspectFlags) => {
      const { report, byteLength } = await inspectPath(path);
      const bytes = { byteLength };
      const capacity = flags.capacity !== undefined ? parseCapacity('--capacity', flags.capacity) : report.config?.seqLen ?? null;
      const stats = flags.policy === undefined ? 0 : statsOf(flags.policy);
      const state = capacity === null || capacity === Infinity ? null : stateBytes(report, capacity, stats);
      if (flags.json) {
        io.stdout.write(`${JSON.stringify({ ...report, stateBytesPerEntryByKv: bytesPerEntryByKv(report), fileBytes: bytes.byteLength, capacity, policy: flags.policy ?? null, stateBytes: state })}\n`);
      } else {
        io.stdout.write(formatReport(report, bytes.byteLength, capacity, state, flags.policy));
      }
    });
}

/** A model file, a Hugging Face folder (its safetensors, config and tokenizer files), or a folder's model.gguf / model.bin. */
async function inspectPath(path: string): Promise<{ report: ModelReport; byteLength: number }> {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
    if (existsSync(join(path, 'config.json'))) {
      const files = await readHfFolder(path);
      for (const name of ['tokenizer.json', 'tokenizer_config.json']) if (existsSync(join(path, name))) files.set(name, readFileSync(join(path, name)));
      return { report: inspectModelFiles(files, path), byteLength: [...files.values()].reduce((n, b) => n + b.byteLength, 0) };
    }
    const inside = MODEL_FOLDER_FILES.map((n) => join(path, n)).find((p) => existsSync(p));
    if (!inside) throw new Error(`${path}: a folder with no config.json (Hugging Face), ${MODEL_FOLDER_FILES.join(' or ')}`);
    return inspectPath(inside);
  }
  // Only the header is read: a multi-GB file inspects in a moment.
  const report = await inspectModelFile(path);
  return { report, byteLength: statSync(path).size };
}

/** Per-entry statistics the policy keeps (h2o's accumulated attention, …), each a float64. */
function statsOf(name: string): number {
  const entry = policyEntry(name);
  return getPolicy(name, entry.unbounded ? {} : entry.needsRatio ? { ratio: 0.5 } : { capacity: 1 }).statsPerEntry ?? 0;
}

const n = (x: number): string => x.toLocaleString('en-US');

function formatBytes(b: number): string {
  if (b < 1024) return `${b} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = b / 1024, u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]} (${n(b)} bytes)`;
}

export function formatReport(r: ModelReport, fileBytes: number, capacity: number | null, state: number | null, policy?: string): string {
  const lines: string[] = [];
  lines.push(`${r.format.startsWith('Hugging Face') ? 'folder' : 'file'}: ${r.source} (${r.format}, ${formatBytes(fileBytes)})`);
  lines.push(`architecture: ${r.architecture}${r.name ? ` "${r.name}"` : ''}${r.supported ? '' : ` — cannot run: ${r.unsupportedReason}`}`);
  lines.push('hyperparameters:');
  for (const [k, v] of Object.entries(r.hyperparameters)) lines.push(`  ${k} = ${v}`);
  const t = r.tokenizer;
  lines.push(`tokenizer: ${t.kind}${t.size !== null ? `, ${n(t.size)} tokens` : ''}` +
    `${t.preTokenizer ? `, pre-tokenizer ${t.preTokenizer}` : ''}${t.merges !== null ? `, ${n(t.merges)} merges` : ''}`);
  if (t.special.length > 0) lines.push(`  special: ${t.special.map((s) => `${s.role} ${s.id}${s.piece !== null ? ` ${JSON.stringify(s.piece)}` : ''}`).join(', ')}`);
  if (t.addBos !== null || t.addEos !== null) lines.push(`  add_bos_token ${t.addBos ?? 'unset'}, add_eos_token ${t.addEos ?? 'unset'}`);
  if (t.controlTokenCount > 0) {
    const shown = t.controlTokens.map((c) => `${c.id} ${JSON.stringify(c.piece)}`).join(', ');
    lines.push(`  control/user-defined tokens (${t.controlTokenCount}): ${shown}${t.controlTokenCount > t.controlTokens.length ? ', …' : ''}`);
  }
  lines.push(`chat template: ${t.chatTemplate ? 'present' : 'none'}`);
  lines.push(`tensors (${r.tensors.length}; shapes fastest dimension first, as in GGUF):`);
  const width = Math.max(...r.tensors.map((x) => x.name.length));
  for (const x of r.tensors) lines.push(`  ${x.name.padEnd(width)}  ${x.type.padEnd(5)}  [${x.shape.join(', ')}]  ${n(x.bytes)} bytes`);
  lines.push(`parameters: ${n(r.parameters)}`);
  lines.push(`weights in memory: ${formatBytes(r.weightBytes)} (kept in the file's types)`);
  if (r.stateBytesPerEntry !== null) {
    const byKv = bytesPerEntryByKv(r);
    const others = byKv ? `; --kv f16: ${n(byKv.f16)}, q8: ${n(byKv.q8)}` : '';
    lines.push(`state: ${n(r.stateBytesPerEntry)} bytes per kept token (f32 keys, values and positions of every layer and KV head${others})` +
      (capacity !== null && state !== null ? `; a state of capacity ${n(capacity)}${policy ? ` under ${policy}` : ''} takes ${formatBytes(state)}` : '; an unbounded state grows by that much per token'));
  }
  return `${lines.join('\n')}\n`;
}
