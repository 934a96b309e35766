// A model's lifetime: it owns the arrays it took from its backend (weights, working buffers) and
// gives them back on dispose(). A disposed model refuses every use with a DisposedError: in wasm
// memory its arrays may already belong to the next model loaded, so running it would compute
// with someone else's numbers.
import { DisposedError } from '@msrnn/msrnn';
import type { Allocations, Backend } from '@msrnn/tensor';
import type { ModelConfig } from './config.js';
import type { GgufMetadata } from './gguf/metadata.js';
import type { Positions } from './positions.js';
import type { Scratch } from './scratch.js';
import type { Weights } from './weights.js';

export interface ModelParts {
  config: ModelConfig;
  weights: Weights;
  backend: Backend;
  source: string;
  format: string;
  metadata: GgufMetadata | null;
  allocations: Allocations;
  scratch: Scratch;
  positions: Positions;
}

export class LoadedModel {
  readonly config: ModelConfig;
  readonly weights: Weights;
  readonly backend: Backend;
  readonly source: string;
  readonly format: string;
  readonly metadata: GgufMetadata | null;
  readonly allocations: Allocations;
  readonly scratch: Scratch;
  readonly positions: Positions;
  /** Why the model can no longer run, once it cannot. */
  private ended: string | null = null;

  constructor(parts: ModelParts) {
    this.config = parts.config;
    this.weights = parts.weights;
    this.backend = parts.backend;
    this.source = parts.source;
    this.format = parts.format;
    this.metadata = parts.metadata;
    this.allocations = parts.allocations;
    this.scratch = parts.scratch;
    this.positions = parts.positions;
  }

  get disposed(): boolean {
    return this.ended !== null;
  }

  dispose(): void {
    if (this.ended !== null) return;
    this.ended = 'was disposed (its memory was given back)';
    this.allocations.releaseAll();
  }

  /** Ends this model without freeing: another model (quantizeModel's) took its memory over. */
  handOver(why: string): void {
    this.ended = why;
  }

  /** Throws a DisposedError naming `what` (the call) unless the model can run. */
  checkNotDisposed(what: string): void {
    if (this.ended !== null) throw new DisposedError(`${what}: model ${this.source} ${this.ended}; load it again`);
  }
}
