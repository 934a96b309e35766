// Whether handing jobs to the workers pays, judged by the calling thread from wall time it measures
// itself. Sharing pays on a machine with a free core; when the other core is busy (another process,
// a browser's other tabs) the worker gets a slice of a core now and then, and waiting for it, or
// the time its spinning takes from the others, can make every step slower than one thread.
//
// Probe (A/B in time): a few windows of consecutive jobs, shared (S) and alone (A) in the order
// S A A S, or A S S A right after sharing looked bad (a linear drift in speed cancels out either
// way), each at least WINDOW_JOBS jobs and windowMs long (longer with a coarse clock: ./clock.ts).
// A window's time runs from its first job's decision to the next window's first: the jobs and the
// serial work between them, everything a user waits for. Sharing pays if the S windows took less
// time per multiply-add than the A windows, by MARGIN. Then:
//  - it pays: share for shareMs, watching each shared job; a loaded worker core shows at once as
//    workers' chunks taken over by the caller (they ran late: ./rescue.ts) or as shared jobs that
//    take longer than the caller's own chunks say one thread would: then probe again at once
//    (two take-overs end sharing on the spot, within a token or two).
//  - it does not: run alone for aloneMs (the workers sleep: no spin, no wake-ups), then probe.
// Each outcome doubles its own period (up to MAX_PERIOD_MS) and halves the other's, so a steady
// machine probes rarely (a probe costs its two windows of the worse mode) and a changed one is
// re-checked soon. A window with a pause in it (the caller idle between jobs) restarts the probe.

import { systemClock, type Clock } from './clock.js';

const WINDOW_JOBS = 32;
/** Shortest window; at least WINDOW_TICKS clock steps, so a coarse clock still measures it to a few %. */
const WINDOW_MS = 10;
const WINDOW_TICKS = 20;
/** Sharing must take at most this share of one thread's time per multiply-add to count as paying. */
const MARGIN = 0.97;
const MIN_SHARE_MS = 500;
const MIN_ALONE_MS = 100;
const MAX_PERIOD_MS = 8_000;
/** While sharing: workers' chunks taken over within one watch window (WINDOW_JOBS shared jobs) that end sharing. */
const TAKEOVERS_TO_RECHECK = 2;
/** A gap between two jobs this long, and IDLE_FACTOR times the window's average, is a pause, not work. */
const IDLE_MS = 50;
const IDLE_FACTOR = 8;

enum Phase { Warmup, Probe, Share, Alone }
/**
 * The probe's windows in order (shared or not): alone first when sharing was just stopped for
 * looking bad, so a loaded core stops costing at once.
 */
const PROBE_SHARED_FIRST: readonly boolean[] = [true, false, false, true];
const PROBE_ALONE_FIRST: readonly boolean[] = [false, true, true, false];

export class SplitJudge {
  private phase = Phase.Warmup;
  /** Jobs left in the warmup: a fresh pool's first jobs pay for cold caches and first wake-ups. */
  private warmupLeft = WINDOW_JOBS;
  private readonly windowMs: number;
  private shareMs = MIN_SHARE_MS;
  private aloneMs = MIN_ALONE_MS;
  /** When the current Share or Alone phase ends (clock ms). */
  private phaseEnd = 0;
  // The probe: which window, the current window's start, jobs and multiply-adds, and the sums per mode.
  private window = 0;
  private order = PROBE_SHARED_FIRST;
  private windowStart = 0;
  private windowJobs = 0;
  private windowMacs = 0;
  private lastJob = 0;
  private readonly ms = [0, 0];
  private readonly macs = [0, 0];
  // Watching a Share phase: this watch window's shared jobs, take-overs, time, and one thread's estimate.
  private watchJobs = 0;
  private watchTaken = 0;
  private watchSplitMs = 0;
  private watchAloneMs = 0;
  /** Probes and their outcome so far (read by tests and measurements). */
  readonly probes = { paid: 0, lost: 0, restarted: 0, watchEnded: 0 };

  constructor(private readonly now: Clock = systemClock, tickMs = 0) {
    this.windowMs = Math.max(WINDOW_MS, WINDOW_TICKS * tickMs);
  }

