// fnv1a (the state files' checksum and the model fingerprint's hash) against the FNV-1a 32-bit
// reference vectors of its authors' test suite, and continued over pieces (a running hash above
// 2^31, which the loop keeps as an int32) equal to one pass over the whole.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fnv1a } from '../src/index.js';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('fnv1a: the reference vectors', () => {
  assert.is(fnv1a(bytes('')), 0x811c9dc5);
  assert.is(fnv1a(bytes('a')), 0xe40c292c);
  assert.is(fnv1a(bytes('foobar')), 0xbf9cf968);
});

test('fnv1a: continued piece by piece it equals one pass, and stays an unsigned 32-bit value', () => {
  const all = new Uint8Array(1000).map((_, i) => (i * 97 + 13) & 255);
  const whole = fnv1a(all);
  for (const cut of [1, 7, 500, 999]) assert.is(fnv1a(all.subarray(cut), fnv1a(all.subarray(0, cut))), whole, `cut at ${cut}`);
  assert.ok(Number.isInteger(whole) && whole >= 0 && whole < 2 ** 32);
  assert.ok(fnv1a(bytes('foobar')) > 2 ** 31, 'a hash above 2^31 comes back unsigned');
});

test.run();
