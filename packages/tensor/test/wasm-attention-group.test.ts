// Grouped-query decode attention (kernels/attention-group.ts): the query heads that share a KV head
// attend in one pass over its entries, and every head's output and weights must be the bits of its
// own per-head kernel (attendHead / attendHeadKv_<k>_<v>) — checked on the kernels themselves, through
// the backend's deferred heads on 1 and 2 threads (MHA and GQA shapes, odd counts, head sizes the
// wasm kernels refuse), and against the pure-TS backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildKernelModule, type GroupAttentionKernel, type KernelExports, type KvAttentionKernel } from '../src/wasm/kernels.js';
import { attendGroupName } from '../src/wasm/kernels/attention-group.js';
import { attendHeadKvName } from '../src/wasm/kernels/attention.js';
import { CTRL_INTS, Ctrl, HEAD_ARGS, HeadArg } from '../src/threads/protocol.js';
import { JobRunner, splitGroups } from '../src/wasm/jobs.js';
import { WasmHeap } from '../src/wasm/heap.js';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { KV_TYPES, KvRows, deferAttendHeadKv, jsBackend, runDeferredHeads, type Backend, type KvType } from '../src/index.js';
import { assertClose, randomArray, rng } from './helpers.js';
import { sharedKernelPool } from './fixtures/kernel-pool.js';

const rand = rng(0x6a0a);

/** The kernel module on a plain memory, with a bump allocator (byte addresses, 64-aligned). */
async function kernels(): Promise<{ k: KernelExports; mem: WebAssembly.Memory; alloc: (bytes: number) => number }> {
  const mem = new WebAssembly.Memory({ initial: 256 });
  const { instance } = await WebAssembly.instantiate(buildKernelModule({ initialPages: 256, shared: false }), { env: { memory: mem } });
  let top = 64;
  return { k: instance.exports as unknown as KernelExports, mem, alloc: (bytes) => { const at = top; top += Math.ceil(bytes / 64) * 64; return at; } };
}

/** `count` random entries of width hd stored as `type`, copied into the kernels' memory: [rows address, q8 scales address or 0]. */
function storeEntries(mem: WebAssembly.Memory, alloc: (bytes: number) => number, type: KvType, hd: number, count: number): [number, number] {
  const rows = new KvRows(type, hd, count, (n) => new Float32Array(n));
  for (let i = 0; i < count; i++) rows.write(i, randomArray(rand, hd).map((x) => 3 * x), 0);
  const [data, scales] = rows.storedBytes(count);
  const at = alloc(data!.length);
  new Uint8Array(mem.buffer, at, data!.length).set(data!);
  if (!scales) return [at, 0];
  const sAt = alloc(scales.length);
  new Uint8Array(mem.buffer, sAt, scales.length).set(scales);
  return [at, sAt];
}

test('attendGroup_<k>_<v> gives each query the bits of its own per-head kernel (every format pair, 1-8 queries, odd counts, head sizes 8-128)', async () => {
  const { k, mem, alloc } = await kernels();
  const f32 = () => new Float32Array(mem.buffer);
  for (const kt of KV_TYPES) for (const vt of KV_TYPES) {
    const group = k[attendGroupName(kt, vt)] as unknown as GroupAttentionKernel;
    const perHead = kt === 'f32' && vt === 'f32'
      ? (o: number, q: number, ks: number, _kS: number, vs: number, _vS: number, n: number, hd: number, sc: number, a: number) => k.attendHead(o, q, ks, vs, n, hd, sc, a)
      : k[attendHeadKvName(kt, vt)] as unknown as KvAttentionKernel;
    for (const [queries, hd, count] of [[1, 64, 5], [2, 8, 1], [3, 64, 700], [3, 40, 65], [4, 72, 129], [5, 128, 63], [7, 64, 130], [8, 16, 3]] as const) {
      const [keys, kScales] = storeEntries(mem, alloc, kt, hd, count), [values, vScales] = storeEntries(mem, alloc, vt, hd, count);
      const q = alloc(4 * queries * hd), attStride = count + 3;
      f32().set(randomArray(rand, queries * hd), q / 4);
      const outA = alloc(4 * queries * hd), attA = alloc(4 * queries * attStride), outB = alloc(4 * queries * hd), attB = alloc(4 * queries * attStride);
      // Garbage first: the kernels must overwrite outputs and weights, not add to them.
      f32().fill(7, outB / 4, outB / 4 + queries * hd); f32().fill(7, attB / 4, attB / 4 + queries * attStride);
      const scale = 1 / Math.sqrt(hd);
      for (let g = 0; g < queries; g++) perHead(outA + 4 * g * hd, q + 4 * g * hd, keys, kScales, values, vScales, count, hd, scale, attA + 4 * g * attStride);
      group(outB, q, keys, kScales, values, vScales, count, hd, scale, attB, attStride, queries);
      const what = `${kt}/${vt}, ${queries} queries, head size ${hd}, ${count} entries`;
      const view = (at: number, n: number) => f32().subarray(at / 4, at / 4 + n);
      assertClose(view(outB, queries * hd), view(outA, queries * hd), `${what}: out`, 0, 0);
      for (let g = 0; g < queries; g++) assertClose(view(attB + 4 * g * attStride, count), view(attA + 4 * g * attStride, count), `${what}: att of query ${g}`, 0, 0);
    }
  }
});

