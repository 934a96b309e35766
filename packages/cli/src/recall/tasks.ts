// Synthetic tasks that need memory, generated from a seed: the one definition of their format, used by
// `msrnn recall` (accuracy under each policy) and by `msrnn recall-data` (the training set that
// tools/train/recall.py reads). Each example is a text whose LAST answer is the scored one: the model
// sees text[0, answerStart) and must continue with text[answerStart, end) exactly.
//   assoc   associative recall: "Pairs: k17=3, k5=9, ...\nAsk: k5=" → "9" (earlier queries, with their
//           answers, may precede the scored one: more signal per training row)
//   passkey a number in repetitive filler, asked at the end (Mohtashami & Jaggi 2023)
//   needle  a sentence with a number hidden at a chosen depth of book text (needle in a haystack)

export type RecallTaskName = 'assoc' | 'passkey' | 'needle';
export const recallTaskNames: readonly RecallTaskName[] = ['assoc', 'passkey', 'needle'];

export interface RecallExample {
  task: RecallTaskName;
  text: string;
  /** Character index of the scored answer (it runs to the end of the text). */
  answerStart: number;
  /** Where the fact needed for the scored answer sits, as a fraction of the text before the question. */
  depth: number;
}

/** mulberry32: a small seeded generator (tasks only need reproducibility, not quality). */
export class TaskRng {
  private s: number;
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`task seed must be an integer, got ${String(seed)}`);
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
}

function checkDepth(depth: number): void {
  if (!(depth >= 0 && depth <= 1)) throw new RangeError(`depth must be in [0, 1], got ${String(depth)}`);
}

export interface AssocOptions {
  /** Key-value pairs listed (1..1000). */
  pairs: number;
  /** Queries asked; the last one is scored (default 1). */
  queries?: number;
  /** Position of the scored key in the list, as a fraction (default: random). */
  depth?: number;
}

/** Keys k0..k999 (distinct within an example), values 0..99. */
export function assocExample(rng: TaskRng, opts: AssocOptions): RecallExample {
  const { pairs } = opts;
  const queries = opts.queries ?? 1;
  if (!Number.isInteger(pairs) || pairs < 1 || pairs > 1000) throw new RangeError(`assoc: pairs must be an integer in [1, 1000], got ${String(pairs)}`);
  if (!Number.isInteger(queries) || queries < 1 || queries > pairs) throw new RangeError(`assoc: queries must be an integer in [1, pairs=${pairs}], got ${String(queries)}`);
  const keys = new Set<number>();
  while (keys.size < pairs) keys.add(rng.int(0, 999));
  const list = [...keys].map((k) => ({ key: `k${k}`, value: String(rng.int(0, 99)) }));
  let scored: number;
  if (opts.depth !== undefined) {
    checkDepth(opts.depth);
    scored = Math.min(pairs - 1, Math.floor(opts.depth * pairs));
  } else {
    scored = rng.int(0, pairs - 1);
  }
  const asked: number[] = [];
  while (asked.length < queries - 1) {
    const q = rng.int(0, pairs - 1);
    if (q !== scored) asked.push(q);
  }
  asked.push(scored);
  const head = `Pairs: ${list.map((p) => `${p.key}=${p.value}`).join(', ')}.\nAsk: `;
  const before = asked.slice(0, -1).map((q) => `${list[q]!.key}=${list[q]!.value}, `).join('');
  const prompt = `${head}${before}${list[scored]!.key}=`;
  return { task: 'assoc', text: prompt + list[scored]!.value, answerStart: prompt.length, depth: pairs === 1 ? 0 : scored / (pairs - 1) };
}

const FILLER = 'The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\n';

export interface PasskeyOptions {
  /** Filler paragraphs (each about 25 tokens). */
  fillers: number;
  /** Where the key sits among the fillers, as a fraction (default: random). */
  depth?: number;
}

export function passkeyExample(rng: TaskRng, opts: PasskeyOptions): RecallExample {
  const { fillers } = opts;
  if (!Number.isInteger(fillers) || fillers < 0 || fillers > 10000) throw new RangeError(`passkey: fillers must be an integer in [0, 10000], got ${String(fillers)}`);
  const at = opts.depth !== undefined ? (checkDepth(opts.depth), Math.round(opts.depth * fillers)) : rng.int(0, fillers);
  const key = String(rng.int(10000, 99999));
  const prompt = `${FILLER.repeat(at)}The pass key is ${key}. Remember it. ${key} is the pass key.\n${FILLER.repeat(fillers - at)}What is the pass key? The pass key is `;
  return { task: 'passkey', text: prompt + key, answerStart: prompt.length, depth: fillers === 0 ? 0 : at / fillers };
}

export interface NeedleOptions {
  /** Haystack characters taken from the book (about 4 per token). */
  chars: number;
  /** Where the needle sits in the haystack, as a fraction (default: random). */
  depth?: number;
}

/** The needle goes in at a line break at (or just after) the chosen depth of a random book excerpt. */
export function needleExample(rng: TaskRng, haystack: string, opts: NeedleOptions): RecallExample {
  const { chars } = opts;
  if (!Number.isInteger(chars) || chars < 0) throw new RangeError(`needle: chars must be a non-negative integer, got ${String(chars)}`);
  if (haystack.length < chars + 1) throw new RangeError(`needle: the haystack text has ${haystack.length} characters, fewer than the ${chars} asked for`);
  const from = rng.int(0, haystack.length - chars);
  const excerpt = haystack.slice(from, from + chars);
  const depth = opts.depth ?? rng.next();
  checkDepth(depth);
  let cut = Math.round(depth * excerpt.length);
  const nl = excerpt.indexOf('\n', cut);
  cut = nl >= 0 ? nl + 1 : excerpt.length;
  const code = String(rng.int(10000, 99999));
  const prompt = `${excerpt.slice(0, cut)}The secret code is ${code}.\n${excerpt.slice(cut)}\nWhat is the secret code? The secret code is `;
  return { task: 'needle', text: prompt + code, answerStart: prompt.length, depth: excerpt.length === 0 ? 0 : cut / excerpt.length };
}
