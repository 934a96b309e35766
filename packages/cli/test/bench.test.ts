// msrnn bench: every bad option fails at once with a line naming it (none of them may start a
// measurement that never ends or an allocation no heap can hold).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { msrnnOk } from './run-cli.js';

async function bench(args: string[]): Promise<void> {
  await msrnnOk('bench', ...args);
}

async function fails(args: string[], re: RegExp): Promise<void> {
  try {
    await bench(args);
  } catch (err: any) {
    assert.match(err.message, re, args.join(' '));
    return;
  }
  assert.unreachable(`expected ${re} for ${args.join(' ')}`);
}

/** A llama2.c v0 file of zeros (dim 16, 2 layers, 4/2 heads, vocab 32, context 8), named as bench expects. */
function tinyModelFolder(): string {
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = [16, 24, 2, 4, 2, 32, 8];
  const kvDim = (dim / heads) * kvHeads;
  const perLayer = 2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim;
  const floats = vocab * dim + layers * perLayer + dim + seqLen * (dim / heads);
  const bytes = new Uint8Array(28 + floats * 4);
  const header = new Int32Array(bytes.buffer, 0, 7);
  header.set([dim, hidden, layers, heads, kvHeads, vocab, seqLen]);
  const dir = mkdtempSync(join(tmpdir(), 'msrnn-bench-'));
  writeFileSync(join(dir, 'random-stories15M.bin'), bytes);
  return dir;
}

test('bad options are one clear error each, before any measurement', async () => {
  await fails(['--seconds', 'Infinity'], /--seconds must be a positive number, got "Infinity"/);
  await fails(['--seconds', '-1'], /--seconds must be a positive number/);
  await fails(['--threads', '99'], /--threads must be an integer from 1 to 64, got 99/);
  await fails(['--threads', '1,abc'], /--threads must be an integer from 1 to 64, got "abc"/);
  await fails(['--weights', 'q4'], /--weights: "q4" is not one of f32, f16, q8/);
  await fails(['--shapes', '7B'], /--shapes: "7B" is not one of 15M, 42M, 110M/);
  await fails(['--shapes', 'smollm2-135m', '--weights', 'q4'], /--weights: "q4" is not one of f32, f16, q8, q4_0, q4_k_m/);
  await fails(['--shapes', '15M', '--weights', 'q4_k_m'], /--weights: "q4_k_m" is not one of f32, f16, q8/);
  await fails(['--shapes', 'smollm2-135m', '--prompt', '0'], /--prompt must be a positive integer, got "0"/);
  // 1.1B parameters × 4 bytes: over what the loader reads, refused before a byte is written.
  await fails(['--shapes', 'tinyllama-1.1b', '--weights', 'f32', '--models', join(tmpdir(), 'no-such-folder')], /tinyllama-1\.1b in f32 would be a 4\.4 GB file; the wasm heap holds at most 4 GiB/);
  await fails(['--long-position', '100', '--bounded', '256'], /--bounded 256 must be at most half of --long-position 100/);
  await fails(['--models', join(tmpdir(), 'no-such-folder')], /random-stories15M\.bin does not exist; write it with/);
  // 2 layers × 8 KV floats × 2 (keys, values) × 4 bytes = 128 bytes per position: 2^25 positions is 4 GiB.
  await fails(['--models', tinyModelFolder(), '--no-js', '--threads', '1', '--long-position', String(2 ** 25)],
    /--long-position 33554432: the full state would need 4\.0 GiB \(at most 2 GiB\)/);
});

test.run();
