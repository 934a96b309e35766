// What readme.test.ts needs to run the READMEs' blocks: the blocks themselves, shell words, and
// the size rewrites that keep each command's syntax and code path but shrink its work.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Block {
  file: string;
  /** Line of the opening fence (1-based). */
  line: number;
  lang: string;
  text: string;
}

/** The fenced blocks of a markdown file. */
export function blocks(file: string, root: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(`{3,})(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j]!.trim() !== open[1]) body.push(lines[j++]!);
    out.push({ file: relative(root, file), line: i + 1, lang: open[2]!.toLowerCase(), text: body.join('\n') });
    i = j;
  }
  return out;
}

/** The READMEs under test: the root one, every package's markdown, the examples'. */
export function readmes(root: string): string[] {
  const files = [join(root, 'README.md')];
  for (const pkg of readdirSync(join(root, 'packages')).sort()) {
    const dir = join(root, 'packages', pkg);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) if (name.endsWith('.md')) files.push(join(dir, name));
  }
  files.push(join(root, 'examples', 'README.md'));
  return files.filter((f) => existsSync(f));
}

export const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);
export const TS_LANGS = new Set(['ts', 'typescript']);

/** The commands of a shell block: comments dropped, `\`-continued lines joined. */
export function commandLines(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined.split('\n').map(stripComment).map((l) => l.trim()).filter((l) => l.length > 0);
}

/** A line without its `# comment` (a # starting a word, outside quotes). */
function stripComment(line: string): string {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) { if (c === quote) quote = ''; else if (c === '\\' && quote === '"') i++; continue; }
    if (c === '"' || c === "'") quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) return line.slice(0, i);
  }
  return line;
}

/**
 * Shell words of a simple command list: quotes, backslashes and `&&` (a word of its own).
 * Returns null when the line uses anything else (pipes, redirections, `;`, variables, globs,
 * assignments): such a line runs through bash as written.
 */
export function shellWords(line: string): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) { if (word !== null) words.push(word); word = null; continue; }
    if (c === '&' && line[i + 1] === '&') { if (word !== null) words.push(word); word = null; words.push('&&'); i++; continue; }
    if ('|;<>$`*?(){}~&'.includes(c)) return null;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return null;
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j++;
        else if ('$`'.includes(line[j]!)) return null;
        s += line[j];
      }
      if (j >= line.length) return null;
      word = (word ?? '') + s;
      i = j;
    } else if (c === '\\') {
      word = (word ?? '') + (line[i + 1] ?? '');
      i++;
    } else {
      if (c === '=' && word !== null && words.length === 0 && /^[A-Za-z_]\w*$/.test(word)) return null; // VAR=value cmd
      word = (word ?? '') + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

/** Splits words at `&&`. */
export function andList(words: string[]): string[][] {
  const out: string[][] = [[]];
  for (const w of words) {
    if (w === '&&') out.push([]);
    else out[out.length - 1]!.push(w);
  }
  return out.filter((c) => c.length > 0);
}

/** Quotes a word for bash. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The size rewrites (environment MSRNN_README_FULL=1 turns them off): numbers of tokens,
 * chunks, steps and seconds get small and shape lists keep their first shape, so the whole
 * README runs in seconds while each command keeps its options and code path.
 */
/** A --shapes list of bench's GGUF shapes only. */
const GGUF_SHAPE_LIST = /^(smollm2-135m|qwen2\.5-0\.5b|tinyllama-1\.1b)(,(smollm2-135m|qwen2\.5-0\.5b|tinyllama-1\.1b))*$/;

export function shrink(args: string[]): string[] {
  const out = [...args];
  const cap = (flag: string, most: number) => {
    const i = out.indexOf(flag);
    if (i >= 0 && i + 1 < out.length && Number(out[i + 1]) > most) out[i + 1] = String(most);
  };
  const ensure = (flag: string, value: string) => {
    if (!out.includes(flag)) out.push(flag, value);
    else cap(flag, Number(value));
  };
  const command = out[0];
  cap('--steps', 16);
  cap('--tokens', 128);
  cap('--rounds', 2);
  if (command === 'ppl') { ensure('--chunks', '1'); ensure('--chunk', '128'); }
  if (command === 'trace') ensure('--tokens', '128');
  if (command === 'bench') { ensure('--seconds', '0.01'); ensure('--long-position', '1024'); ensure('--bounded', '64'); cap('--prompt', 16); }
  // Model shapes (bench --shapes, make-random-models' positional list): the smallest, 15M, only;
  // the GGUF shapes: SmolLM2-135M in its smallest file (q4_k_m), on one thread.
  for (let i = 0; i < out.length; i++) if (/^\d+M(,\d+M)*$/.test(out[i]!)) out[i] = '15M';
  const shapes = out.indexOf('--shapes');
  if (command === 'bench' && shapes >= 0 && GGUF_SHAPE_LIST.test(out[shapes + 1] ?? '')) {
    out[shapes + 1] = 'smollm2-135m';
    const set = (flag: string, value: string) => { const i = out.indexOf(flag); if (i < 0) out.push(flag, value); else out[i + 1] = value; };
    set('--weights', 'q4_k_m');
    set('--threads', '1');
  }
  return out;
}

/** Benchmark scripts (tinybench, `--time MS` per task; a short time also means few iterations) run a few ms per task. */
export function shrinkScript(script: string, args: string[]): string[] {
  const out = shrink(args);
  if (/\.bench\.ts$/.test(script)) {
    const i = out.indexOf('--time');
    if (i < 0) out.push('--time', '5');
    else if (Number(out[i + 1]) > 5) out[i + 1] = '5';
  }
  return out;
}
