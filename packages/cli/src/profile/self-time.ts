// Self time per function from a V8 CPU profile (the format of node:inspector's Profiler, `node
// --cpu-prof` and Chrome's devtools): the share of a thread's samples whose stack top is the
// function, optionally within a time window. Shares of sample counts, not of the gaps between
// samples: on a loaded machine the sampler thread itself waits for a core now and then, and
// devtools' way (each sample gets the time until the next) hands such a gap to one function.
// Wasm kernels are rows by name (the kernel module's "name" section), JS functions by name and
// the file and line they are defined at, so two functions called `run` stay apart.
import { findSourceMap } from 'node:module';
import { isAbsolute, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CpuProfile } from './all-threads.js';

/** What a row's time is: the kinds a thread's summary adds up. */
export type TimeKind = 'kernel' | 'wrapper' | 'pool' | 'js' | 'gc' | 'vm' | 'idle';

export const TIME_KINDS: Record<TimeKind, string> = {
  kernel: 'wasm kernels',
  wrapper: 'JS↔wasm entries',
  pool: 'thread pool (hand-off, claims, waits)',
  js: 'other JS',
  gc: 'garbage collector',
  vm: 'VM and native code',
  idle: 'idle',
};

export interface SelfTimeRow {
  /** The function's name ('(anonymous)' for an unnamed JS function). */
  name: string;
  /** 'wasm', a file (relative to `root` when under it) and 1-based line, 'native' (a builtin), or '' for the VM's own entries. */
  where: string;
  kind: TimeKind;
  samples: number;
  /** Of the thread's samples in the window. */
  share: number;
}

export interface ThreadSelfTime {
  /** Samples in the window. */
  samples: number;
  /** Most samples first. */
  rows: SelfTimeRow[];
  /** The share of the samples per kind. */
  byKind: Record<TimeKind, number>;
}

/** The thread pool's code (the tensor package's threads/ folder, as source or built). */
const POOL_FILE = /tensor\/(src|dist)\/threads\/[^/]+$/;

/** The VM's own entries of a profile (no JS or wasm function on the stack). */
const VM_ENTRIES: Record<string, TimeKind> = { '(program)': 'vm', '(garbage collector)': 'gc', '(idle)': 'idle', '(root)': 'vm' };

/**
 * Where a function starts: its file (relative to root when under it) and 1-based line, through the
 * file's source map when Node has it (tsx's, which transpiles a file to one line; tsc's with
 * --enable-source-maps), else the running code's own line.
 */
function where(url: string, line: number, column: number, root: string): string {
  if (url === '') return 'native'; // a builtin (performance.now, ...)
  // findEntry gives {} where the map has no entry.
  const original = (url.startsWith('file:') ? findSourceMap(url)?.findEntry(line, column) : undefined) as { originalSource?: string; originalLine?: number } | undefined;
  if (original?.originalSource !== undefined && original.originalLine !== undefined) ({ originalSource: url, originalLine: line } = original);
  let file = url;
  if (url.startsWith('file:')) {
    const path = fileURLToPath(url), rel = relative(root, path);
    file = rel.startsWith('..') || isAbsolute(rel) ? path : rel;
  }
  return line >= 0 ? `${file}:${line + 1}` : file;
}

type Frame = CpuProfile['nodes'][number]['callFrame'];

