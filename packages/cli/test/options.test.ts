// Command-line options: parsed here (the CLI), range-checked by the libraries' own checks called
// with the flag's name; the libraries themselves know nothing of flags.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clockSeed, samplerSettings } from '@msrnn/transformer';
import { numberOrRaw, integerOrRaw, parseCapacity, parseRatio, parseThreads, parseWeightType, parseBackendChoice, defaultDecodeThreads, selectBackendFor } from '../src/options.js';
import { version } from '../src/cli.js';
import { msrnn, repoRoot } from './run-cli.js';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('the libraries contain no --flag wording (comments aside): flags are the CLI\'s', () => {
  for (const pkg of ['tensor', 'msrnn', 'policies', 'transformer']) {
    for (const file of sources(resolve(repoRoot, 'packages', pkg, 'src'))) {
      const code = readFileSync(file, 'utf8').replace(/\/\*[^]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
      const hit = /--[a-z][a-z-]*/.exec(code);
      assert.is(hit, null, `${file}: ${hit?.[0]}`);
    }
  }
});

test('flag values: text becomes a number or stays text; the library check names the flag and quotes bad text', () => {
  assert.is(numberOrRaw('0.5'), 0.5);
  assert.is(numberOrRaw(''), '');
  assert.is(numberOrRaw('1,2'), '1,2');
  assert.is(integerOrRaw(' 12 '), 12);
  assert.is(integerOrRaw('1e3'), '1e3');
  assert.is(parseCapacity('--capacity', 'inf'), Infinity);
  assert.is(parseCapacity('--capacity', '64'), 64);
  assert.throws(() => parseCapacity('--capacity', '1e3'), /^--capacity must be a positive integer or Infinity, got "1e3"$/);
  assert.throws(() => parseCapacity('--capacity', '-4'), /^--capacity must be a positive integer or Infinity, got -4$/);
  assert.throws(() => parseRatio('--ratio', ''), /^--ratio must be in \(0, 1\], got ""$/);
  assert.is(parseRatio('--ratio', '0.25'), 0.25);
  assert.throws(() => parseWeightType('--weights', 'q4'), /^--weights must be one of f32, f16, q8, got "q4"$/);
  assert.throws(() => parseBackendChoice('gpu'), /^--backend must be one of js, wasm, auto, got "gpu"$/);
  assert.throws(() => parseThreads('--threads', '1.5', () => {}), /^--threads must be an integer from 1 to 64, got "1\.5"$/);
});

test('--threads above the core count is allowed with a warning (and the help says so)', async () => {
  const cores = availableParallelism();
  const warnings: string[] = [];
  assert.is(parseThreads('--threads', String(cores), (w) => warnings.push(w)), cores);
  assert.equal(warnings, []);
  if (cores < 64) {
    assert.is(parseThreads('--threads', String(cores + 1), (w) => warnings.push(w)), cores + 1);
    assert.equal(warnings, [`warning: --threads ${cores + 1} is more than the ${cores} cores here; the extra threads wait for a core and make every step slower`]);
  }
  const help = await msrnn('generate', '--help');
  assert.is(help.status, 0);
  const flat = help.stdout.replace(/\s+/g, ' ');
  assert.match(flat, new RegExp(`--threads <n> threads for the wasm backend, 1 to 64 \\(default: one per core, at most 4: here ${Math.min(cores, 4)};`));
  assert.match(flat, new RegExp(`more than the cores, here ${cores}, warns`));
});

test('sampler options: one rule each, named as the caller names them; one clock seed', async () => {
  assert.throws(() => samplerSettings({ topP: 1.5 }), /^topP must be in \(0, 1\], got 1\.5$/);
  assert.throws(() => samplerSettings({ topP: 1.5 }, { topP: '--top-p' }), /^--top-p must be in \(0, 1\], got 1\.5$/);
  const s = clockSeed();
  assert.ok(Number.isSafeInteger(s) && s >= 1 && s <= 2147483647);
  assert.is(samplerSettings({ seed: 5 }).seed, 5);
  const r = await msrnn('generate', '--top-p', '1.5');
  assert.is(r.status, 1);
  assert.is(r.stderr, 'msrnn: --top-p must be in (0, 1], got 1.5\n');
  const k = await msrnn('generate', '--top-k', 'x');
  assert.is(k.stderr, 'msrnn: --top-k must be a non-negative integer, got "x"\n');
});

test('msrnn --version prints the package version', async () => {
  const r = await msrnn('--version');
  assert.is(r.status, 0);
  assert.is(r.stdout, `${version()}\n`);
  assert.is(version(), JSON.parse(readFileSync(resolve(repoRoot, 'packages/cli/package.json'), 'utf8')).version);
});

test('--threads not given: one per core, at most 4, never more than the cores; 1 on the pure-TS backend', async () => {
  const cores = availableParallelism();
  assert.is(defaultDecodeThreads(), Math.max(1, Math.min(cores, 4)));
  const lines: string[] = [];
  const js = await selectBackendFor({ backend: 'js' }, (l) => lines.push(l));
  assert.is(js.threads, 1);
  const auto = await selectBackendFor({ backend: 'auto' }, (l) => lines.push(l));
  try {
    assert.ok(auto.threads >= 1 && auto.threads <= Math.min(cores, 4), `auto picked ${auto.threads}`);
    if (auto.backend.name === 'wasm' && !auto.note) assert.is(auto.threads, defaultDecodeThreads());
  } finally {
    await auto.dispose();
  }
  assert.equal(lines.filter((l) => /more than the/.test(l)), [], 'the default never warns');
});

test.run();