  /** Whether the next job, of `macs` multiply-adds, should be shared with the workers. */
  share(macs: number): boolean {
    switch (this.phase) {
      case Phase.Warmup:
        if (--this.warmupLeft <= 0) this.startProbe(this.now(), PROBE_SHARED_FIRST);
        return true;
      case Phase.Share:
        if (this.phaseEnd > 0 && this.now() < this.phaseEnd) return true;
        this.startProbe(this.now(), this.phaseEnd === 0 ? PROBE_ALONE_FIRST : PROBE_SHARED_FIRST);
        return this.probeJob(macs);
      case Phase.Alone:
        if (this.now() < this.phaseEnd) return false;
        this.startProbe(this.now(), PROBE_SHARED_FIRST);
        return this.probeJob(macs);
      default:
        return this.probeJob(macs);
    }
  }

  /**
   * A shared job's timings: `splitMs` in all, of which `callerMs` running the caller's own
   * `callerChunks` of the `chunks`; `takenOver` of the workers' chunks the caller took over.
   */
  record(splitMs: number, callerMs: number, callerChunks: number, chunks: number, takenOver: number): void {
    if (this.phase !== Phase.Share) return;
    this.watchTaken += takenOver;
    if (this.watchTaken >= TAKEOVERS_TO_RECHECK) { this.endWatch(); return; }
    // One thread alone would have needed about callerMs · chunks / callerChunks (an estimate that
    // flatters sharing when the threads compete for memory bandwidth: a miss here is a sure one).
    if (callerChunks > 0) { this.watchSplitMs += splitMs; this.watchAloneMs += (callerMs * chunks) / callerChunks; }
    if (++this.watchJobs < WINDOW_JOBS) return;
    if (this.watchAloneMs > 0 && this.watchSplitMs >= this.watchAloneMs) { this.endWatch(); return; }
    this.watchJobs = 0; this.watchTaken = 0; this.watchSplitMs = 0; this.watchAloneMs = 0;
  }

  /** Sharing looks bad: the next job starts a probe, alone first. */
  private endWatch(): void {
    this.probes.watchEnded++;
    this.phaseEnd = 0;
    this.watchJobs = 0; this.watchTaken = 0; this.watchSplitMs = 0; this.watchAloneMs = 0;
  }

  private startProbe(t: number, order: readonly boolean[] = this.order): void {
    this.phase = Phase.Probe; this.order = order;
    this.window = 0; this.windowStart = t; this.lastJob = t; this.windowJobs = 0; this.windowMacs = 0;
    this.ms[0] = this.ms[1] = this.macs[0] = this.macs[1] = 0;
  }

  /** A job during a probe: closes the current window when it is long enough, says the mode of the job. */
  private probeJob(macs: number): boolean {
    const t = this.now();
    // A pause (the caller idle between jobs) is not the jobs' time: measure again from here.
    if (this.windowJobs > 0 && t - this.lastJob > IDLE_MS && t - this.lastJob > (IDLE_FACTOR * (this.lastJob - this.windowStart)) / this.windowJobs) {
      this.probes.restarted++;
      this.startProbe(t);
    }
    this.lastJob = t;
    if (this.windowJobs >= WINDOW_JOBS && t - this.windowStart >= this.windowMs) {
      const shared = this.order[this.window]! ? 1 : 0;
      this.ms[shared]! += t - this.windowStart; this.macs[shared]! += this.windowMacs;
      this.windowStart = t; this.windowJobs = 0; this.windowMacs = 0;
      if (++this.window === this.order.length) return this.decide(t);
    }
    this.windowJobs++; this.windowMacs += macs;
    return this.order[this.window]!;
  }

  /** The probe's verdict: starts the Share or Alone phase it calls for; says whether the next job is shared. */
  private decide(t: number): boolean {
    const pays = this.ms[1]! * this.macs[0]! < MARGIN * this.ms[0]! * this.macs[1]!; // ms/mac shared < MARGIN · ms/mac alone
    if (pays) {
      this.probes.paid++;
      this.phase = Phase.Share; this.phaseEnd = t + this.shareMs;
      this.shareMs = Math.min(MAX_PERIOD_MS, 2 * this.shareMs); this.aloneMs = Math.max(MIN_ALONE_MS, this.aloneMs / 2);
      this.watchJobs = 0; this.watchTaken = 0; this.watchSplitMs = 0; this.watchAloneMs = 0;
    } else {
      this.probes.lost++;
      this.phase = Phase.Alone; this.phaseEnd = t + this.aloneMs;
      this.aloneMs = Math.min(MAX_PERIOD_MS, 2 * this.aloneMs); this.shareMs = Math.max(MIN_SHARE_MS, this.shareMs / 2);
    }
    return pays;
  }
}
