// The page's generation worker: loads the model, runs the multi-state RNN and streams tokens and
// snapshots of the state to the page. It is also the thread that waits (Atomics.wait) for the
// kernel workers when threads > 1, which browsers allow only off the main thread.
import { selectBackend, type BackendSelection } from '@msrnn/tensor';
import type { MultiState } from '@msrnn/msrnn';
import { getPolicy } from '@msrnn/policies';
import { bytesSource, createState, prefill, Sampler, step, type ByteSource, type Model, type Tokenizer, type TokenStreamDecoder } from '@msrnn/transformer';
import { comparePolicies } from './compare.js';
import { filesToRead, loadFiles } from './formats.js';
import { PolicyObserver } from './observer.js';
import { pickedSources } from './sources.js';
import type { FromWorker, GenSettings, Snapshot, TeachLayer, ToWorker } from './protocol.js';

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let sel: BackendSelection | null = null;
let model: Model | null = null;
let tokenizer: Tokenizer | null = null;
let defaultTokenizer: Uint8Array | undefined;
/** The comparison's logits, in the backend's memory (allocated once per model: the wasm heap never shrinks). */
let logitsOut: Float32Array | undefined;

interface Run {
  state: MultiState; observer: PolicyObserver; sampler: Sampler; decoder: TokenStreamDecoder;
  logits: Float32Array; settings: GenSettings; headWise: boolean;
  /** The last token read (spacing of the next token's text depends on it). */
  last: number;
}
let run: Run | null = null;
let stopRequested = false;
let busy = false;

