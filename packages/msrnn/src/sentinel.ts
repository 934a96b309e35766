// The eviction half of Ren et al.'s sentinel compression (2023): `… a b <CL> s1 … sn <CR> c …`. A
// model fine-tuned with their attention mask lets no later token see a span or its <CL> once <CR>
// has attended them, so after <CR> they leave the state: <CR>'s key/value is the compressed span.
// The driver that inserts the sentinels is in @msrnn/transformer (sentinel.ts).
//
// Composition with a capacity bound: this policy runs first (a closed span leaves), then the inner
// policy's budget (window, TOVA, … with k), in the same state. Entries are found by their index in
// the token stream, kept as one extra statistic after the inner policy's own (positions repeat: a
// sentinel shares the position of the token before it; stream indices do not). The inner policy's
// evictions may move any entry, so slots alone could not say which entries a span holds.
import type { LayerCache } from './cache.js';
import { keepAll, type AttentionStep, type Policy, type PositionMode } from './policy.js';

/** A compressed span over text indices [start, start + length). */
export interface Span { start: number; length: number }

/** What a SentinelCompression holds besides its entries' statistics: a saved state carries it (format 3). */
export interface SentinelCompressionSnapshot {
  /** Per layer: the stream index of the entry the layer appends next. */
  appended: number[];
  /** Stream index of the open span's <CL>, and of its <CR> once close() was called; -1: none. */
  openIndex: number;
  closeIndex: number;
}

/**
 * Sentinel compression composed with `inner` (default keep-all). It belongs to one sequence: it
 * counts the entries each layer has appended (the stream index of the next one) and holds the open
 * span, so make one per state (SentinelStream in @msrnn/transformer does).
 */
export class SentinelCompression implements Policy {
  readonly name: string;
  readonly statsPerEntry: number;
  /** Where this policy's statistic (the entry's stream index) sits after the inner policy's. */
  private readonly own: number;
  /** Per layer: stream index of the entry the layer appends next. */
  private readonly appended: Int32Array;
  private openIndex = -1;
  private closeIndex = -1;

  constructor(nLayers: number, readonly inner: Policy = keepAll) {
    if (!Number.isInteger(nLayers) || nLayers <= 0) throw new RangeError(`sentinel compression: layer count must be a positive integer, got ${String(nLayers)}`);
    if (inner instanceof SentinelCompression) throw new RangeError('sentinel compression: the inner policy is already sentinel compression');
    this.name = inner === keepAll ? 'sentinel' : `sentinel+${inner.name}`;
    this.own = inner.statsPerEntry ?? 0;
    this.statsPerEntry = this.own + 1;
    this.appended = new Int32Array(nLayers);
  }

  get capacity(): number { return this.inner.capacity; }
  get positionMode(): PositionMode | undefined { return this.inner.positionMode; }
  /** The inner policy's budget (a capacity, a ratio of the tokens seen), for reports. */
  get budget(): unknown { return (this.inner as { budget?: unknown }).budget; }

  layerCapacity(layer: number, nLayers: number): number {
    return this.inner.layerCapacity ? this.inner.layerCapacity(layer, nLayers) : this.inner.capacity;
  }

  /** Stream index of the next element (text or sentinel) the state takes. */
  get streamLength(): number { return this.appended[0]!; }

  /** The next element is <CL>: a span opens. */
  open(): void {
    if (this.openIndex >= 0) throw new Error('sentinel compression: a span is already open');
    this.openIndex = this.streamLength;
  }

  /** The next element is <CR>: after it attends, the span since <CL> (and <CL>) leave every layer. */
  close(): void {
    if (this.openIndex < 0) throw new Error('sentinel compression: no open span to close');
    this.closeIndex = this.streamLength;
  }

  get spanOpen(): boolean { return this.openIndex >= 0 && this.closeIndex < 0; }

  /** The counters a saved state needs to continue (see restore). */
  snapshot(): SentinelCompressionSnapshot {
    return { appended: Array.from(this.appended), openIndex: this.openIndex, closeIndex: this.closeIndex };
  }

  /** Continues from a snapshot (of a state whose entries are restored with it); a RangeError names a field that cannot be one. */
  restore(saved: SentinelCompressionSnapshot): void {
    const { appended, openIndex, closeIndex } = saved;
    const nLayers = this.appended.length, index = (v: unknown) => Number.isInteger(v) && (v as number) >= -1 && (v as number) <= 2 ** 31 - 1;
    if (!Array.isArray(appended) || appended.length !== nLayers || !appended.every((a) => index(a) && a >= 0)) {
      throw new RangeError(`sentinel compression: appended must list ${nLayers} stream indices (non-negative integers), got ${JSON.stringify(appended)}`);
    }
    if (!index(openIndex) || !index(closeIndex)) throw new RangeError(`sentinel compression: openIndex and closeIndex must be stream indices or -1, got ${String(openIndex)}, ${String(closeIndex)}`);
    if ((openIndex < 0 && closeIndex >= 0) || (closeIndex >= 0 && closeIndex < openIndex)) throw new RangeError(`sentinel compression: a span cannot close (${closeIndex}) before it opens (${openIndex})`);
    this.appended.set(appended);
    this.openIndex = openIndex;
    this.closeIndex = closeIndex;
  }

  /** Stream index of the element layer `layer` takes now: its newest entry's, until this policy's afterAttention tags it. */
  nextIndex(layer: number): number { return this.appended[layer]!; }

  /** Stream index of the entry at `slot` of a head of this state (the newest entry once this layer's step ran). */
  streamIndexOf(head: LayerCache['heads'][number], slot: number): number {
    return head.stats[slot * this.statsPerEntry + this.own]!;
  }

  afterAttention(layer: LayerCache, step: AttentionStep): void {
    const index = this.appended[layer.index]!++;
    const stride = this.statsPerEntry, own = this.own;
    for (const head of layer.heads) head.stats[(head.count - 1) * stride + own] = index;
    if (index === this.closeIndex) {
      const from = this.openIndex;
      // Highest slot first: each swap-remove moves an entry already looked at (kept) into the hole.
      for (const head of layer.heads) {
        for (let s = head.count - 1; s >= 0; s--) {
          const e = head.stats[s * stride + own]!;
          if (e >= from && e < index) head.evict(s);
        }
      }
      if (layer.index === this.appended.length - 1) this.openIndex = this.closeIndex = -1;
    }
    this.inner.afterAttention(layer, step);
  }

  describe(): string {
    const inner = this.inner === keepAll ? '' : `, then ${this.inner.name}${this.inner.describe?.() ? ` (${this.inner.describe()})` : ''}`;
    return `sentinel compression (spans evicted after their <CR>)${inner}`;
  }
}
