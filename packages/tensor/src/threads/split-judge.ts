// Whether handing jobs to the workers pays, judged by the calling thread from wall time it measures
// itself. Sharing pays on a machine with a free core; when the other core is busy (another process,
// a browser's other tabs) the worker gets a slice of a core now and then, and waiting for it, or
// the time its spinning takes from the others, can make every step slower than one thread.
//
// Probe (A/B in time): a few windows of consecutive jobs, shared (S) and alone (A) in the order
// S A A S, or A S S A right after sharing looked bad (a linear drift in speed cancels out either
// way), each at least WINDOW_JOBS jobs and windowMs long (longer with a coarse clock: ./clock.ts).
// A job's time runs from its decision to the next job's: the job and the serial work after it,
// everything a user waits for. Jobs of a decode step differ (q/k/v, attention, the classifier...),
// and the serial work after each too, so windows that cover different parts of steps are not
// compared as wholes: each job's time per multiply-add goes to its size class (a power of two of
// multiply-adds), shared or alone, and sharing pays if, over the classes seen both ways, the
// probe's jobs would have taken less time shared than alone, by MARGIN. Then:
//  - it pays: share for shareMs, watching each shared job; a loaded worker core shows at once as
//    workers' chunks taken over by the caller (they ran late: ./rescue.ts) or as shared jobs that
//    take longer than the caller's own chunks say one thread would: then probe again at once
//    (two take-overs end sharing on the spot, within a token or two).
//  - it does not: run alone for aloneMs (the workers sleep: no spin, no wake-ups), then probe.
// Each outcome doubles its own period (up to MAX_PERIOD_MS) and halves the other's, so a steady
// machine probes rarely (a probe costs its two windows of the worse mode) and a changed one is
// re-checked soon. Periods are counted in busy time (the time from job to job, pauses left out),
// so a caller that decodes in bursts is not re-probed at every burst. A pause restarts a probe.

import { systemClock, type Clock } from './clock.js';

const WINDOW_JOBS = 32;
/**
 * A window's first jobs are not timed: switching modes costs once (a sleeping worker's wake-up and
 * its spin budget's ramp, ./spin.ts), which a window would otherwise charge to every job.
 */
const SETTLE_JOBS = 8;
/** Shortest window; at least WINDOW_TICKS clock steps, so a coarse clock still measures it to a few %. */
const WINDOW_MS = 10;
const WINDOW_TICKS = 20;
/** Sharing must take at most this share of one thread's time per multiply-add to count as paying. */
const MARGIN = 0.97;
const MIN_SHARE_MS = 500;
const MIN_ALONE_MS = 100;
const MAX_PERIOD_MS = 8_000;
/**
 * While sharing: workers' chunks taken over within one watch window (WINDOW_JOBS shared jobs) that
 * end sharing. A probe that then finds sharing paying after all (a worker late now and then on a
 * free core) doubles the count needed next time, up to MAX_TAKEOVERS; one that confirms it resets it.
 */
const MIN_TAKEOVERS = 2;
const MAX_TAKEOVERS = 32;
/** A gap between two jobs this long, and IDLE_FACTOR times their recent average, is a pause, not work. */
const IDLE_MS = 50;
const IDLE_FACTOR = 8;
/** Weight of the newest gap in that average. */
const GAP_WEIGHT = 1 / 16;

/**
 * A probe's shared window whose jobs already take this many times the alone windows' time per job
 * ends the probe at once (sharing lost): on a badly loaded machine a full window would cost a lot.
 */
const ABORT_FACTOR = 3;

/** Size classes: jobs of [2^c, 2^(c+1)) multiply-adds are class 31 - clz32 = c. */
const CLASSES = 32;

enum Phase { Warmup, Probe, Share, Alone }
/**
 * The probe's windows in order (shared or not): alone first when sharing was just stopped for
 * looking bad, so a loaded core stops costing at once.
 */
const PROBE_SHARED_FIRST: readonly boolean[] = [true, false, false, true];
const PROBE_ALONE_FIRST: readonly boolean[] = [false, true, true, false];