/** Reads a stream to its end, reporting each chunk (`onChunk(bytes so far)`). */
async function readStream(stream: ReadableStream<Uint8Array>, onChunk: (loaded: number) => void): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    loaded += value.length;
    onChunk(loaded);
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Fetches with a progress report (Content-Length when the server sends it). */
async function fetchBytes(url: string, phase: string): Promise<Uint8Array> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`cannot load ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  return readStream(res.body, (loaded) => post({ type: 'progress', phase, loaded, total }));
}

/** The picked/dropped files the format needs (filesToRead) as byte sources, one progress bar over all their bytes. */
function pickedFiles(picked: File[], folder: string | undefined): Map<string, ByteSource> {
  const wanted = new Set(filesToRead(picked.map((f) => f.name)));
  return pickedSources(picked.filter((f) => wanted.has(f.name)), folder, (phase, loaded, total) => post({ type: 'progress', phase, loaded, total }));
}

async function load(msg: Extract<ToWorker, { type: 'load' }>): Promise<void> {
  run = null;
  if (sel) { await sel.dispose(); sel = null; }
  let files = new Map<string, ByteSource>();
  if (msg.files) files = pickedFiles(msg.files, msg.source);
  else {
    files.set('model.bin', bytesSource(await fetchBytes('models/default/model.bin', 'model'), 'model.bin'));
    defaultTokenizer = await fetchBytes('models/default/tokenizer.bin', 'tokenizer');
    files.set('tokenizer.bin', bytesSource(defaultTokenizer, 'tokenizer.bin'));
  }
  if (!defaultTokenizer && msg.files) defaultTokenizer = await fetchBytes('models/default/tokenizer.bin', 'tokenizer').catch(() => undefined);
  post({ type: 'progress', phase: 'starting the backend', loaded: 0, total: 0 });
  // The weights are read straight into the heap (no second copy), so it starts at the files' size.
  const heapBytes = [...files.values()].reduce((n, f) => n + f.size, 0) + (64 << 20);
  sel = await selectBackend({
    backend: msg.backend, threads: msg.threads, initialBytes: heapBytes,
    createWorker: () => new Worker(new URL('./kernel-worker.js', import.meta.url), { type: 'module' }),
  });
  const loaded = await loadFiles(files, sel.backend, defaultTokenizer, msg.source);
  model = loaded.model;
  logitsOut = undefined;
  tokenizer = loaded.tokenizer;
  updateMs = sel.threads >= (navigator.hardwareConcurrency || Infinity) ? UPDATE_MS_ALL_CORES : UPDATE_MS;
  const c = model.config;
  post({
    type: 'ready',
    info: {
      source: model.source, format: loaded.format, layers: c.nLayers, kvHeads: c.nKvHeads, heads: c.nHeads, headDim: c.dim / c.nHeads,
      vocab: c.vocabSize, seqLen: c.seqLen, backend: sel.backend.name, threads: sel.threads, note: sel.note ?? null,
      crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    },
  });
}

function policyFor(name: string, s: GenSettings) {
  if (name === 'full') return getPolicy('full');
  return getPolicy(name, s.ratio > 0 ? { ratio: s.ratio } : { capacity: s.capacity });
}

function newState(name: string, s: GenSettings): { state: MultiState; observer: PolicyObserver } {
  const policy = policyFor(name, s);
  const observer = new PolicyObserver(policy, model!.config.nLayers);
  const state = createState(model!, { policy: observer.policy() });
  return { state, observer };
}

/** Bytes an unbounded state holds for `seen` tokens (keys, values, positions: what a KV cache keeps). */
function unboundedBytes(seen: number): number {
  const c = model!.config;
  return seen * c.nLayers * c.nKvHeads * (2 * (c.dim / c.nHeads) * 4 + 4);
}

/** Attention by position of the last recorded step (reused, zero between snapshots). */
let attByPosition = new Float32Array(0);
const samePositions = (a: Int32Array, b: Int32Array) => a.length === b.length && a.every((p, i) => p === b[i]);

/**
 * The state now (kept positions), with the attention of the last recorded step where it applies.
 * Built for every update the page draws, so in typed arrays, without maps or strings. Only what
 * the view draws: one head per layer until the heads keep different entries (head-wise policies).
 */
function snapshot(r: Run): Snapshot {
  if (attByPosition.length < r.state.seen) attByPosition = new Float32Array(2 * r.state.seen);
  const layers = r.state.layers.map((layer, l) => layer.heads.map((head, h) => {
    const kept = head.positions.slice(0, head.count).sort();
    const att = new Float32Array(kept.length);
    const recorded = r.observer.layers[l]?.before[h];
    if (recorded) {
      recorded.positions.forEach((p, i) => { attByPosition[p] = recorded.att[i]!; });
      kept.forEach((p, i) => { att[i] = attByPosition[p]!; });
      for (const p of recorded.positions) attByPosition[p] = 0;
    }
    return { kept, att };
  }));
  // Head-wise policies show one row per KV head, from the first step their heads keep different entries on.
  r.headWise ||= layers.some((heads) => heads.some((h) => !samePositions(h.kept, heads[0]!.kept)));
  return { seen: r.state.seen, capacity: r.state.capacity, headWise: r.headWise, layers: r.headWise ? layers : layers.map((heads) => heads.slice(0, 1)), evicted: r.observer.takeEvictions() };
}

/** The snapshot's arrays, handed over to the page instead of copied (the worker builds new ones each time). */
const snapshotBuffers = (s: Snapshot): Transferable[] => s.layers.flatMap((heads) => heads.flatMap((h) => [h.kept.buffer, h.att.buffer]));

/**
 * Whether the page has shown the last update ('tokens'): it says so ('drawn') from the animation
 * frame that drew it (or at the run's end), and the next update waits for that. Drawing then costs
 * the page at most one frame per update, never a queue of snapshots it cannot keep up with (a
 * background tab, which gets no frames, gets no updates until the run's last).
 */
let pageReady = true;
/** Called once with the next 'drawn' (the wait for the prompt's frame, see generate). */
let onDrawn: (() => void) | null = null;
/**
 * Least time between two updates: the view and the text change about 10 times a second, and the
 * page's threads (main, compositor) take little from the decode's cores. When the decode's threads
 * take every core, each update's frame (~9 ms of the browser's other threads, measured on the
 * stories15M shape) can only run on a decoding thread's core, stalling the other thread at the
 * next job's end: then 4 a second.
 */
const UPDATE_MS = 100, UPDATE_MS_ALL_CORES = 250;
let updateMs = UPDATE_MS;
/** Most time between two yields to the worker's events, so 'stop' and 'drawn' get through. */
const YIELD_MS = 30;
/**
 * How long a run waits for the page to show its prompt before decoding: a visible page draws it
 * in the next frame, and the decode then does not share its cores with that frame (the text, the
 * buttons, the view); a background tab gets no frames, and must not wait for one.
 */
const PROMPT_FRAME_WAIT_MS = 100;

/** Resolves once the page has shown the last update, or after `ms`. */
function pageShown(ms: number): Promise<void> {
  if (pageReady) return Promise.resolve();
  return new Promise((shown) => {
    const timer = setTimeout(() => { onDrawn = null; shown(); }, ms);
    onDrawn = () => { clearTimeout(timer); shown(); };
  });
}

function start(settings: GenSettings): Run {
  if (!model || !tokenizer) throw new Error('no model loaded');
  // A new run replaces the old one: its state's memory goes back to the heap (which may not grow).
  run?.state.dispose();
  run = null;
  const { state, observer } = newState(settings.policy, settings);
  const tokens = tokenizer.encode(settings.prompt);
  if (tokens.length === 0) throw new Error('the prompt encodes to no tokens');
  const logits = prefill(model, state, tokens);
  const decoder = tokenizer.createStreamDecoder({ skipSpecial: true });
  const pieces = tokens.map((t, i) => tokenizer!.tokenText(t, i > 0 ? tokens[i - 1] : undefined));
  const text = tokens.map((t) => decoder.push(t)).join('');
  const r: Run = {
    state, observer, logits, settings, decoder, last: tokens.at(-1)!, headWise: false,
    sampler: new Sampler(model.config.vocabSize, { temperature: settings.temperature, topP: settings.topP, seed: settings.seed }),
  };
  const shown = snapshot(r);
  post({ type: 'tokens', start: 0, tokens, pieces, text, tokPerS: 0, stateBytes: state.bytes(), unboundedBytes: unboundedBytes(state.seen), snapshot: shown, prompt: true }, snapshotBuffers(shown));
  pageReady = false;
  return r;
}

// A message to itself is a task with no minimum delay: setTimeout(0), nested, waits at least 4 ms
// (HTML's timer clamping), which every ~30 ms would cost the decode about a tenth of its time.
const yieldChannel = new MessageChannel();
/** Lets queued messages ('stop') run, then continues. */
function yieldToEvents(): Promise<void> {
  return new Promise((resume) => { yieldChannel.port1.onmessage = () => resume(); yieldChannel.port2.postMessage(null); });
}

/** Generates `steps` tokens (once the page has shown the prompt), posting a batch (text, snapshot) when the page is ready for one (updateMs, pageReady) and yielding every YIELD_MS. */
async function generate(r: Run, steps: number): Promise<void> {
  stopRequested = false;
  await pageShown(PROMPT_FRAME_WAIT_MS);
  const t0 = performance.now();
  let made = 0, batchStart = r.state.seen, batch: number[] = [], pieces: string[] = [], text = '', lastPost = t0, lastYield = t0;
  const flush = () => {
    if (batch.length === 0) return;
    const dt = (performance.now() - t0) / 1000;
    const shown = snapshot(r);
    post({
      type: 'tokens', start: batchStart, tokens: batch, pieces, text, tokPerS: dt > 0 ? made / dt : 0,
      stateBytes: r.state.bytes(), unboundedBytes: unboundedBytes(r.state.seen), snapshot: shown, prompt: false,
    }, snapshotBuffers(shown));
    batchStart = r.state.seen; batch = []; pieces = []; text = ''; lastPost = performance.now(); pageReady = false;
  };
  let reason = 'steps done';
  while (made < steps) {
    if (r.state.seen >= model!.config.seqLen && r.state.capacity === Infinity) { reason = `reached the model's context (${model!.config.seqLen})`; break; }
    const token = r.sampler.sample(r.logits);
    if (tokenizer!.stopIds.has(token)) { reason = 'end of text'; break; }
    batch.push(token);
    pieces.push(tokenizer!.tokenText(token, r.last));
    r.last = token;
    text += r.decoder.push(token);
    // Record the state's details only on the step an update will show.
    const now = performance.now();
    const update = pageReady && now - lastPost >= updateMs;
    r.observer.recording = update;
    r.logits = step(model!, r.state, token);
    made++;
    if (update) flush();
    if (update || performance.now() - lastYield >= YIELD_MS) {
      await yieldToEvents();
      lastYield = performance.now();
      if (stopRequested) { reason = 'stopped'; break; }
    }
  }
  flush();
  post({ type: 'done', reason, generated: made, logitsHash: hashBits(r.logits) });
}