// [query heads, KV heads, head size, entries]: SmolLM2, Qwen2.5 and TinyLlama groups, MHA, odd
// counts, and head sizes the wasm KV kernels refuse (12, 20: the pure-TS kernel; f32 keeps attendHead).
const SHAPES = [[9, 3, 64, 300], [14, 2, 64, 65], [32, 4, 64, 17], [6, 6, 48, 33], [5, 1, 40, 129], [4, 2, 12, 9], [6, 3, 20, 7], [3, 3, 8, 1]] as const;

/** Each query head over its KV head's entries, deferred and run as the backend does; returns [out, att]. */
function attendAll(b: Backend, kt: KvType, vt: KvType, shape: readonly number[], q: Float32Array, entries: Float32Array[][], defer: boolean): [Float32Array, Float32Array] {
  const [heads, kvHeads, hd, count] = shape as [number, number, number, number];
  const group = heads / kvHeads, stride = count + 1;
  const alloc = (n: number) => b.alloc(n);
  const rows = entries.map(([k, v]) => {
    const keys = new KvRows(kt, hd, count, alloc), values = new KvRows(vt, hd, count, alloc);
    for (let i = 0; i < count; i++) { keys.write(i, k!, i * hd); values.write(i, v!, i * hd); }
    return [keys, values] as const;
  });
  const bq = b.alloc(heads * hd), out = b.alloc(heads * hd), att = b.alloc(heads * stride);
  bq.set(q); out.fill(7); att.fill(7);
  for (let h = 0; h < heads; h++) {
    const [keys, values] = rows[Math.floor(h / group)]!;
    if (defer) deferAttendHeadKv(b, out, h * hd, bq, h * hd, keys, values, count, hd, 1 / Math.sqrt(hd), att, h * stride);
    else {
      // Today's path, one head at a time: attendHead for f32 entries, else the KV kernel or, where it refuses, the pure-TS one.
      deferAttendHeadKv(b, out, h * hd, bq, h * hd, keys, values, count, hd, 1 / Math.sqrt(hd), att, h * stride);
      runDeferredHeads(b);
    }
  }
  runDeferredHeads(b);
  const a = new Float32Array(heads * count);
  for (let h = 0; h < heads; h++) a.set(att.subarray(h * stride, h * stride + count), h * count);
  return [Float32Array.from(out), a];
}

test('deferred heads on 1 and 2 threads equal one head at a time, bit for bit, and the pure-TS backend within rounding (MHA and GQA, every format pair)', async () => {
  const backends: WasmBackend[] = [];
  for (const threads of [1, 2]) backends.push(await createWasmBackend({ initialBytes: 16 << 20, threads, alwaysShare: true }));
  try {
    for (const shape of SHAPES) {
      const [heads, kvHeads, hd, count] = shape;
      const q = randomArray(rand, heads * hd);
      const entries = Array.from({ length: kvHeads }, () => [randomArray(rand, count * hd).map((x) => 3 * x), randomArray(rand, count * hd)]);
      for (const kt of KV_TYPES) for (const vt of KV_TYPES) {
        const what = `${heads}/${kvHeads} heads of ${hd}, ${count} entries, ${kt}/${vt}`;
        const [refOut, refAtt] = attendAll(backends[0]!, kt, vt, shape, q, entries, false);
        for (const b of backends) {
          const [out, att] = attendAll(b, kt, vt, shape, q, entries, true);
          assertClose(out, refOut, `${what}, ${b.threads} threads: out`, 0, 0);
          assertClose(att, refAtt, `${what}, ${b.threads} threads: att`, 0, 0);
        }
        // q8 keys: the integer dot products round q per block (kv.test.ts's tolerance).
        const tol = kt === 'q8' ? 2e-4 : 2e-5;
        const [jsOut, jsAtt] = attendAll(jsBackend, kt, vt, shape, q, entries, true);
        assertClose(refOut, jsOut, `${what}: wasm vs pure TS out`, tol, tol);
        assertClose(refAtt, jsAtt, `${what}: wasm vs pure TS att`, tol, tol);
      }
    }
  } finally {
    for (const b of backends) await b.dispose();
  }
});

