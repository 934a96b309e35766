// msrnn profile: self time per function from CPU profiles (checked on a profile written out here,
// counted by hand), the command on the repo's own model with two threads (the kernel worker's
// profile too), its saved .cpuprofile files, and one clear error per bad option. The runs that
// profile are child processes: the profiler changes a V8 flag of its whole process while attached.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isKernelWorker, selfTimes, spanOf } from '../src/profile/self-time.js';
import { inliningOffAtStart, type CpuProfile } from '../src/profile/all-threads.js';
import { msrnn, msrnnProcess, repoRoot } from './run-cli.js';

const model = ['--model', join(repoRoot, 'models/default/model.bin')];

/** A profile node: id, function, url, line, children. */
function node(id: number, functionName: string, url: string, lineNumber: number, children: number[] = []): CpuProfile['nodes'][number] {
  return { id, callFrame: { functionName, scriptId: '0', url, lineNumber, columnNumber: 0 }, children };
}

const file = (p: string) => pathToFileURL(join(repoRoot, p)).href;
// (root) → phase → step → matvec (wasm) and the js-to-wasm stub; the pool's run; GC under the root.
const profile: CpuProfile = {
  nodes: [
    node(1, '(root)', '', -1, [2, 6]),
    node(2, 'timedPhase', file('packages/cli/src/commands/profile.ts'), 111, [3, 7]),
    node(3, 'step', file('packages/transformer/dist/step.js'), 9, [4, 5]),
    node(4, 'matvec', 'wasm://wasm/00aa', 0),
    node(5, 'js-to-wasm:iiiiiii:', 'wasm://wasm/00aa', 0),
    node(6, '(garbage collector)', '', -1),
    node(7, 'run', file('packages/tensor/dist/threads/pool.js'), 199),
  ],
  startTime: 1000,
  endTime: 2000,
  // Sample times 1100, 1200, ..., 1900.
  samples: [6, 4, 4, 5, 3, 4, 7, 4, 6],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100],
};

test('self time: each sample counts once for its stack\'s top, grouped by kernel name and JS function', () => {
  const t = selfTimes(profile, repoRoot);
  assert.is(t.samples, 9);
  const rows = t.rows.map((r) => [r.name, r.where, r.kind, r.samples]);
  assert.equal(rows, [
    ['matvec', 'wasm', 'kernel', 4],
    ['(garbage collector)', '', 'gc', 2],
    ['(JS→wasm entry, from step)', 'wasm', 'wrapper', 1],
    ['step', 'packages/transformer/dist/step.js:10', 'js', 1],
    ['run', 'packages/tensor/dist/threads/pool.js:200', 'pool', 1],
  ]);
  assert.is(t.rows[0]!.share, 4 / 9);
  assert.is(t.byKind.kernel, 4 / 9);
  assert.is(t.byKind.pool, 1 / 9);
  assert.is(t.byKind.idle, 0);
});

test('self time within a window; the window of a function\'s samples', () => {
  // Samples under timedPhase (nodes 2, 3, 4, 5, 7): times 1200 .. 1800.
  assert.equal(spanOf(profile, 'timedPhase'), { start: 1200, end: 1800 });
  assert.equal(spanOf(profile, 'run'), { start: 1700, end: 1700 });
  assert.is(spanOf(profile, 'nothing'), null);
  const t = selfTimes(profile, repoRoot, { start: 1200, end: 1800 });
  assert.is(t.samples, 7);
  assert.equal(t.rows.map((r) => [r.name, r.samples]).slice(0, 2), [['matvec', 4], ['(JS→wasm entry, from step)', 1]]);
  assert.is(t.byKind.gc, 0);
});

test('a kernel worker is a thread that ran the thread pool\'s code', () => {
  assert.ok(isKernelWorker(profile));
  assert.not.ok(isKernelWorker({ ...profile, nodes: profile.nodes.filter((n) => !n.callFrame.url.includes('threads')) }));
});

test('a sample naming a node the profile lacks is an error', () => {
  assert.throws(() => selfTimes({ ...profile, samples: [4, 99] }, repoRoot), /sample 1 names node 99/);
});

