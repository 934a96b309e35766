// The page: controls, streamed text, the live multi-state on a canvas, teaching mode and the
// two-policy comparison. All model work happens in gen-worker.ts; this thread only draws.
import { policyNames } from '@msrnn/policies';
import { drawCompare } from './compare-plot.js';
import type { FromWorker, GenSettings, ModelInfo, Snapshot, ToWorker } from './protocol.js';
import { StateView } from './state-view.js';
import { renderTeach } from './teach.js';
import { pickedFromDrop, pickedFromInput, type Picked } from './pick.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const worker = new Worker(new URL('./gen-worker.js', import.meta.url), { type: 'module' });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

/** What the page knows, also read by the browser test (window.msrnnPage). */
const page = {
  info: null as ModelInfo | null,
  /** Token id and text of every position (prompt, then generated). */
  tokens: [] as number[],
  pieces: [] as string[],
  generated: [] as number[],
  running: false,
  done: 0,
  lastReason: '',
  logitsHash: '',
  teachSteps: 0,
  error: '',
  /** The last loading progress with a known total (bytes read of the files being loaded). */
  progress: null as { phase: string; loaded: number; total: number } | null,
  snapshot: null as Snapshot | null,
  compare: null as Extract<FromWorker, { type: 'compare' }> | null,
};
(window as unknown as { msrnnPage: typeof page }).msrnnPage = page;

const view = new StateView($<HTMLCanvasElement>('state'), (i) => ({ token: page.pieces[i], id: page.tokens[i] }),
  (text) => { $('hover').textContent = text; });

// Controls.
for (const id of ['policy', 'policyB']) {
  const sel = $<HTMLSelectElement>(id);
  for (const name of policyNames) sel.add(new Option(name, name));
}
$<HTMLSelectElement>('policy').value = 'tova';
$<HTMLSelectElement>('policyB').value = 'window';
const params = new URLSearchParams(location.search);
for (const [k, v] of params) { const el = document.getElementById(k) as HTMLInputElement | null; if (el && 'value' in el) el.value = v; }

const num = (id: string) => Number($<HTMLInputElement>(id).value);
function settings(): GenSettings {
  const capacity = num('capacity');
  return {
    prompt: $<HTMLTextAreaElement>('prompt').value, steps: num('steps'), temperature: num('temperature'), topP: num('topP'),
    seed: num('seed'), policy: $<HTMLSelectElement>('policy').value, capacity: capacity > 0 ? capacity : Infinity, ratio: num('ratio'),
  };
}

function setRunning(running: boolean): void {
  page.running = running;
  $<HTMLButtonElement>('generate').disabled = running;
  $<HTMLButtonElement>('stop').disabled = !running;
  $<HTMLButtonElement>('continue').disabled = running || page.tokens.length === 0;
  $<HTMLButtonElement>('teach-start').disabled = running;
  // Step continues whatever run there is (after Start, or after a generation) one token at a time.
  $<HTMLButtonElement>('teach-step').disabled = running || page.tokens.length === 0;
  $<HTMLButtonElement>('compare').disabled = running;
}

let lastPicked: Picked | null = null;
/** Loads what was picked (null: the default model); the worker reads the files' bytes. */
function load(picked: Picked | null): void {
  lastPicked = picked;
  page.info = null;
  page.error = '';
  setRunning(true);
  $('status').textContent = picked ? `Loading ${picked.folder ?? picked.files.map((f) => f.name).join(' + ')}…` : 'Loading the default model…';
  send({ type: 'load', files: picked?.files ?? null, source: picked?.folder, backend: $<HTMLSelectElement>('backend').value as 'auto', threads: num('threads') });
}

const output = $('output');
function resetText(): void {
  output.textContent = '';
  pendingText.length = 0;
  page.tokens = []; page.pieces = []; page.generated = [];
}

// The text and the numbers change at most once per animation frame, in the frame the view draws
// in: updates that arrive between two frames are merged, and the worker sends the next update only
// once this frame has shown the last (the 'drawn' message), so the page's threads (main,
// compositor) never queue up work that takes the decode's cores.
const pendingText: [text: string, prompt: boolean][] = [];
let pendingLines: { stats: string; kept: string } | null = null;
let ackPending = false, frameRequested = false;
/** Updates received and frames that showed them (the browser test reads these). */
const frames = { updates: 0, shown: 0, maxUpdatesPerFrame: 0, sinceShown: 0 };
(window as unknown as { msrnnFrames: typeof frames }).msrnnFrames = frames;

function render(): void {
  frameRequested = false;
  if (pendingText.length) {
    const spans = pendingText.map(([text, prompt]) => {
      const span = document.createElement('span');
      if (prompt) span.className = 'prompt';
      span.textContent = text;
      return span;
    });
    output.append(...spans);
    pendingText.length = 0;
    output.scrollTop = output.scrollHeight;
  }
  if (pendingLines) {
    $('stats').textContent = pendingLines.stats;
    $('kept-summary').textContent = pendingLines.kept;
    pendingLines = null;
  }
  if (frames.sinceShown > 0) { frames.shown++; frames.sinceShown = 0; }
  if (ackPending) { ackPending = false; send({ type: 'drawn' }); }
}
function requestRender(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(render);
}
function appendText(text: string, prompt: boolean): void {
  pendingText.push([text, prompt]);
  requestRender();
}

