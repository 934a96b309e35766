// CPU profiles of every thread of this process, in-process: node:inspector's Profiler on the main
// thread, and on each worker thread (the wasm backend's kernel workers) through the same session's
// NodeWorker domain, which forwards Profiler messages to the worker's own inspector. A kernel
// worker never returns to its event loop, but V8 handles inspector messages at interrupts (its
// Atomics.wait wakes for them), so it answers between jobs. Chosen over `node --cpu-prof` (one
// file per thread, written as each thread exits): no child process, no files, and the profiles
// cover exactly the measured work.
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { setFlagsFromString } from 'node:v8';

export type CpuProfile = Profiler.Profile;

export interface ThreadProfile {
  /** 'main', or the worker's title as Node gives it ('[worker 1]'). */
  thread: string;
  profile: CpuProfile;
}

/** How long a worker has to answer a Profiler message (it answers within a job's time). */
const WORKER_ANSWER_MS = 10_000;

/** How long the workers a backend starts have to show up. */
const WORKER_ATTACH_MS = 5_000;

/** A worker thread's inspector session, reached through NodeWorker: its title and the Profiler calls awaiting an answer. */
interface WorkerSession { title: string; pending: Map<number, { done: (result: any) => void; fail: (err: Error) => void }> }

/** V8's flag (on by default) that attach() turns off and close() turns on again. */
const JS_WASM_INLINING = 'turbo-inline-js-wasm-calls';

/**
 * Whether this process was started with JS→wasm inlining off (`node --no-turbo-inline-js-wasm-calls`,
 * or in NODE_OPTIONS; V8 takes `_` for `-` and `--noX` too; the last one given wins, the command line's over
 * NODE_OPTIONS'): then close() leaves it off.
 */
export function inliningOffAtStart(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): boolean {
  const given = [...nodeOptions.split(/\s+/), ...execArgv].map((a) => a.replace(/_/g, '-')).filter((a) => /^--(no-?)?turbo-inline-js-wasm-calls$/.test(a));
  return given.at(-1)?.startsWith('--no') ?? false;
}

/**
 * Profiles this thread and the worker threads started after attach() (a backend's, created after
 * it): workers that were running before (Node's module loader thread, other backends') are left alone.
 */
export class AllThreadsProfiler {
  /** Worker sessions that were running at attach(): not profiled. */
  private readonly before = new Set<string>();
  /** Worker sessions whose profiler adoptNewWorkers() enabled: the ones start() and stop() sample. */
  private readonly adopted = new Set<string>();
  private readonly workers = new Map<string, WorkerSession>();
  private nextId = 1;

  private constructor(private readonly session: Session, private readonly intervalUs: number, private readonly restoreInlining: boolean) {
    session.on('NodeWorker.attachedToWorker', ({ params }) => {
      this.workers.set(params.sessionId, { title: params.workerInfo.title, pending: new Map() });
    });
    session.on('NodeWorker.detachedFromWorker', ({ params }) => {
      const w = this.workers.get(params.sessionId);
      this.workers.delete(params.sessionId);
      this.adopted.delete(params.sessionId);
      for (const p of w?.pending.values() ?? []) p.fail(new Error(`profiler: ${w!.title} ended while being profiled`));
    });
    session.on('NodeWorker.receivedMessageFromWorker', ({ params }) => {
      const message = JSON.parse(params.message) as { id?: number; result?: unknown; error?: { message: string } };
      const p = message.id === undefined ? undefined : this.workers.get(params.sessionId)?.pending.get(message.id);
      if (!p) return;
      this.workers.get(params.sessionId)!.pending.delete(message.id!);
      if (message.error) p.fail(new Error(`profiler: ${message.error.message}`));
      else p.done(message.result);
    });
  }

  /**
   * Connects to this process's inspector; samples every `intervalUs` µs. Until close() (the whole
   * process: V8's flags are global) TurboFan does not inline JS→wasm calls into optimized JS: the
   * profiler's stack walk loses a wasm function called from such code and stops at the inlined
   * entry (the SmolLM2 Q8_0 512-token prompt's attention kernels, 9.9 % of it, showed as
   * `js-to-wasm` from runCausalBlock once that was optimized). A call then costs a few ns more.
   * close() turns the inlining on again, unless the process was started with it off.
   */
  static async attach(intervalUs: number): Promise<AllThreadsProfiler> {
    const session = new Session();
    session.connect();
    const profiler = new AllThreadsProfiler(session, intervalUs, !inliningOffAtStart());
    setFlagsFromString(`--no-${JS_WASM_INLINING}`);
    try {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
      // Workers running now are announced as attached while this is handled.
      await session.post('NodeWorker.enable', { waitForDebuggerOnStart: false });
      await pause(20);
    } catch (err) {
      await profiler.close();
      throw err;
    }
    for (const id of profiler.workers.keys()) profiler.before.add(id);
    return profiler;
  }

  /**
   * Waits until at least `count` workers have started since attach() (a thread pool's; a moment more
   * for any they start), and makes their profilers ready. Throws if they do not show up.
   */
  async adoptNewWorkers(count: number): Promise<void> {
    const started = performance.now();
    while (this.newWorkers().length < count) {
      if (performance.now() - started > WORKER_ATTACH_MS) throw new Error(`profiler: ${count} worker threads were expected, ${this.newWorkers().length} started`);
      await pause(10);
    }
    if (count > 0) await pause(50);
    for (const id of this.newWorkers()) {
      await this.toWorker(id, 'Profiler.enable');
      await this.toWorker(id, 'Profiler.setSamplingInterval', { interval: this.intervalUs });
      this.adopted.add(id);
    }
  }

  private newWorkers(): string[] { return [...this.workers.keys()].filter((id) => !this.before.has(id)); }

  /** Starts sampling: the adopted workers first, this thread last (just before the caller's work). */
  async start(): Promise<void> {
    await Promise.all([...this.adopted].map((id) => this.toWorker(id, 'Profiler.start')));
    await this.session.post('Profiler.start');
  }

  /** Stops sampling: this thread first (just after the caller's work), then the adopted workers. */
  async stop(): Promise<ThreadProfile[]> {
    const { profile } = await this.session.post('Profiler.stop');
    const workers = await Promise.all([...this.adopted].map(async (id) => ({ thread: this.workers.get(id)!.title, profile: (await this.toWorker(id, 'Profiler.stop') as { profile: CpuProfile }).profile })));
    return [{ thread: 'main', profile }, ...workers];
  }

  /** Disconnects, and turns JS→wasm inlining on again (code optimized meanwhile keeps its calls as they are). */
  async close(): Promise<void> {
    if (this.restoreInlining) setFlagsFromString(`--${JS_WASM_INLINING}`);
    await this.session.post('NodeWorker.disable').catch(() => {});
    await this.session.post('Profiler.disable').catch(() => {});
    this.session.disconnect();
  }

  private toWorker(sessionId: string, method: string, params: object = {}): Promise<unknown> {
    const w = this.workers.get(sessionId)!;
    const id = this.nextId++;
    return new Promise((done, fail) => {
      const timer = setTimeout(() => {
        w.pending.delete(id);
        fail(new Error(`profiler: ${w.title} did not answer ${method} within ${WORKER_ANSWER_MS / 1000} s`));
      }, WORKER_ANSWER_MS);
      w.pending.set(id, { done: (r) => { clearTimeout(timer); done(r); }, fail: (e) => { clearTimeout(timer); fail(e); } });
      this.session.post('NodeWorker.sendMessageToWorker', { sessionId, message: JSON.stringify({ id, method, params }) }).catch((err: Error) => w.pending.get(id)?.fail(err));
    });
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
