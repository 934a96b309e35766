// Whether handing jobs to the workers pays, judged by the calling thread from its own timings.
// On a busy machine a worker may be descheduled while it holds a chunk, and the caller then waits
// for it far longer than the chunk would have taken it to run itself; sharing jobs then makes
// every step slower than one thread would. So the caller times each shared job: it took `splitMs`
// in all, of which `callerMs` running its own `callerChunks` of the `chunks`; one thread alone
// would have needed about callerMs · chunks / callerChunks. Over a window of WINDOW shared jobs,
// if the jobs did not come out at least a little faster than that, the caller runs the next
// `backoff` jobs alone (workers idle, so they sleep and take no time from anyone), then shares
// a window again to re-check. The backoff doubles while sharing keeps not paying.

const WINDOW = 32;
/** Sharing must beat one thread by this factor to count as paying (the estimate is rough). */
const MARGIN = 0.97;
const MIN_BACKOFF = 256;
const MAX_BACKOFF = 16_384;

export class SplitJudge {
  private serialLeft = 0;
  private backoff = MIN_BACKOFF;
  private jobs = 0;
  private splitMs = 0;
  private aloneMs = 0;

  /** Whether the next job should be shared with the workers. */
  share(): boolean {
    if (this.serialLeft === 0) return true;
    this.serialLeft--;
    return false;
  }

  /** Timings of a shared job (see the file comment). */
  record(splitMs: number, callerMs: number, callerChunks: number, chunks: number): void {
    if (callerChunks === 0) return; // the workers ran it all: no estimate of the caller alone
    this.splitMs += splitMs;
    this.aloneMs += (callerMs * chunks) / callerChunks;
    if (++this.jobs < WINDOW) return;
    if (this.splitMs < MARGIN * this.aloneMs) this.backoff = MIN_BACKOFF;
    else { this.serialLeft = this.backoff; this.backoff = Math.min(MAX_BACKOFF, 2 * this.backoff); }
    this.jobs = 0; this.splitMs = 0; this.aloneMs = 0;
  }
}
