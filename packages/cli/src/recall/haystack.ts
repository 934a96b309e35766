// The needle task's haystack: a book from --haystack, by default the held-out Persuasion in ../shared/text.
import { readFileSync } from 'node:fs';

export function readHaystack(path: string | undefined): string {
  const file = path ?? new URL('../../../../../shared/text/austen_3_persuasion.txt', import.meta.url).pathname;
  try {
    return readFileSync(file, 'utf8');
  } catch (err: any) {
    throw new Error(`--haystack: cannot read ${file}: ${err?.code ?? err?.message ?? err}`);
  }
}