$('form').addEventListener('submit', (e) => {
  e.preventDefault();
  resetText();
  setRunning(true);
  send({ type: 'generate', settings: settings() });
});
$('stop').addEventListener('click', () => send({ type: 'stop' }));
$('continue').addEventListener('click', () => { setRunning(true); send({ type: 'continue', steps: num('steps') }); });
for (const id of ['backend', 'threads']) $(id).addEventListener('change', () => load(lastPicked));
$('teach-start').addEventListener('click', () => {
  resetText();
  page.teachSteps = 0;
  $('teach').textContent = '';
  setRunning(true);
  send({ type: 'teach-start', settings: settings() });
});
$('teach-step').addEventListener('click', () => send({ type: 'teach-step' }));
$('compare-form').addEventListener('submit', (e) => {
  e.preventDefault();
  setRunning(true);
  $('compare-summary').textContent = 'Running both policies…';
  send({ type: 'compare', settings: settings(), policyB: $<HTMLSelectElement>('policyB').value, reference: $<HTMLTextAreaElement>('reference').value });
});

// Open a model: the file pickers (files, or a folder), or files / a folder dropped anywhere on the page.
function showError(message: string): void {
  page.error = message;
  setRunning(false);
  $('status').textContent = `Error: ${message}`;
}
function open(picked: Promise<Picked | null> | Picked | null): void {
  Promise.resolve(picked).then((p) => { if (p) load(p); }, (err: Error) => showError(err.message));
}
for (const id of ['file', 'folder']) $<HTMLInputElement>(id).addEventListener('change', (e) => open(pickedFromInput((e.target as HTMLInputElement).files)));
document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => { e.preventDefault(); document.body.classList.remove('dragging'); open(pickedFromDrop(e.dataTransfer)); });

const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

function showState(s: Snapshot, stateBytes: number, unboundedBytes: number, tokPerS: number | null): void {
  page.snapshot = s;
  view.update(s); // draws in the next animation frame, before render() (its frame was asked for first)
  const cap = s.capacity === Infinity ? 'unbounded' : `capacity ${s.capacity}`;
  pendingLines = {
    stats: `${s.seen} tokens${tokPerS !== null ? ` · ${tokPerS.toFixed(0)} tok/s` : ''} · state ${kib(stateBytes)} (${cap}) vs unbounded ${kib(unboundedBytes)}`,
    kept: `kept per layer: ${s.layers.map((heads, l) => `L${l} ${Math.max(...heads.map((h) => h.kept.length))}`).join(', ')}`,
  };
  requestRender();
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'progress': {
      const p = $<HTMLProgressElement>('progress');
      if (m.total > 0) { p.max = m.total; p.value = m.loaded; page.progress = { phase: m.phase, loaded: m.loaded, total: m.total }; } else p.removeAttribute('value');
      $('status').textContent = `Loading ${m.phase}… ${m.total > 0 ? `${Math.round((100 * m.loaded) / m.total)}%` : ''}`;
      break;
    }
    case 'ready': {
      page.info = m.info;
      resetText(); // a new model: earlier tokens mean nothing to it
      const p = $<HTMLProgressElement>('progress'); p.max = 1; p.value = 1;
      const i = m.info;
      $('status').textContent = `Ready: ${i.source} (${i.format}) on ${i.backend} × ${i.threads} thread${i.threads > 1 ? 's' : ''}`
        + `${i.crossOriginIsolated ? ', cross-origin isolated' : ', not cross-origin isolated (one thread)'}${i.note ? ` — ${i.note}` : ''}`;
      $('model-info').textContent = `${i.layers} layers, ${i.heads} query heads, ${i.kvHeads} KV heads of ${i.headDim}, vocabulary ${i.vocab}, context ${i.seqLen}`;
      setRunning(false);
      break;
    }
    case 'tokens': {
      if (m.start !== page.tokens.length) { page.tokens.length = m.start; page.pieces.length = m.start; }
      page.tokens.push(...m.tokens);
      page.pieces.push(...m.pieces);
      if (!m.prompt) page.generated.push(...m.tokens);
      appendText(m.text, m.prompt);
      showState(m.snapshot, m.stateBytes, m.unboundedBytes, m.tokPerS);
      frames.updates++;
      frames.maxUpdatesPerFrame = Math.max(frames.maxUpdatesPerFrame, ++frames.sinceShown);
      ackPending = true;
      break;
    }
    case 'done':
      render(); // the run's last text and numbers now, not a frame later (a background tab gets no frames)
      page.done++;
      page.lastReason = m.reason;
      page.logitsHash = m.logitsHash;
      setRunning(false);
      $('status').textContent = `${page.info?.source ?? ''}: ${m.reason}${m.generated ? ` (${m.generated} tokens)` : ''}`;
      break;
    case 'teach': {
      page.teachSteps++;
      page.tokens[m.position] = m.token;
      page.pieces[m.position] = m.piece;
      appendText(m.text, false);
      showState(m.snapshot, m.stateBytes, m.unboundedBytes, null);
      renderTeach($('teach'), m, (p) => page.pieces[p] ?? '?');
      break;
    }
    case 'compare':
      page.compare = m;
      setRunning(false);
      for (const [id, side] of [['a', m.a], ['b', m.b]] as const) {
        $(`side-${id}-title`).textContent = `${id.toUpperCase()}: ${side.policy}${side.shared ? (id === 'b' ? ' (continues from the prompt state A read)' : '') : ' (read the prompt itself)'}`;
        $(`side-${id}`).textContent = side.text;
      }
      $('compare-summary').textContent = drawCompare($<HTMLCanvasElement>('compare-plot'), m) + (m.b.note ? `. ${m.b.note}.` : '');
      $('status').textContent = `Compared ${m.a.policy} and ${m.b.policy} (results below)`;
      break;
    case 'error':
      showError(m.message);
      break;
  }
};
worker.onerror = (e) => { page.error = e.message; $('status').textContent = `Worker error: ${e.message}`; };

load(null);
