// One model file measured in a process of its own (so resident memory is this model's alone):
// load time, resident memory after load and after the prompt, prompt tok/s (one prefill of the
// prompt per thread count) and decode tok/s per thread count, in interleaved rounds.
import { fork } from 'node:child_process';
import { statSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createWasmBackend, type WasmBackend } from '@msrnn/tensor';
import type { KvType, PromptActivations } from '@msrnn/tensor';
import type { MultiState } from '@msrnn/msrnn';
import { createState, loadModel, prefill, step, type Model } from '@msrnn/transformer';

export interface FileMeasureOptions {
  file: string;
  threads: number[];
  seconds: number;
  promptTokens: number;
  rounds: number;
  /** How the states store keys and values (default f32). */
  kv?: KvType;
  /** The prompt's activations (prefill's option; default exact). */
  activations?: PromptActivations;
}

export interface FileMeasurement {
  fileBytes: number;
  format: string;
  loadSeconds: number;
  /** Resident set before the load (runtime + backend), after it, and after the prompt (bytes); the peak until then. */
  rssBefore: number; rssLoaded: number; rssAfterPrompt: number; rssPeak: number;
  /** The peak resident set once the model was loaded, before the prompt ran (bytes). */
  rssPeakLoaded: number;
  /** Bytes the state holds after the prompt (keys, values and positions of every layer, as allocated). */
  stateBytes: number;
  /** By thread count: prompt tok/s (wall and CPU time of this process) and decode tok/s (best round). */
  prompt: Record<number, { wall: number; cpu: number }>;
  decode: Record<number, { wall: number; cpu: number }>;
}

/** The fixed pseudo-random tokens that drive a measurement (ids within the first 1000). */
export function benchTokens(model: Model, n: number, seed = 0): number[] {
  const top = Math.min(1000, model.config.vocabSize - 2);
  return Array.from({ length: n }, (_, i) => ((i + seed) * 37) % top + 2);
}

/** The machine a --json result was measured on (bench and profile write the same object). */
export function machineInfo(loadAverage: number[]): { cores: number; cpu: string; node: string; loadAverage: number[]; date: string } {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version, loadAverage, date: new Date().toISOString() };
}

/** The next token of a fixed pseudo-random sequence, within the model's vocabulary (decode measurements feed it back). */
function nextBenchToken(model: Model, token: number): number {
  return (token * 7 + 13) % Math.min(1000, model.config.vocabSize - 2) + 2;
}

/** Decodes `steps` tokens of that sequence from `token` on `state`; returns the token to go on from. */
export function benchDecode(model: Model, state: MultiState, steps: number, token: number): number {
  for (let i = 0; i < steps; i++) { step(model, state, token); token = nextBenchToken(model, token); }
  return token;
}

/** Resident bytes after a full collection; V8 returns freed array buffers shortly after it, so wait a little. */
async function rss(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  await new Promise((done) => setTimeout(done, 200));
  gc?.();
  return process.memoryUsage().rss;
}

/** Seconds of wall and CPU (user + system of this process, every thread) that `fn` took. */
function timed(fn: () => void): { wall: number; cpu: number } {
  const c0 = process.cpuUsage(), t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { wall: (performance.now() - t0) / 1000, cpu: (c.user + c.system) / 1e6 };
}

export async function measureFile(o: FileMeasureOptions): Promise<FileMeasurement> {
  const backends: WasmBackend[] = [];
  try {
    const first = await createWasmBackend({ threads: o.threads[0]! });
    backends.push(first);
    const rssBefore = await rss();
    const t0 = performance.now();
    const model = await loadModel(o.file, { backend: first });
    const loadSeconds = (performance.now() - t0) / 1000;
    const rssPeakLoaded = process.resourceUsage().maxRSS * 1024;
    const rssLoaded = await rss();
    const prompt = benchTokens(model, o.promptTokens);
    const models = [model];
    const result: FileMeasurement = {
      fileBytes: statSync(o.file).size, format: model.format, loadSeconds, rssBefore, rssLoaded, rssAfterPrompt: 0, rssPeak: 0, rssPeakLoaded,
      stateBytes: 0, prompt: {}, decode: {},
    };
    // The prompt on the first thread count, then the resident set (before any other copy loads).
    const state = createState(model, { kv: o.kv ?? 'f32' });
    const activations = o.activations ?? 'exact';
    const p = timed(() => { prefill(model, state, prompt, { activations }); });
    result.stateBytes = state.bytes();
    result.prompt[o.threads[0]!] = { wall: o.promptTokens / p.wall, cpu: o.promptTokens / p.cpu };
    result.rssAfterPrompt = await rss();
    result.rssPeak = process.resourceUsage().maxRSS * 1024;
    // The other thread counts' backends (their workers are isolates of their own) only now, so
    // the resident figures above are the first model's alone.
    for (const t of o.threads.slice(1)) backends.push(await createWasmBackend({ threads: t }));
    for (let i = 1; i < o.threads.length; i++) {
      const m = await loadModel(o.file, { backend: backends[i]! });
      models.push(m);
      await new Promise((done) => setTimeout(done, 50)); // (see the decode rounds)
      const pi = timed(() => { prefill(m, createState(m, { kv: o.kv ?? 'f32' }), prompt, { activations }); });
      result.prompt[o.threads[i]!] = { wall: o.promptTokens / pi.wall, cpu: o.promptTokens / pi.cpu };
    }
    // Decode from a short context, thread counts alternating round by round (best round kept).
    const states = models.map((m) => { const s = createState(m, { kv: o.kv ?? 'f32' }); prefill(m, s, benchTokens(m, 8, 1)); return s; });
    let token = 3;
    for (let round = 0; round < o.rounds; round++) {
      for (const [i, m] of models.entries()) {
        // Idle workers spin ~30 ms before they sleep: let them, so no round (and no CPU-time
        // rate: this process's CPU time counts every thread) pays for the previous one's.
        await new Promise((done) => setTimeout(done, 50));
        let n = 0;
        const budget = (o.seconds / o.rounds) * 1000;
        const t = timed(() => {
          const t0 = performance.now();
          do { step(m, states[i]!, token); token = (token * 7 + 13) % 1000 + 2; n++; } while (performance.now() - t0 < budget);
        });
        const th = o.threads[i]!, best = result.decode[th];
        const wall = n / t.wall, cpu = n / t.cpu;
        result.decode[th] = { wall: Math.max(wall, best?.wall ?? 0), cpu: Math.max(cpu, best?.cpu ?? 0) }; // each its best round
      }
    }
    return result;
  } finally {
    for (const b of backends) await b.dispose();
  }
}

/** This folder's child entry, as source (.ts under tsx) or built (.js). */
function childEntry(): string {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  return fileURLToPath(new URL(`./file-child.${ext}`, import.meta.url));
}

/** measureFile in a fresh Node process (with the same loader flags, plus --expose-gc). */
export function measureFileInChild(o: FileMeasureOptions): Promise<FileMeasurement> {
  return new Promise((done, fail) => {
    const child = fork(childEntry(), [JSON.stringify(o)], { execArgv: [...process.execArgv, '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: FileMeasurement | undefined, error: string | undefined;
    child.on('message', (m: { result?: FileMeasurement; error?: string }) => { result = m.result; error = m.error; });
    child.on('error', fail);
    child.on('exit', (code) => {
      if (result) done(result);
      else fail(new Error(`measuring ${o.file}: ${error ?? `the measuring process exited with code ${code}`}`));
    });
  });
}