export class SplitJudge {
  #phase = Phase.Warmup;
  /** Jobs left in the warmup: a fresh pool's first jobs pay for cold caches and first wake-ups. */
  #warmupLeft = WINDOW_JOBS;
  readonly #windowMs: number;
  #shareMs = MIN_SHARE_MS;
  #aloneMs = MIN_ALONE_MS;
  /** Busy time so far (ms: gaps between jobs, pauses left out), and the clock at the last job. */
  #busy = 0;
  #lastCall = -1;
  /** Recent gap between jobs (ms, a moving average): what a pause is told from. */
  #gapMs = 0;
  /** Whether the gap before the current job was a pause. */
  #paused = false;
  /** When the current Share or Alone phase ends (busy ms); 0 in Share: sharing was stopped. */
  #phaseEnd = 0;
  // The probe: which window, the current window's start, jobs and multiply-adds, and the sums per mode.
  #window = 0;
  #order = PROBE_SHARED_FIRST;
  #windowStart = 0;
  #windowJobs = 0;
  #lastJob = 0;
  /** The previous probe job's mode (1 shared, 0 alone) and multiply-adds (0: none pending). */
  #lastShared = 0;
  #lastMacs = 0;
  /** Per mode (alone at 0, shared at CLASSES) and size class: the jobs' ms and multiply-adds. */
  readonly #ms = new Float64Array(2 * CLASSES);
  readonly #macs = new Float64Array(2 * CLASSES);
  /** Timed jobs and their ms: the probe's alone windows, and the current window. */
  #aloneJobs = 0;
  #aloneJobsMs = 0;
  #windowTimed = 0;
  #windowTimedMs = 0;
  // Watching a Share phase: this watch window's shared jobs, take-overs, time, and one thread's estimate.
  #watchJobs = 0;
  #watchTaken = 0;
  #takeoverLimit = MIN_TAKEOVERS;
  #watchSplitMs = 0;
  #watchAloneMs = 0;
  readonly #now: Clock;
  /** Probes and their outcome so far (read by tests and measurements). */
  readonly probes = { paid: 0, lost: 0, aborted: 0, restarted: 0, watchEnded: 0 };

  constructor(now: Clock = systemClock, tickMs = 0) {
    this.#now = now;
    this.#windowMs = Math.max(WINDOW_MS, WINDOW_TICKS * tickMs);
  }

