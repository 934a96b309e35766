// Messages between the page (main.ts) and its generation worker (gen-worker.ts).
import type { CompareResult } from './compare.js';
import type { HeadView } from './observer.js';

export interface GenSettings {
  prompt: string;
  steps: number;
  temperature: number;
  topP: number;
  seed: number;
  policy: string;
  /** Entries per layer (per KV head); Infinity = unbounded. Ignored when ratio is set. */
  capacity: number;
  /** Budget as a fraction of the tokens seen (ratio policies); 0 = off. */
  ratio: number;
}

export type ToWorker =
  /** files: picked or dropped (null: the default model); source: the folder's name when a folder was picked or dropped. */
  | { type: 'load'; files: File[] | null; source?: string; backend: 'auto' | 'wasm' | 'js'; threads: number }
  | { type: 'generate'; settings: GenSettings }
  | { type: 'continue'; steps: number }
  | { type: 'stop' }
  /** The page has drawn the last update it got (the worker sends the next one only then). */
  | { type: 'drawn' }
  | { type: 'teach-start'; settings: GenSettings }
  | { type: 'teach-step' }
  | { type: 'compare'; settings: GenSettings; policyB: string; reference: string };

export interface ModelInfo {
  source: string; format: string; layers: number; kvHeads: number; heads: number; headDim: number; vocab: number; seqLen: number;
  backend: string; threads: number; note: string | null; crossOriginIsolated: boolean;
}

export interface Snapshot {
  seen: number;
  capacity: number;
  headWise: boolean;
  /** Per layer, per KV head (only head 0 while headWise is false): kept positions (sorted) and the newest query's attention to each. */
  layers: HeadView[][];
  /** Per layer: positions evicted since the previous snapshot. */
  evicted: number[][];
}

export interface TeachLayer {
  before: number[];
  /** Positions the new query attended to (state_{t-1} and the new entry), sorted, and its weights. */
  attended: number[];
  attention: number[];
  newEntry: number;
  evicted: number[];
  after: number[];
}

export type FromWorker =
  | { type: 'progress'; phase: string; loaded: number; total: number }
  | { type: 'ready'; info: ModelInfo }
  | { type: 'tokens'; start: number; tokens: number[]; pieces: string[]; text: string; tokPerS: number; stateBytes: number; unboundedBytes: number; snapshot: Snapshot; prompt: boolean }
  | { type: 'done'; reason: string; generated: number; /** FNV-1a of the last logits' bits: equal means bit-identical. */ logitsHash: string }
  | { type: 'teach'; position: number; token: number; piece: string; text: string; layers: TeachLayer[]; snapshot: Snapshot; stateBytes: number; unboundedBytes: number }
  | ({ type: 'compare' } & CompareResult)
  | { type: 'error'; message: string };