/** The row a profile node's self time goes to (`caller`: its parent's frame): its key and what it shows. */
function rowOf(frame: Frame, caller: Frame | undefined, root: string): Omit<SelfTimeRow, 'samples' | 'share'> {
  const vm = VM_ENTRIES[frame.functionName];
  if (vm !== undefined && frame.url === '') return { name: frame.functionName, where: '', kind: vm };
  if (frame.url.startsWith('wasm://')) {
    // V8's entry and exit stubs (js-to-wasm:iii:, one per signature), one row per JS caller: where
    // the stack walk loses the wasm function on top of an entry and stops at it (an entry TurboFan
    // inlined into optimized JS: ./all-threads.ts turns that off, but a profile taken without it
    // has such rows), the caller says which kernels that time was in.
    if (/^(js-to-wasm|wasm-to-js)/.test(frame.functionName)) {
      const from = caller && caller.functionName !== '' && !caller.url.startsWith('wasm://') ? `, from ${caller.functionName}` : '';
      return { name: `(${frame.functionName.startsWith('js') ? 'JS→wasm' : 'wasm→JS'} entry${from})`, where: 'wasm', kind: 'wrapper' };
    }
    return { name: frame.functionName, where: 'wasm', kind: 'kernel' };
  }
  return { name: frame.functionName || '(anonymous)', where: where(frame.url, frame.lineNumber, frame.columnNumber, root), kind: POOL_FILE.test(frame.url) ? 'pool' : 'js' };
}

/** Each node's parent (by id). */
function parents(profile: CpuProfile): Map<number, number> {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  return parent;
}

/** Each sample's time on the profile's clock (µs). */
function sampleTimes(profile: CpuProfile): number[] {
  let t = profile.startTime;
  return (profile.timeDeltas ?? []).map((d) => (t += d));
}

/**
 * Self time per function of `profile`, over the samples taken within [window.start, window.end]
 * (µs, the profile's own clock: another thread's profile of the same process shares it); paths are
 * shown relative to `root`.
 */
export function selfTimes(profile: CpuProfile, root: string, window?: { start: number; end: number }): ThreadSelfTime {
  const start = window?.start ?? profile.startTime, end = window?.end ?? profile.endTime;
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = parents(profile);
  const rows = new Map<string, SelfTimeRow>();
  const samples = profile.samples ?? [], times = sampleTimes(profile);
  let total = 0;
  for (let i = 0; i < samples.length; i++) {
    if (times[i]! < start || times[i]! > end) continue;
    const node = byNode.get(samples[i]!);
    if (!node) throw new Error(`CPU profile: sample ${i} names node ${samples[i]}, which the profile does not have`);
    const row = rowOf(node.callFrame, byNode.get(parent.get(node.id)!)?.callFrame, root);
    const key = `${row.name}\u0000${row.where}`;
    const r = rows.get(key) ?? rows.set(key, { ...row, samples: 0, share: 0 }).get(key)!;
    r.samples++;
    total++;
  }
  const byKind = Object.fromEntries(Object.keys(TIME_KINDS).map((k) => [k, 0])) as Record<TimeKind, number>;
  for (const r of rows.values()) { r.share = r.samples / total; byKind[r.kind] += r.share; }
  return { samples: total, rows: [...rows.values()].sort((a, b) => b.samples - a.samples), byKind };
}

/** The times (µs, the profile's clock) of the first and the last sample with `functionName` on its stack; null when none has it. */
export function spanOf(profile: CpuProfile, functionName: string): { start: number; end: number } | null {
  const parent = parents(profile);
  const marked = new Set(profile.nodes.filter((n) => n.callFrame.functionName === functionName).map((n) => n.id));
  const under = (id: number | undefined): boolean => { for (; id !== undefined; id = parent.get(id)) if (marked.has(id)) return true; return false; };
  const samples = profile.samples ?? [], times = sampleTimes(profile);
  let span: { start: number; end: number } | null = null;
  for (let i = 0; i < samples.length; i++) {
    if (!under(samples[i])) continue;
    if (span) span.end = times[i]!; else span = { start: times[i]!, end: times[i]! };
  }
  return span;
}

/**
 * Whether a thread's profile ran the thread pool's code (a kernel worker). Not by the loop's name:
 * V8 may compile runKernelWorker into worker-node's top-level code (then the profile shows only that).
 */
export function isKernelWorker(profile: CpuProfile): boolean {
  return profile.nodes.some((n) => POOL_FILE.test(n.callFrame.url));
}