test('msrnn profile on two threads: kernels by name on the main thread and the kernel worker; --save writes the profiles', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-profile-'));
  try {
    // --always-share: the workers take their share of the jobs even on a busy machine.
    // --save names a folder not there yet: it is created.
    const saveDir = join(dir, 'profiles');
    const r = msrnnProcess(['profile', ...model, '--threads', '2', '--always-share', '--prompt', '256', '--decode', '48', '--interval', '50', '--top', '40', '--save', saveDir, '--json', join(dir, 'profile.json')]);
    assert.is(r.status, 0, r.stderr);
    const sections = r.stdout.split(/\n## /).slice(1);
    assert.equal(sections.map((s) => s.split(':')[0]), ['prompt', 'decode']);
    for (const s of sections) {
      const main = s.slice(s.indexOf('main thread:'), s.indexOf('kernel worker'));
      const rows = [...main.matchAll(/^\| (\S[^|]*) \| ([^|]*) \| ([\d.]+) % \| [\d.]+ \|$/gm)].map((m) => ({ name: m[1]!.trim(), where: m[2]!.trim(), share: Number(m[3]) }));
      assert.ok(rows.length > 3, s);
      // The prompt runs as matrices (matmulT), a decode step as matrix-vector products.
      assert.ok(rows.some((x) => x.name === (s.startsWith('prompt') ? 'matmulT' : 'matvec') && x.where === 'wasm'), s);
      assert.not.ok(rows.some((x) => /wasm-function\[/.test(x.name)), 'unnamed wasm functions');
      const total = rows.reduce((a, x) => a + x.share, 0);
      // Printed to 0.1 %: each row may be 0.05 off.
      assert.ok(total > 90 && total < 100 + 0.05 * rows.length, `shares add up to ${total}`);
      assert.match(s, /\nkernel worker \[worker \d+\]: \d+ samples; /);
      // A prompt's matmuls are long enough for the worker to take chunks even on a busy machine
      // (a decode step's tiny matvecs here may all be done by the caller before it wakes).
      if (s.startsWith('prompt')) assert.match(s.slice(s.indexOf('kernel worker')), /\| matmulT \| wasm \|/);
      // The worker's loop: waiting in nextJob (or what V8 compiled it into: runKernelWorker, worker-node's top level).
      assert.match(s.slice(s.indexOf('kernel worker')), /\| (nextJob|runKernelWorker|\(anonymous\)) \| packages\/tensor\/src\/threads\/(kernel-worker|worker-node)\.ts(:\d+)? \|/);
    }
    // The JSON holds every row; its largest ones are the printed table's, and each thread's shares add up to 1.
    const json = JSON.parse(readFileSync(join(dir, 'profile.json'), 'utf8')) as { run: { threads: number }; phases: Array<{ phase: string; threads: Array<{ thread: string; samples: number; rows: Array<{ name: string; samples: number; share: number }> }> }> };
    assert.is(json.run.threads, 2);
    assert.equal(json.phases.map((p) => p.phase), ['prompt', 'decode']);
    for (const [i, p] of json.phases.entries()) {
      assert.is(p.threads[0]!.thread, 'main thread');
      for (const t of p.threads) {
        assert.ok(Math.abs(t.rows.reduce((a, r) => a + r.share, 0) - 1) < 1e-9, `${p.phase} ${t.thread}`);
        assert.is(t.rows.reduce((a, r) => a + r.samples, 0), t.samples);
      }
      assert.match(sections[i]!, `\n| ${p.threads[0]!.rows[0]!.name} | `);
    }
    const saved = readdirSync(saveDir).sort();
    assert.ok(saved.includes('decode-main.cpuprofile') && saved.includes('prompt-main.cpuprofile'), saved.join(' '));
    assert.ok(saved.some((f) => /^decode-worker-\d+\.cpuprofile$/.test(f)), saved.join(' '));
    const decode = JSON.parse(readFileSync(join(saveDir, 'decode-main.cpuprofile'), 'utf8')) as CpuProfile;
    assert.ok(decode.nodes.some((n) => n.callFrame.functionName === 'matvec' && n.callFrame.url.startsWith('wasm://')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('options a run does not use are one warning each, and the run goes on', () => {
  const r = msrnnProcess(['profile', ...model, '--threads', '1', '--always-share', '--prompt', '16', '--decode', '0', '--warmup', '4', '--interval', '50']);
  assert.is(r.status, 0, r.stderr);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('warning'));
  assert.equal(warnings, [
    'msrnn profile: warning: --warmup 4 is ignored with --decode 0 (the prompt\'s warm-up prefill runs anyway)',
    'msrnn profile: warning: --always-share is ignored: the wasm backend runs one thread (no workers to share with)',
  ]);
  assert.match(r.stdout, /\n## prompt: 16 tokens/);
});

test('JS→wasm inlining is left off after a run only when the process was started with it off', () => {
  assert.not.ok(inliningOffAtStart([], ''));
  assert.ok(inliningOffAtStart(['--no-turbo-inline-js-wasm-calls'], ''));
  assert.ok(inliningOffAtStart([], '--max-old-space-size=4096 --no_turbo_inline_js_wasm_calls'));
  assert.ok(inliningOffAtStart(['--noturbo-inline-js-wasm-calls'], ''));
  // The last one given wins; the command line comes after NODE_OPTIONS.
  assert.not.ok(inliningOffAtStart(['--turbo-inline-js-wasm-calls'], '--no-turbo-inline-js-wasm-calls'));
  assert.ok(inliningOffAtStart(['--turbo-inline-js-wasm-calls', '--no-turbo-inline-js-wasm-calls'], ''));
  assert.not.ok(inliningOffAtStart(['--no-turbo-inline-js-wasm-calls-other'], ''));
});

test('bad options are one clear error each, before anything runs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-profile-'));
  const aFile = join(dir, 'a-file');
  writeFileSync(aFile, '');
  for (const [args, error] of [
    [['--prompt', '0', '--decode', '0'], '--prompt 0 and --decode 0 leave nothing to profile'],
    [['--prompt', '-3'], '--prompt: "-3" is not a non-negative integer'],
    [['--decode', 'many'], '--decode: "many" is not a non-negative integer'],
    [['--interval', '5'], '--interval: 5 µs is outside 10 to 100000'],
    [['--interval', '1e9'], '--interval: "1e9" is not a positive integer'],
    [['--top', '0'], '--top: "0" is not a positive integer'],
    [['--weights', 'q3'], '--weights'],
    [['--prompt-activations', 'int4'], '--prompt-activations'],
    [['--threads', '0'], '--threads'],
    [['--backend', 'js', '--threads', '2'], '--threads 2 needs the wasm backend (--backend js is single-threaded)'],
    // More threads than cores: the refusal alone, not also the too-many-cores warning.
    [['--backend', 'js', '--threads', '64'], '--threads 64 needs the wasm backend (--backend js is single-threaded)'],
    // A refused --json leaves no --save folder behind.
    [['--save', join(dir, 'not-made'), '--json', join(dir, 'missing', 'p.json')], `--json ${join(dir, 'missing', 'p.json')}: the folder ${join(dir, 'missing')} does not exist`],
    [['--model', join(repoRoot, 'no-such-model.bin')], `--model ${join(repoRoot, 'no-such-model.bin')}: no such file or folder`],
    [['--save', join(aFile, 'profiles')], `--save ${join(aFile, 'profiles')}: cannot create the folder (ENOTDIR)`],
    [['--json', join(dir, 'missing', 'p.json')], `--json ${join(dir, 'missing', 'p.json')}: the folder ${join(dir, 'missing')} does not exist`],
    [['--json', dir], `--json ${dir} is a folder; give a file name`],
  ] as const) {
    const r = await msrnn('profile', ...(args[0] === '--model' ? [] : model), ...args);
    assert.is(r.status, 1, `${args.join(' ')}: ${r.stdout}`);
    assert.ok(r.stderr.includes(error), `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    // Refused before the profile starts: nothing ran, nothing was printed.
    assert.is(r.stdout, '', `${args.join(' ')}: ${r.stdout}`);
  }
  assert.not.ok(existsSync(join(dir, 'not-made')), 'a refused call made no --save folder');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
