// Which model and tokenizer files a command uses when none are given.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const repoRoot = resolve(import.meta.dirname, '../../../..');

export function resolveModelFiles(flags: { model?: string; tokenizer?: string }): { model: string; tokenizer: string } {
  const model = flags.model ?? resolve(repoRoot, '../shared/models/stories260K.bin');
  const tokenizer = flags.tokenizer ?? resolve(repoRoot, '../shared/models/tok512.bin');
  for (const [what, p] of [['model', model], ['tokenizer', tokenizer]] as const) {
    if (!existsSync(p)) throw new Error(`${what} file ${p} not found; give --${what}`);
  }
  return { model, tokenizer };
}
