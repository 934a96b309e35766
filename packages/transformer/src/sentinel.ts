// The driver of Ren et al.'s sentinel compression (2023): it inserts <CL>/<CR> into the token
// stream at the position of the token before them (positions do not advance on a sentinel), and
// the state's SentinelCompression (@msrnn/msrnn) evicts each span with its <CL> once <CR> has
// attended them, before any capacity bound composed with it. A model fine-tuned for it
// (tools/train/finetune.py --method sentinel) names its two ids in the model.json beside it.
import { encodeState, SentinelCompression, StateFileError, type MultiState, type Policy, type PositionMode, type SavedSentinel, type Span } from '@msrnn/msrnn';
import type { KvType } from '@msrnn/tensor';
import { createState, type Model } from './model.js';
import { modelFingerprint } from './state-io.js';
import { step } from './step.js';

export interface SentinelIds { cl: number; cr: number }

/** Which text tokens are compressed: spanAt(i) is the length of the span starting at text index i, or 0. */
export interface SpanRule {
  spanAt(textIndex: number): number;
  /** One line for reports. */
  describe(): string;
  /** periodicSpans' parameters: the rule a saved stream makes again (a listed rule ends with its list, so it cannot continue). */
  readonly periodic?: { every: number; length: number };
}

/** Longest span any rule accepts (the paper uses 25). */
export const MAX_SPAN_LIMIT = 1024;

/** The kinds of stream elements, as SentinelStream's onElement reports them. */
export const TEXT = 0, OPEN = 1, CLOSE = 2;
export type ElementKind = typeof TEXT | typeof OPEN | typeof CLOSE;

/**
 * The online rule: the text is cut into blocks of `every` tokens from index 1 (BOS is never
 * compressed), and the last `length` tokens of each block (default every - 1) form a span, so a
 * text token always separates two spans, as in training. About length/every of the text is compressed.
 */
export function periodicSpans(every: number, length = every - 1): SpanRule {
  if (!Number.isInteger(every) || every < 3 || every > MAX_SPAN_LIMIT + 1) {
    throw new RangeError(`sentinel spans: every must be an integer in [3, ${MAX_SPAN_LIMIT + 1}] (a span of at least 2 and one text token between spans), got ${String(every)}`);
  }
  if (!Number.isInteger(length) || length < 2 || length >= every) {
    throw new RangeError(`sentinel spans: span length must be an integer in [2, ${every - 1}] (less than every = ${every}), got ${String(length)}`);
  }
  const offset = every - length;
  return {
    spanAt: (i) => (i >= 1 && (i - 1) % every === offset ? length : 0),
    describe: () => `every ${every} tokens the last ${length}`,
    periodic: { every, length },
  };
}

/** Given spans (e.g. chooseSpans' paper rule in @msrnn/policies): ordered, disjoint, after BOS. */
export function listedSpans(spans: readonly Span[], describe = `${spans.length} listed spans`): SpanRule {
  const starts = new Map<number, number>();
  let end = 1;
  for (const s of spans) {
    if (!Number.isInteger(s.start) || !Number.isInteger(s.length) || s.start < end || s.length < 1 || s.length > MAX_SPAN_LIMIT) {
      throw new RangeError(`sentinel spans must be ordered, disjoint, after BOS and of length 1..${MAX_SPAN_LIMIT}; got start ${s.start}, length ${s.length}`);
    }
    starts.set(s.start, s.length);
    end = s.start + s.length;
  }
  return { spanAt: (i) => starts.get(i) ?? 0, describe: () => describe };
}

export interface SentinelStreamOptions {
  ids: SentinelIds;
  spans: SpanRule;
  /** A capacity bound applied after sentinel eviction, in the same state (window, TOVA, … with k); default keep-all. */
  policy?: Policy;
  /** Only 'absolute' (the paper's): a sentinel's key is rotated at the position of the token before it. */
  positionMode?: PositionMode;
  /** The policy the state runs, given the compression (to count or record around it); it must call compression.afterAttention. */
  wrap?: (compression: SentinelCompression) => Policy;
  /** Called for each element before it is stepped: its token, kind and position. */
  onElement?: (token: number, kind: ElementKind, position: number) => void;
  /** How the state stores keys and values (default f32). */
  kv?: KvType;
  /** Entry slots an unbounded state allocates at first (restoreState passes the saved count). */
  initialSlots?: number;
}

/**
 * One sequence under sentinel compression. Feed it text tokens (BOS first); it steps each one and
 * then the sentinels that follow it (<CR> when a span ends there, <CL> when one starts at the next
 * text index), so the logits it returns always predict the next text token from the element just
 * before it in the stream: the paper's protocol, and what a sampler needs.
 */
export class SentinelStream {
  readonly state: MultiState;
  readonly compression: SentinelCompression;
  /** Text tokens consumed. */
  textSeen = 0;
  /** Spans closed so far. */
  spansClosed = 0;
  private closeAfter = -1;