function teachStep(r: Run): void {
  const position = r.state.seen;
  const before = r.state.keptPositionsPerHead().map((heads) => heads[0]!);
  r.observer.recording = true;
  const token = r.sampler.sample(r.logits);
  const piece = tokenizer!.tokenText(token, r.last);
  const text = r.decoder.push(token);
  r.last = token;
  r.logits = step(model!, r.state, token);
  const after = r.state.keptPositionsPerHead().map((heads) => heads[0]!);
  const layers: TeachLayer[] = r.observer.layers.map((l, i) => {
    // KV head 0's view (the teaching panel shows one head per layer)
    const pairs = Array.from(l.before[0]!.positions, (p, j) => [p, l.before[0]!.att[j]!] as const).sort((a, b) => a[0] - b[0]);
    return { before: before[i]!, attended: pairs.map(([p]) => p), attention: pairs.map(([, a]) => a), newEntry: position, evicted: l.evicted[0]!, after: after[i]! };
  });
  const shown = snapshot(r);
  post({ type: 'teach', position, token, piece, text, layers, snapshot: shown, stateBytes: r.state.bytes(), unboundedBytes: unboundedBytes(r.state.seen) }, snapshotBuffers(shown));
}

/** FNV-1a over the float bits (hex): two runs with equal hashes computed bit-identical logits. */
function hashBits(v: Float32Array): string {
  const u = new Uint32Array(v.buffer, v.byteOffset, v.length);
  let h = 0x811c9dc5;
  for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i]!, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Two policies from one read of the prompt (compare.ts), greedy or sampled as the settings say. */
