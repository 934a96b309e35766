// How long an idle kernel worker spins on the job counter before it sleeps in Atomics.wait,
// learned from what happens. Spinning pays when the worker has a core to itself: the next job of
// a decode step comes microseconds later and waking a sleeper costs more than the job. It costs
// when the core is shared: every spin iteration is time a competing thread (another process, or
// our own caller) does not get. The worker cannot ask the OS whether its core is free, but it can
// see the two things that follow from it:
//  - preempted: while spinning, the clock jumped far past one spin iteration, so the OS gave the
//    core to someone else (a busy machine): spin a quarter as long next time;
//  - slept too early: a job came soon after the worker went to sleep, and its spin was not
//    preempted: spinning a little longer would have caught it, so double the budget (up to the
//    gap seen twice over, at most SPIN_MAX_MS).
// Jobs that arrive while spinning change nothing. So a worker on a free core settles on spinning
// through a decode step's gaps, and one on a loaded core sleeps almost at once and is woken per job.

/** Shortest spin: covers the gap between two back-to-back jobs of a decode step. */
export const SPIN_MIN_MS = 0.02;
/** Longest spin (the old fixed spin was ~30 ms). */
export const SPIN_MAX_MS = 20;
/** Where a fresh worker starts. */
export const SPIN_START_MS = 1;
/** A gap this long between two clock reads of a spin loop (nominally < 1 us) means the OS ran someone else. */
export const PREEMPTED_MS = 0.25;

/**
 * The preemption gap for a clock stepping `tickMs` (./clock.ts): two steps at least, since with a
 * 1 ms clock any two reads can differ by a step without a pause between them.
 */
export function preemptionGapMs(tickMs: number): number { return Math.max(PREEMPTED_MS, 2 * tickMs); }

export class SpinBudget {
  /** Current spin before sleeping, in ms. */
  ms = SPIN_START_MS;

  /** The spin was interrupted by the OS: the core is shared, spinning steals from someone. */
  preempted(): void { this.ms = Math.max(SPIN_MIN_MS, this.ms / 4); }

  /** A job arrived `gapMs` after the worker went idle, while it slept (its spin ran out unpreempted). */
  sleptThrough(gapMs: number): void {
    if (gapMs < SPIN_MAX_MS) this.ms = Math.min(SPIN_MAX_MS, Math.max(2 * this.ms, 2 * gapMs));
  }
}