  /** Whether the next job, of `macs` multiply-adds, should be shared with the workers. */
  share(macs: number): boolean {
    const t = this.#now();
    this.#tally(t);
    switch (this.#phase) {
      case Phase.Warmup:
        if ((this.#warmupLeft -= 1) <= 0) this.#startProbe(t, PROBE_SHARED_FIRST);
        return true;
      case Phase.Share:
        if (this.#phaseEnd > 0 && this.#busy < this.#phaseEnd) return true;
        this.#startProbe(t, this.#phaseEnd === 0 ? PROBE_ALONE_FIRST : PROBE_SHARED_FIRST);
        return this.#probeJob(t, macs);
      case Phase.Alone:
        if (this.#busy < this.#phaseEnd) return false;
        this.#startProbe(t, PROBE_SHARED_FIRST);
        return this.#probeJob(t, macs);
      default:
        return this.#probeJob(t, macs);
    }
  }

  /** Adds the gap since the last job to the busy time, unless it was a pause. */
  #tally(t: number): void {
    const gap = this.#lastCall < 0 ? 0 : t - this.#lastCall;
    this.#lastCall = t;
    this.#paused = gap > IDLE_MS && gap > IDLE_FACTOR * this.#gapMs;
    if (this.#paused) return;
    this.#busy += gap;
    this.#gapMs += GAP_WEIGHT * (gap - this.#gapMs);
  }

  /**
   * A shared job's timings: `splitMs` in all, of which `callerMs` running the caller's own
   * `callerChunks` of the `chunks`; `takenOver` of the workers' chunks the caller took over.
   */
  record(splitMs: number, callerMs: number, callerChunks: number, chunks: number, takenOver: number): void {
    if (this.#phase !== Phase.Share) return;
    this.#watchTaken += takenOver;
    if (this.#watchTaken >= this.#takeoverLimit) { this.#endWatch(); return; }
    // One thread alone would have needed about callerMs · chunks / callerChunks (an estimate that
    // flatters sharing when the threads compete for memory bandwidth: a miss here is a sure one).
    if (callerChunks > 0) { this.#watchSplitMs += splitMs; this.#watchAloneMs += (callerMs * chunks) / callerChunks; }
    if (++this.#watchJobs < WINDOW_JOBS) return;
    if (this.#watchAloneMs > 0 && this.#watchSplitMs >= this.#watchAloneMs) { this.#endWatch(); return; }
    this.#resetWatch();
  }

  /** Starts a new watch window of the Share phase. */
  #resetWatch(): void {
    this.#watchJobs = 0; this.#watchTaken = 0; this.#watchSplitMs = 0; this.#watchAloneMs = 0;
  }

  /** Sharing looks bad: the next job starts a probe, alone first. */
  #endWatch(): void {
    this.probes.watchEnded++;
    this.#phaseEnd = 0;
    this.#resetWatch();
  }

  #startProbe(t: number, order: readonly boolean[] = this.#order): void {
    this.#phase = Phase.Probe; this.#order = order;
    this.#window = 0; this.#windowStart = t; this.#lastJob = t; this.#windowJobs = 0; this.#lastMacs = 0;
    this.#ms.fill(0); this.#macs.fill(0);
    this.#aloneJobs = 0; this.#aloneJobsMs = 0; this.#windowTimed = 0; this.#windowTimedMs = 0;
  }

  /** A job during a probe: closes the current window when it is long enough, says the mode of the job. */
  #probeJob(t: number, macs: number): boolean {
    // A pause (the caller idle between jobs) is not the jobs' time: measure again from here.
    if (this.#paused && this.#windowJobs > 0) { this.probes.restarted++; this.#startProbe(t); }
    if (this.#lastMacs > 0 && this.#windowJobs > SETTLE_JOBS) {
      const at = this.#lastShared * CLASSES + 31 - Math.clz32(this.#lastMacs);
      const ms = t - this.#lastJob;
      this.#ms[at] = this.#ms[at]! + ms; this.#macs[at] = this.#macs[at]! + this.#lastMacs;
      this.#windowTimed++; this.#windowTimedMs += ms;
      if (this.#lastShared === 0) { this.#aloneJobs++; this.#aloneJobsMs += ms; }
      else if (this.#aloneJobs >= SETTLE_JOBS && this.#windowTimed >= SETTLE_JOBS && this.#windowTimedMs * this.#aloneJobs > ABORT_FACTOR * this.#aloneJobsMs * this.#windowTimed) {
        this.probes.aborted++;
        return this.#decide(false);
      }
    }
    this.#lastJob = t;
    if (this.#windowJobs >= WINDOW_JOBS && t - this.#windowStart >= this.#windowMs) {
      this.#windowStart = t; this.#windowJobs = 0; this.#windowTimed = 0; this.#windowTimedMs = 0;
      if (++this.#window === this.#order.length) return this.#decide(this.#verdict());
    }
    this.#windowJobs++;
    const shared = this.#order[this.#window]!;
    this.#lastShared = shared ? 1 : 0; this.#lastMacs = macs;
    return shared;
  }

  /** Whether the probe's jobs, of the classes seen both ways and timed at each way's rate per multiply-add, took less time shared. */
  #verdict(): boolean {
    let shared = 0, alone = 0;
    for (let c = 0; c < CLASSES; c++) {
      const a = this.#macs[c]!, b = this.#macs[CLASSES + c]!;
      if (a === 0 || b === 0) continue;
      shared += (a + b) * (this.#ms[CLASSES + c]! / b); alone += (a + b) * (this.#ms[c]! / a);
    }
    return shared < MARGIN * alone;
  }

  /** Starts the Share or Alone phase a probe called for; says whether the next job is shared. */
  #decide(pays: boolean): boolean {
    if (this.#order === PROBE_ALONE_FIRST) this.#takeoverLimit = pays ? Math.min(MAX_TAKEOVERS, 2 * this.#takeoverLimit) : MIN_TAKEOVERS;
    if (pays) {
      this.probes.paid++;
      this.#phase = Phase.Share; this.#phaseEnd = this.#busy + this.#shareMs;
      this.#shareMs = Math.min(MAX_PERIOD_MS, 2 * this.#shareMs); this.#aloneMs = Math.max(MIN_ALONE_MS, this.#aloneMs / 2);
      this.#resetWatch();
    } else {
      this.probes.lost++;
      this.#phase = Phase.Alone; this.#phaseEnd = this.#busy + this.#aloneMs;
      this.#aloneMs = Math.min(MAX_PERIOD_MS, 2 * this.#aloneMs); this.#shareMs = Math.max(MIN_SHARE_MS, this.#shareMs / 2);
    }
    return pays;
  }
}
