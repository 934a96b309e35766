// The driver of Ren et al.'s sentinel compression: it inserts <CL>/<CR> into the token stream at the
// position of the token before them (positions do not advance on a sentinel) and lets the state's
// SentinelCompression component evict each span with its <CL> once <CR> has attended them. A model
// fine-tuned by tools/train/finetune.py (--method sentinel) names its sentinel ids in model.json.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { MultiState } from '@msrnn/msrnn';
import type { KvType } from '@msrnn/tensor';
import { chooseSpans, SentinelCompression, type Span } from '@msrnn/policies';
import { createState, step, type Model } from '@msrnn/transformer';

export interface SentinelIds { cl: number; cr: number }

/** Sentinel ids from the model.json beside a model file; a clear error when there are none. */
export function readSentinelIds(modelPath: string, vocabSize: number): SentinelIds {
  const sidecar = join(dirname(modelPath), 'model.json');
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

/** One sequence under sentinel compression: text tokens, span openings and closings, in order. */
export class SentinelRun {
  readonly state: MultiState;
  private readonly compression: SentinelCompression;
  private spanOpen = false;
  private spanLength = 0;

  constructor(readonly model: Model, readonly ids: SentinelIds, kv: KvType = 'f32') {
    const vocab = model.config.vocabSize;
    for (const id of [ids.cl, ids.cr]) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`sentinel id ${id} is outside the model's vocabulary (${vocab})`);
    }
    this.compression = new SentinelCompression(model.config.nLayers);
    this.state = createState(model, { policy: this.compression, kv });
  }

  get inSpan(): boolean {
    return this.spanOpen;
  }

  /** A text token at the next position; returns the logits predicting the next token. */
  text(token: number, logitsOut?: Float32Array): Float32Array {
    if (token === this.ids.cl || token === this.ids.cr) throw new RangeError(`token ${token} is a sentinel; use open()/close()`);
    this.compression.phase = 'text';
    if (this.spanOpen) this.spanLength++;
    return step(this.model, this.state, token, logitsOut);
  }

  /** <CL> at the previous token's position: what follows is compressed at the next close(). */
  open(logitsOut?: Float32Array): Float32Array {
    if (this.spanOpen) throw new Error('sentinel compression: a span is already open');
    if (this.state.seen === 0) throw new Error('sentinel compression: a span cannot open before the first token');
    this.spanOpen = true;
    this.spanLength = 0;
    return this.sentinel(this.ids.cl, 'open', logitsOut);
  }

  /** <CR> at the previous token's position; after it attends, the span and its <CL> leave every layer. */
  close(logitsOut?: Float32Array): Float32Array {
    if (!this.spanOpen) throw new Error('sentinel compression: no open span to close');
    if (this.spanLength === 0) throw new Error('sentinel compression: an empty span cannot be closed');
    this.spanOpen = false;
    return this.sentinel(this.ids.cr, 'close', logitsOut);
  }

  private sentinel(token: number, phase: 'open' | 'close', logitsOut?: Float32Array): Float32Array {
    this.compression.phase = phase;
    this.state.seen -= 1; // the sentinel takes the position of the token before it...
    try {
      return step(this.model, this.state, token, logitsOut); // ...and step() advances it back
    } finally {
      this.compression.phase = 'text';
    }
  }
}

/**
 * Feeds `text` (BOS first) with `spans` compressed. onPredict(i, logits) is called for every text
 * index i >= 1 with the logits of the element just before it in the stream (a text token or a
 * sentinel): the prediction the paper's protocol scores.
 */
export function runWithSpans(run: SentinelRun, text: ArrayLike<number>, spans: readonly Span[], onPredict?: (index: number, logits: Float32Array) => void): void {
  let end = 0;
  for (const s of spans) {
    if (!Number.isInteger(s.start) || !Number.isInteger(s.length) || s.start < Math.max(1, end) || s.length < 1 || s.start + s.length > text.length) {
      throw new RangeError(`sentinel spans must be ordered, disjoint, after BOS and inside the ${text.length} tokens; got start ${s.start}, length ${s.length}`);
    }
    end = s.start + s.length;
  }
  const logits = new Float32Array(run.model.config.vocabSize);
  let next = 0;
  for (let i = 0; i < text.length; i++) {
    const span = spans[next];
    if (span !== undefined && span.start === i) run.open(logits);
    if (i > 0) onPredict?.(i, logits);
    run.text(text[i]!, logits);
    if (span !== undefined && i === span.start + span.length - 1) {
      run.close(logits);
      next++;
    }
  }
}

export { chooseSpans };