async function compare(settings: GenSettings, policyB: string, reference: string): Promise<void> {
  if (!model || !tokenizer) throw new Error('no model loaded');
  logitsOut ??= model.backend.alloc(model.config.vocabSize);
  const r = await comparePolicies(model, tokenizer, policyFor(settings.policy, settings), policyFor(policyB, settings), {
    prompt: settings.prompt, reference, steps: settings.steps, logitsOut,
    sampling: { temperature: settings.temperature, topP: settings.topP, seed: settings.seed },
  });
  post({ type: 'compare', ...r });
}

self.onmessage = async (e: MessageEvent<ToWorker>) => {
  const msg = e.data;
  if (msg.type === 'stop') { stopRequested = true; return; }
  if (msg.type === 'drawn') { pageReady = true; onDrawn?.(); onDrawn = null; return; }
  if (busy) { post({ type: 'error', message: 'busy: stop the current run first' }); return; }
  busy = true;
  try {
    switch (msg.type) {
      case 'load': await load(msg); break;
      case 'generate': run = start(msg.settings); await generate(run, msg.settings.steps); break;
      case 'continue': if (!run) throw new Error('nothing to continue: generate first'); await generate(run, msg.steps); break;
      case 'teach-start': run = start(msg.settings); post({ type: 'done', reason: 'prompt read; step through it', generated: 0, logitsHash: hashBits(run.logits) }); break;
      case 'teach-step': if (!run) throw new Error('start teaching mode first'); teachStep(run); break;
      case 'compare': await compare(msg.settings, msg.policyB, msg.reference); break;
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message ?? String(err) });
  } finally {
    busy = false;
  }
};
