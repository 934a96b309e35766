// Whether handing jobs to the workers pays, judged by the calling thread from its own timings.
// On a busy machine the worker competes for a core with other processes (and with the caller):
// waking it per job, and the caller's own slices lost to it, then make every step slower than one
// thread would. So the caller times each shared job: it took `splitMs` in all, of which `callerMs`
// running its own `callerChunks` of the `chunks`; one thread alone would have needed about
// callerMs · chunks / callerChunks. Over a window of WINDOW shared jobs, if the jobs did not come
// out at least a little faster than that, the caller runs the next jobs alone (workers idle, so
// they sleep and take no time from anyone), then shares a window again to re-check.
//
// A re-check that does not pay costs what its window lost, so the judge makes the time alone after
// it proportional to that loss: RECHECK_SHARE⁻¹ times the lost time (in jobs of the window's
// average length, up to MAX_ALONE), so re-checking costs about RECHECK_SHARE of the time unless a
// window loses more than that cap buys. The backoff also doubles while sharing keeps not paying,
// and a paying window halves it rather than forgetting it (one lucky window on a loaded machine
// must not bring back frequent re-checks).

const WINDOW = 32;
/** Sharing must beat one thread by this factor to count as paying (the estimate is rough). */
const MARGIN = 0.97;
const MIN_BACKOFF = 256;
const MAX_BACKOFF = 16_384;
/** What a losing re-check window may cost, as a share of the time alone that follows it. */
const RECHECK_SHARE = 0.01;
/**
 * Longest time alone (in jobs) a single window's loss can buy: no longer than the longest backoff,
 * so a machine that went quiet after a loaded spell shares again as soon as before.
 */
const MAX_ALONE = MAX_BACKOFF;

export class SplitJudge {
  /**
   * The first window is shared but not judged: a fresh pool's first jobs pay for cold caches, the
   * workers' first wake-ups and code not yet optimized, and must not buy a long time alone.
   */
  private warmup = WINDOW;
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
    if (this.warmup > 0) { this.warmup--; return; }
    this.splitMs += splitMs;
    this.aloneMs += (callerMs * chunks) / callerChunks;
    if (++this.jobs < WINDOW) return;
    if (this.splitMs < MARGIN * this.aloneMs) this.backoff = Math.max(MIN_BACKOFF, this.backoff / 2);
    else {
      // The window's loss in jobs of its average length (alone), paid back RECHECK_SHARE⁻¹ times over.
      const lostJobs = this.aloneMs > 0 ? ((this.splitMs - this.aloneMs) / this.aloneMs) * WINDOW : 0;
      this.serialLeft = Math.min(MAX_ALONE, Math.max(this.backoff, Math.ceil(lostJobs / RECHECK_SHARE)));
      this.backoff = Math.min(MAX_BACKOFF, 2 * this.backoff);
    }
    this.jobs = 0; this.splitMs = 0; this.aloneMs = 0;
  }
}
