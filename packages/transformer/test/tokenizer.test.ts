// The heap-based BPE against a plain transcription of run.c's O(n²) loop, on real text with
// both the 512-piece and the Llama-2 32k tokenizers; whole-book encoding stays fast.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BOS, loadTokenizer, type Llama2cTokenizer as Tokenizer } from '../src/index.js';
import { haveShared, paths } from './shared.js';

/** run.c's encode(), transcribed literally: rescan all pairs, merge the best (leftmost on ties). */
function referenceEncode(tok: Tokenizer, text: string): number[] {
  const ids = new Map<string, number>();
  tok.pieces.forEach((p, i) => { if (!ids.has(p)) ids.set(p, i); });
  const lookup = (bytes: string): number => ids.get(bytes) ?? -1;
  const out = [BOS];
  if (text === '') return out;
  const tokens = [lookup(' ')];
  const bytes = new TextEncoder().encode(text);
  let buf = '';
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i]! & 0xc0) !== 0x80) buf = '';
    buf += String.fromCharCode(bytes[i]!);
    if (i + 1 < bytes.length && (bytes[i + 1]! & 0xc0) === 0x80 && buf.length < 4) continue;
    const id = lookup(buf);
    if (id !== -1) tokens.push(id);
    else for (let j = 0; j < buf.length; j++) tokens.push(buf.charCodeAt(j) + 3);
    buf = '';
  }
  for (;;) {
    let bestScore = -1e10, bestId = -1, bestIdx = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup(tok.pieces[tokens[i]!]! + tok.pieces[tokens[i + 1]!]!);
      if (id !== -1 && tok.scores[id]! > bestScore) { bestScore = tok.scores[id]!; bestId = id; bestIdx = i; }
    }
    if (bestIdx === -1) break;
    tokens.splice(bestIdx, 2, bestId);
  }
  return out.concat(tokens);
}

if (haveShared('tokenizer', paths.tokenizer, paths.llamaTokenizer, paths.book)) {
  const small = await loadTokenizer(paths.tokenizer);
  const llama = await loadTokenizer(paths.llamaTokenizer);
  const book = readFileSync(paths.book, 'utf8');

  test('encode == literal run.c algorithm on book excerpts and odd strings (tok512 and Llama-2 32k)', () => {
    const cases = [book.slice(0, 1500), book.slice(200_000, 200_800), 'aaaa aaaa  bbbb\n\n\t', 'ÀÉÎõü ßøæ 中文 😀👍🏽', '\u0001\u007f x'];
    for (const text of cases) {
      assert.equal(small.encode(text), referenceEncode(small, text), `tok512: ${JSON.stringify(text.slice(0, 30))}`);
    }
    for (const text of cases.slice(1)) {
      assert.equal(llama.encode(text), referenceEncode(llama, text), `llama: ${JSON.stringify(text.slice(0, 30))}`);
    }
  });

  test('a whole book encodes in seconds and decodes back to the same text', () => {
    const t0 = performance.now();
    const ids = small.encode(book);
    const ms = performance.now() - t0;
    assert.ok(ms < 15_000, `encoding ${book.length} chars took ${ms.toFixed(0)} ms`);
    assert.ok(ids.length > 100_000);
    assert.is(small.decode(ids), book);
  });

  test('encode options: no BOS, EOS appended; empty text is just BOS', () => {
    assert.equal(small.encode(''), [BOS]);
    assert.equal(small.encode('', { bos: false }), []);
    const ids = small.encode('hi', { bos: false, eos: true });
    assert.is(ids[ids.length - 1], 2);
    assert.not.ok(ids.includes(BOS));
    assert.is(small.lookup(' '), 410);
    assert.is(small.lookup('no such piece'), -1);
  });

  test('the Tokenizer interface: stream decoder after a prompt equals decode; checks; specials', () => {
    const prompt = small.encode('Once upon a time');
    const gen = small.encode(' there was a dog. 😀 The end', { bos: false });
    const d = small.createStreamDecoder({ prefix: prompt });
    const text = gen.map((t) => d.push(t)).join('') + d.flush();
    assert.is(text, small.decode(gen, { prev: prompt[prompt.length - 1] }));
    assert.is(small.decode([BOS, ...gen.slice(0, 2), 2], { skipSpecial: true }), small.decode(gen.slice(0, 2)));
    assert.ok(small.stopIds.has(1) && small.stopIds.has(2) && small.isSpecial(2) && !small.isSpecial(300));
    assert.is(small.bosId, 1);
    assert.is(small.addsBos, true);
    assert.is(small.tokenToId(' '), 410);
    assert.is(small.idToToken(410), ' ');
    assert.is(small.tokenText(410, 5), ' ');
    assert.is(small.tokenText(410), '', 'after BOS a piece loses its leading space (run.c)');
    assert.throws(() => small.encode(null as any), /encode\(\) takes a string, got null/);
    assert.throws(() => small.decode([512]), /token id 512 at index 0 is not an integer in 0\.\.511/);
    assert.throws(() => small.encode('x', { eos: 1 } as any), /option eos must be a boolean/);
  });
}

test.run();