  constructor(readonly model: Model, private readonly opts: SentinelStreamOptions) {
    const vocab = model.config.vocabSize, { cl, cr } = opts.ids;
    for (const [name, id] of [['<CL>', cl], ['<CR>', cr]] as const) {
      if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RangeError(`sentinel ${name} id ${String(id)} is outside the model's vocabulary (${vocab})`);
    }
    if (cl === cr) throw new RangeError(`sentinel <CL> and <CR> have the same id ${cl}`);
    const mode = opts.positionMode ?? opts.policy?.positionMode ?? 'absolute';
    if (mode !== 'absolute') throw new RangeError(`sentinel compression needs position mode "absolute" (sentinels take the position of the token before them), got "${mode}"`);
    this.compression = new SentinelCompression(model.config.nLayers, opts.policy);
    this.state = createState(model, {
      policy: opts.wrap ? opts.wrap(this.compression) : this.compression, positionMode: 'absolute', kv: opts.kv ?? 'f32',
      ...(opts.initialSlots !== undefined ? { initialSlots: opts.initialSlots } : {}),
    });
  }

  get spanOpen(): boolean {
    return this.closeAfter >= 0;
  }

  get spans(): SpanRule {
    return this.opts.spans;
  }

  /**
   * The state, its compression and this stream's place in the text as bytes: restoreState(model,
   * bytes) returns the stream again (`sentinels`), and feeding it the same tokens continues token
   * for token. Only a periodic span rule can be saved: a listed one was chosen for a text of known length.
   */
  save(meta: Record<string, unknown> = {}): Uint8Array {
    this.state.checkNotDisposed('SentinelStream.save');
    const periodic = this.opts.spans.periodic;
    if (!periodic) {
      throw new StateFileError(`SentinelStream.save: its spans (${this.opts.spans.describe()}) were chosen for a text of known length, so the stream cannot continue past it; a periodic rule (periodicSpans) can be saved`);
    }
    const { cl, cr } = this.opts.ids;
    return encodeState(this.state, modelFingerprint(this.model), meta, {
      cl, cr, every: periodic.every, length: periodic.length, textSeen: this.textSeen, spansClosed: this.spansClosed, closeAfter: this.closeAfter,
    });
  }

  /** Continues from a saved stream's fields (restoreState fills the state's entries). */
  private resume(saved: SavedSentinel): void {
    const { textSeen, spansClosed, closeAfter } = saved.stream;
    const count = (v: unknown, min = 0) => Number.isInteger(v) && (v as number) >= min && (v as number) <= Number.MAX_SAFE_INTEGER;
    if (!count(textSeen) || !count(spansClosed) || !count(closeAfter, -1) || (closeAfter! >= 0 && closeAfter! < textSeen!)) {
      throw new RangeError(`sentinel stream: textSeen ${String(textSeen)}, spansClosed ${String(spansClosed)}, closeAfter ${String(closeAfter)} are not a stream's counters`);
    }
    this.compression.restore(saved);
    this.textSeen = textSeen!;
    this.spansClosed = spansClosed!;
    this.closeAfter = closeAfter!;
  }

  /** The stream a saved state (its header's sentinel field) was driven by, with an empty state to fill; `policy` is the budget composed with it. */
  static resumed(model: Model, saved: SavedSentinel, opts: { policy: Policy; kv: KvType; initialSlots: number }): SentinelStream {
    const { cl, cr, every, length } = saved.stream;
    const stream = new SentinelStream(model, { ids: { cl: cl!, cr: cr! }, spans: periodicSpans(every!, length!), ...opts });
    try {
      stream.resume(saved);
    } catch (err) {
      stream.state.dispose(); // bad counters: the state just made goes back to the heap
      throw err;
    }
    return stream;
  }

  /** Steps text token `token` and the sentinels after it; returns the logits predicting the next text token. */
  text(token: number, logitsOut?: Float32Array): Float32Array {
    const { cl, cr } = this.opts.ids;
    if (token === cl || token === cr) throw new RangeError(`token ${token} is a sentinel (<CL> ${cl}, <CR> ${cr}); the span rule inserts them`);
    const i = this.textSeen;
    this.opts.onElement?.(token, TEXT, this.state.seen);
    let logits = step(this.model, this.state, token, logitsOut);
    this.textSeen++;
    if (i === this.closeAfter) {
      this.compression.close();
      logits = this.sentinel(cr, CLOSE, logitsOut);
      this.closeAfter = -1;
      this.spansClosed++;
    }
    const length = this.opts.spans.spanAt(i + 1);
    if (length > 0) {
      if (this.closeAfter >= 0) throw new RangeError(`sentinel spans: a span starts at text index ${i + 1} while the one before it is open until ${this.closeAfter}`);
      this.compression.open();
      logits = this.sentinel(cl, OPEN, logitsOut);
      this.closeAfter = i + length;
    }
    return logits;
  }

  /** A sentinel at the previous token's position: seen steps back one, and step() advances it again. */
  private sentinel(token: number, kind: ElementKind, logitsOut?: Float32Array): Float32Array {
    this.state.seen -= 1;
    this.opts.onElement?.(token, kind, this.state.seen);
    return step(this.model, this.state, token, logitsOut);
  }
}