test('splitGroups: whole groups when they share out evenly, else each cut so that the largest thread home holds the fewest queries', () => {
  /** A table of `rows` groups of `queries` heads (addresses far apart), split for `threads`: each chunk's [first head, queries]. */
  const split = (rows: number, queries: number, threads: number): number[][] => {
    const hd = 64, count = 100, groups = new Float64Array(rows * HEAD_ARGS), table = new Int32Array(64 * HEAD_ARGS);
    for (let r = 0; r < rows; r++) {
      const t = r * HEAD_ARGS;
      groups[t + HeadArg.OUT] = 4 * hd * r * queries; groups[t + HeadArg.Q] = 1 << 20 | (4 * hd * r * queries);
      groups[t + HeadArg.ATT] = 1 << 24 | (4 * count * r * queries); groups[t + HeadArg.ATT_STRIDE] = count;
      groups[t + HeadArg.QUERIES] = queries; groups[t + HeadArg.COUNT] = count;
    }
    const chunks = splitGroups(groups, rows, threads, hd, table);
    return Array.from({ length: chunks }, (_, c) => {
      const t = c * HEAD_ARGS, head = table[t + HeadArg.OUT]! / (4 * hd);
      assert.is(table[t + HeadArg.Q]!, 1 << 20 | (4 * hd * head), 'q moves with out');
      assert.is(table[t + HeadArg.ATT]!, 1 << 24 | (4 * count * head), 'att moves by whole rows');
      return [head, table[t + HeadArg.QUERIES]!];
    });
  };
  assert.equal(split(3, 3, 2), [[0, 2], [2, 1], [3, 2], [5, 1], [6, 2], [8, 1]], 'SmolLM2 on 2 threads (homes of 5 and 4 queries)');
  assert.equal(split(3, 3, 1), [[0, 3], [3, 3], [6, 3]], 'SmolLM2 on 1 thread');
  assert.equal(split(3, 3, 3), [[0, 3], [3, 3], [6, 3]], 'SmolLM2 on 3 threads');
  assert.equal(split(3, 3, 4), [[0, 3], [3, 3], [6, 3]], 'SmolLM2 on 4 threads: whole groups (one head a chunk would give 3 queries a thread too)');
  assert.equal(split(2, 7, 2), [[0, 7], [7, 7]], 'Qwen2.5 on 2 threads');
  assert.equal(split(2, 7, 4), [[0, 4], [4, 3], [7, 4], [11, 3]], 'Qwen2.5 on 4 threads');
  assert.equal(split(4, 8, 2), [[0, 8], [8, 8], [16, 8], [24, 8]], 'TinyLlama on 2 threads');
  assert.equal(split(4, 8, 4), [[0, 8], [8, 8], [16, 8], [24, 8]], 'TinyLlama on 4 threads');
  assert.equal(split(3, 1, 2), [[0, 1], [1, 1], [2, 1]], 'MHA heads stay one a chunk');
  assert.equal(split(1, 3, 2), [[0, 2], [2, 1]], 'one group (a re-indexed state runs one KV head at a time)');
});

/**
 * Kernels that record each call ([export name, arguments]) and run it only if `real` is given: the
 * rows JobRunner forms, seen from the calls it makes (any address works when nothing runs).
 */
function recordingKernels(real?: KernelExports): { k: KernelExports; calls: [string, number[]][] } {
  const calls: [string, number[]][] = [];
  const k = new Proxy({} as KernelExports, {
    get: (_, name: string) => (...args: number[]) => {
      calls.push([name, args]);
      return real ? (real[name as keyof KernelExports] as unknown as (...a: number[]) => unknown)(...args) : undefined;
    },
  });
  return { k, calls };
}

interface Layout { heads: number; kvHeads: number; hd: number; count: number; out: number; q: number; keys: number; att: number; attStride: number }

/** Defers every head of `l` (query head h reads KV head h / (heads / kvHeads)) in `order`, then runs them. */
function deferLayout(jobs: JobRunner, l: Layout, order: readonly number[] = Array.from({ length: l.heads }, (_, h) => h), countOf = (_h: number) => l.count): void {
  const group = l.heads / l.kvHeads, entryBytes = 4 * l.count * l.hd;
  for (const h of order) {
    const kv = Math.floor(h / group);
    jobs.deferHead(l.out + 4 * h * l.hd, l.q + 4 * h * l.hd, l.keys + kv * 2 * entryBytes, 0, l.keys + (kv * 2 + 1) * entryBytes, 0, countOf(h), l.hd, 0.125, l.att + 4 * h * l.attStride, 0);
  }
  jobs.runDeferredHeads();
}

