// `--sentinel SPEC` of generate, ppl and trace: Ren et al.'s sentinel compression on a model fine-tuned
// for it (tools/train/finetune.py --method sentinel; its model.json names <CL>/<CR>). Two span rules:
//   every=N[,span=L]                 online: in each block of N text tokens the last L (default N-1) are a span
//   ratio=R[,max-span=L][,seed=S]    the paper's: spans of 2..L (default 25) until share R of the text is in
//                                    spans, placed at random (seed S, default 0); needs the text length
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { chooseSpans, MAX_SPAN_DEFAULT } from '@msrnn/policies';
import { listedSpans, MAX_SPAN_LIMIT, periodicSpans, type SentinelIds, type SpanRule } from '@msrnn/transformer';

export type SentinelSpec =
  | { rule: 'every'; every: number; span: number }
  | { rule: 'ratio'; ratio: number; maxSpan: number; seed: number };

export const SENTINEL_HELP = 'sentinel compression on a model fine-tuned for it: every=N[,span=L] (in each N text tokens the last L, default N-1, '
  + `are compressed) or ratio=R[,max-span=L][,seed=S] (the paper's random spans of 2..L, default ${MAX_SPAN_DEFAULT}, covering share R)`;

const KEYS = { every: ['every', 'span'], ratio: ['ratio', 'max-span', 'seed'] } as const;

/** Parses a --sentinel value; every error names the flag and what is wrong. */
export function parseSentinelSpec(flag: string, value: string): SentinelSpec {
  const fields = new Map<string, string>();
  for (const part of value.split(',')) {
    const [key, raw, extra] = part.split('=').map((s) => s.trim());
    if (!key || raw === undefined || raw === '' || extra !== undefined) throw new RangeError(`${flag}: "${part}" is not key=value (${SENTINEL_HELP})`);
    if (fields.has(key)) throw new RangeError(`${flag}: "${key}" is given twice`);
    fields.set(key, raw);
  }
  const rule = fields.has('every') ? 'every' : fields.has('ratio') ? 'ratio' : null;
  if (rule === null) throw new RangeError(`${flag}: give every=N or ratio=R, got ${JSON.stringify(value)} (${SENTINEL_HELP})`);
  for (const key of fields.keys()) {
    if (!(KEYS[rule] as readonly string[]).includes(key)) throw new RangeError(`${flag}: unknown key "${key}" for the ${rule} rule; its keys: ${KEYS[rule].join(', ')}`);
  }
  const integer = (key: string, fallback: number, min: number, max: number): number => {
    const raw = fields.get(key);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new RangeError(`${flag}: ${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(raw)}`);
    return n;
  };
  if (rule === 'every') {
    const every = integer('every', 0, 3, MAX_SPAN_LIMIT + 1);
    const span = integer('span', every - 1, 2, every - 1);
    return { rule, every, span };
  }
  const ratio = Number(fields.get('ratio'));
  if (!(ratio > 0 && ratio < 1)) throw new RangeError(`${flag}: ratio (the compressed share of the text) must be in (0, 1), got ${JSON.stringify(fields.get('ratio'))}`);
  return { rule, ratio, maxSpan: integer('max-span', MAX_SPAN_DEFAULT, 2, MAX_SPAN_LIMIT), seed: integer('seed', 0, 0, 2 ** 31 - 1) };
}

export function describeSentinelSpec(spec: SentinelSpec): string {
  return spec.rule === 'every'
    ? `sentinel every=${spec.every},span=${spec.span}`
    : `sentinel ratio=${spec.ratio},max-span=${spec.maxSpan},seed=${spec.seed}`;
}

/**
 * The spans of a text of `nText` tokens. The ratio rule draws them for the whole text at once;
 * `stream` picks independent draws (ppl: the chunk index, as tools/train/finetune.py's evaluation).
 */
export function spanRuleFor(spec: SentinelSpec, nText: number, stream = 0): SpanRule {
  if (spec.rule === 'every') return periodicSpans(spec.every, spec.span);
  return listedSpans(chooseSpans(nText, spec.ratio, spec.maxSpan, spec.seed, stream), describeSentinelSpec(spec));
}

/** The every=N,span=L spec of a periodic rule (a saved stream's; only those can be saved), else null. */
export function everySpecOf(spans: SpanRule): SentinelSpec | null {
  return spans.periodic ? { rule: 'every', every: spans.periodic.every, span: spans.periodic.length } : null;
}

/** Sentinel ids from the model.json beside a model file (or in a model folder); a clear error when there are none. */
export function readSentinelIds(modelPath: string, vocabSize: number): SentinelIds {
  const folder = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const sidecar = join(folder, 'model.json');
  const missing = `model ${modelPath} has no sentinel tokens <CL>/<CR>`;
  if (!existsSync(sidecar)) throw new Error(`${missing}: no model.json beside it (fine-tune one with tools/train/finetune.py --method sentinel)`);
  let meta: any;
  try {
    meta = JSON.parse(readFileSync(sidecar, 'utf8'));
  } catch (err: any) {
    throw new Error(`${sidecar}: not valid JSON (${err?.message ?? err})`);
  }
  const s = meta?.sentinels;
  if (s === undefined) throw new Error(`${missing}: ${sidecar} has no "sentinels" entry`);
  const ids = { cl: s.CL, cr: s.CR };
  for (const [name, id] of [['CL', ids.cl], ['CR', ids.cr]] as const) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`${sidecar}: sentinel ${name} is ${JSON.stringify(id)}, not a token id below the model's vocabulary ${vocabSize}`);
  }
  if (ids.cl === ids.cr) throw new Error(`${sidecar}: <CL> and <CR> have the same id ${ids.cl}`);
  return ids;
}
