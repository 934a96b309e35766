// What crosses to a worker thread: plain data only (paths, token chunks, run specs).
import type { PositionMode, SentinelIds } from '@msrnn/transformer';
import type { SentinelSpec } from '../sentinel/spec.js';
import type { BackendChoice, KvType } from '@msrnn/tensor';
import type { ChunkScore } from './evaluate.js';
import type { RunSpec } from './runs.js';

export interface SweepInput {
  modelPath: string;
  chunks: Int32Array[];
  runs: RunSpec[];
  positionMode: PositionMode;
  /** How every run's state stores keys and values (default f32). */
  kv?: KvType;
  /** Kernels each model copy runs on (one backend per worker; --threads counts workers). */
  backend?: BackendChoice;
  /** Sentinel compression in every run (--sentinel): the model's <CL>/<CR> and the span rule. */
  sentinel?: { ids: SentinelIds; spec: SentinelSpec };
}

/** Job j is run floor(j / chunks) on chunk j % chunks. */
export interface JobResult {
  job: number;
  score: ChunkScore;
}

export type WorkerReply = { kind: 'ready' } | { kind: 'done'; result: JobResult } | { kind: 'error'; job: number; message: string };