test('JobRunner forms a row per run of adjacent heads over the same entries (SmolLM2: 3 group calls), none for other layouts, also at addresses of 2 GiB and above', () => {
  const heap = new WasmHeap({ initialBytes: 1 << 20 });
  const smol = (base: number): Layout => ({ heads: 9, kvHeads: 3, hd: 64, count: 300, out: base, q: base + (1 << 20), keys: base + (2 << 20), att: base + (8 << 20), attStride: 301 });
  for (const base of [1 << 24, 2 ** 31 + (1 << 24), 2 ** 32 - (16 << 20)]) {
    const { k, calls } = recordingKernels(), jobs = new JobRunner(heap, k, null);
    const at = `at ${(base / 2 ** 30).toFixed(2)} GiB`;
    const l = smol(base);
    deferLayout(jobs, l);
    assert.equal(calls.map(([name, a]) => [name, a[0], a[11]]), [0, 1, 2].map((g) => ['attendGroup_f32_f32', l.out + 4 * 3 * g * l.hd, 3]), `SmolLM2 ${at}: one call a group (out, queries)`);
    assert.equal(calls.map(([, a]) => a[10]), [301, 301, 301], `${at}: the att stride`);
    const perHead = (what: string, order?: readonly number[], countOf?: (h: number) => number, layout = l): void => {
      calls.length = 0;
      deferLayout(jobs, layout, order, countOf);
      assert.equal(calls.map(([name]) => name), Array(9).fill('attendHead'), `${what} ${at}: no group, one call a head`);
      assert.equal(calls.map(([, a]) => a[0]).sort(), Array.from({ length: 9 }, (_, h) => layout.out + 4 * h * layout.hd).sort(), `${what} ${at}: every head once`);
    };
    perHead('heads deferred out of order (not adjacent)', [0, 2, 1, 3, 5, 4, 6, 8, 7]);
    perHead('entry counts differing', undefined, (h) => l.count - h);
    perHead('att rows overlapping (stride below the count)', undefined, undefined, { ...l, attStride: l.count - 1 });
    perHead('outputs overlapping the queries', undefined, undefined, { ...l, out: l.q + 4 * l.hd });
    perHead('MHA', undefined, undefined, { ...l, kvHeads: 9 });
  }
});

test('on 2 threads a worker runs whole groups: its scratch holds a group chunk\'s outputs, and the bits are one thread\'s', async () => {
  const { heap, k: real, pool } = await sharedKernelPool(1);
  try {
    // 8 query heads over 4 KV heads: on 2 threads, 4 chunks of 2 queries (homes of 4 and 4).
    const hd = 64, count = 300, heads = 8, queries = 2;
    const f32 = (n: number, fill = true): Float32Array => { const a = heap.f32(n); if (fill) a.set(randomArray(rand, n)); return a; };
    const q = f32(heads * hd), entries = f32(2 * 4 * count * hd), out = f32(heads * hd, false), ref = f32(heads * hd, false);
    const att = f32(heads * (count + 2), false), refAtt = f32(heads * (count + 2), false);
    const layout = (o: Float32Array, a: Float32Array): Layout => ({ heads, kvHeads: 4, hd, count, out: o.byteOffset, q: q.byteOffset, keys: entries.byteOffset, att: a.byteOffset, attStride: count + 2 });
    const alone = recordingKernels(real);
    deferLayout(new JobRunner(heap, alone.k, null), layout(ref, refAtt));
    assert.equal(alone.calls.map(([name, a]) => [name, a[11]]), Array(4).fill(['attendGroup_f32_f32', queries]), 'one thread: a call a group');
    const shared = new JobRunner(heap, real, pool);
    const ctrl = new Int32Array(pool.args.buffer, pool.args.byteOffset - 4 * Ctrl.ARG0, CTRL_INTS);
    deferLayout(shared, layout(out, att)); // the first job gives the worker its scratch
    const scratch = new Float32Array(heap.buffer, ctrl[Ctrl.SCRATCH]!, queries * hd);
    let seen = false;
    for (const deadline = Date.now() + 10_000; !seen && Date.now() < deadline;) {
      scratch.fill(NaN);
      deferLayout(shared, layout(out, att));
      assertClose(out, ref, 'outputs', 0, 0);
      assertClose(att, refAtt, 'attention weights', 0, 0);
      // The worker's last chunk is in its scratch: the outputs of both queries of one of the groups.
      for (let g = 0; g < heads / queries && !seen; g++) seen = scratch.every((v, i) => Object.is(v, out[g * queries * hd + i]));
    }
    assert.ok(seen, 'a worker ran a group chunk');
  } finally {
    await pool.stop();
  }
});

test.run();
