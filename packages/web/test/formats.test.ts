// The page's model formats (src/formats.ts), in Node, from Files as the page's worker reads them
// (src/sources.ts): a llama2.c pair in any order, a lone llama2.c model with the default tokenizer,
// a GGUF file with its own tokenizer, a Hugging Face folder — each generates the stories260K greedy
// fixture, its model file read in slices (never whole), the progress counting each byte once;
// unknown or incomplete input is a clear error.
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWasmBackend, jsBackend } from '@msrnn/tensor';
import { argmax, bytesSource, createState, prefill, step } from '@msrnn/transformer';
import { haveShared, paths, shared } from '../../transformer/test/shared.js';
import { filesToRead, loadFiles, type Loaded } from '../src/formats.js';
import { Coverage, pickedSources } from '../src/sources.js';

/** Asserts that `p` rejects with an error matching `re`. */
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  const err = await p.then(() => null, (e: Error) => e);
  assert.ok(err, `expected a rejection matching ${re}`);
  assert.match(err!.message, re);
}

const ggufPath = resolve(shared, 'models/gguf/stories260K-F32.gguf');
const greedyPath = resolve(paths.fixtures, 'greedy.json');
const hfFolder = resolve(paths.hfModels, 'stories260K');

if (haveShared('formats', paths.model, paths.tokenizer, paths.llamaTokenizer, ggufPath, greedyPath, hfFolder)) {
  const run0 = JSON.parse(readFileSync(greedyPath, 'utf8')).runs[0];
  const model = new Uint8Array(readFileSync(paths.model)), tok = new Uint8Array(readFileSync(paths.tokenizer));
  const greedy = ({ model: m, tokenizer }: Loaded) => {
    const prompt = tokenizer.encode(run0.prompt);
    assert.equal(prompt, run0.prompt_tokens);
    const state = createState(m);
    let logits = prefill(m, state, prompt);
    const out: number[] = [];
    for (let i = 0; i < 32; i++) { out.push(argmax(logits)); logits = step(m, state, out.at(-1)!); }
    assert.equal(out, run0.generated_tokens.slice(0, 32));
  };

  /**
   * The files as the page's worker gets them (src/sources.ts: picked Files as byte sources with a
   * progress count), each File a spy: reading it whole (arrayBuffer, stream, text, bytes) throws,
   * and every slice's length is recorded, so a load that passes read the files in slices.
   */
  const picked = (entries: [string, Uint8Array][], folder?: string) => {
    const slices = new Map<string, number[]>(), progress: [string, number, number][] = [];
    const files = entries.map(([name, bytes]) => {
      const f = new File([bytes as Uint8Array<ArrayBuffer>], name), lengths: number[] = [];
      slices.set(name, lengths);
      for (const whole of ['arrayBuffer', 'stream', 'text', 'bytes']) Object.defineProperty(f, whole, { value: () => { throw new Error(`${name} was read whole (${whole})`); } });
      const slice = f.slice.bind(f);
      Object.defineProperty(f, 'slice', { value: (start = 0, end = f.size) => { lengths.push(end - start); return slice(start, end); } });
      return f;
    });
    return { files: pickedSources(files, folder, (...p) => progress.push(p)), slices, progress };
  };
  /**
   * The model file was read in slices smaller than itself, and the progress counted each byte read
   * once: all of the files' `total`, but for `unread` bytes the loader skips.
   */
  const readInSlices = ({ slices, progress }: ReturnType<typeof picked>, modelFile: string, size: number, total: number, unread = 0) => {
    const lengths = slices.get(modelFile)!;
    assert.ok(lengths.length > 1 && Math.max(...lengths) < size, `${modelFile}: ${lengths.length} slices, the largest ${Math.max(...lengths)} of ${size} bytes`);
    const [loaded, of] = progress.at(-1)!.slice(1) as [number, number];
    assert.is(of, total);
    assert.ok(loaded <= total && loaded >= total - unread, `progress ${loaded} of ${total}, ${unread} bytes left unread at most`);
  };

  test('llama2.c: model and tokenizer in either order, read in slices', async () => {
    for (const entries of [[['stories260K.bin', model], ['tok512.bin', tok]], [['tok512.bin', tok], ['stories260K.bin', model]]] as [string, Uint8Array][][]) {
      const p = picked(entries);
      const loaded = await loadFiles(p.files, jsBackend);
      assert.is(loaded.format, 'llama2.c');
      assert.is(loaded.model.source, 'stories260K.bin');
      greedy(loaded);
      // A v0 checkpoint's RoPE tables (seqLen × headDim floats, recomputed by the loader) are not read.
      const c = loaded.model.config;
      readInSlices(p, 'stories260K.bin', model.length, model.length + tok.length, c.seqLen * (c.dim / c.nHeads) * 4);
    }
  });

  test('llama2.c: a lone model takes the fallback tokenizer, or says it needs one; bytes in memory load too (the default model)', async () => {
    greedy(await loadFiles(picked([['m.bin', model]]).files, jsBackend, tok));
    await rejects(loadFiles(picked([['m.bin', model]]).files, jsBackend), /needs its tokenizer \.bin too/);
    greedy(await loadFiles(new Map([['model.bin', bytesSource(model, 'model.bin')], ['tokenizer.bin', bytesSource(tok, 'tokenizer.bin')]]), jsBackend));
  });

  test('GGUF: one file with its embedded tokenizer, read in slices', async () => {
    const bytes = new Uint8Array(readFileSync(ggufPath));
    const p = picked([['stories260K-F32.gguf', bytes]]);
    const loaded = await loadFiles(p.files, jsBackend);
    assert.is(loaded.format, 'GGUF');
    greedy(loaded);
    const lengths = p.slices.get('stories260K-F32.gguf')!;
    assert.ok(lengths.length > 1 && Math.max(...lengths) < bytes.length, `${lengths.length} slices, the largest ${Math.max(...lengths)} of ${bytes.length} bytes`);
  });

  /** The folder as the page gets it: every file's name and bytes, then filesToRead picks what is read. */
  const folderFiles = (extra: [string, Uint8Array][] = []) => {
    const all = new Map<string, Uint8Array>([...readdirSync(hfFolder).map((n) => [n, new Uint8Array(readFileSync(resolve(hfFolder, n)))] as [string, Uint8Array]), ...extra]);
    return new Map(filesToRead([...all.keys()]).map((n) => [n, all.get(n)!]));
  };

  test('Hugging Face folder (stories260K as HF): its own tokenizer.json, the greedy fixture; only model and tokenizer files are read, the weights in slices', async () => {
    const files = folderFiles([['README.md', new TextEncoder().encode('# notes')], ['pytorch_model.bin', model]]);
    assert.equal([...files.keys()].sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const p = picked([...files], 'stories260K');
    const loaded = await loadFiles(p.files, jsBackend, tok, 'stories260K');
    assert.is(loaded.format, 'Hugging Face folder');
    assert.is(loaded.model.source, 'stories260K');
    greedy(loaded);
    readInSlices(p, 'model.safetensors', files.get('model.safetensors')!.length, [...files.values()].reduce((n, b) => n + b.length, 0));
  });

  test('Hugging Face folder, bad input: truncated weights, no tokenizer.json, broken config.json, the same name twice', async () => {
    const files = folderFiles();
    const load = (f: Map<string, Uint8Array>) => loadFiles(picked([...f], 'stories260K').files, jsBackend, undefined, 'stories260K');
    await rejects(load(new Map(files).set('model.safetensors', files.get('model.safetensors')!.subarray(0, 5000))), /stories260K\/model\.safetensors/);
    const noTok = new Map(files);
    noTok.delete('tokenizer.json');
    await rejects(load(noTok), /stories260K: the folder has no tokenizer\.json/);
    await rejects(load(new Map(files).set('config.json', new TextEncoder().encode('{"model_type": "llama",'))), /stories260K\/config\.json: invalid JSON/);
    assert.throws(() => filesToRead(['config.json', 'model.safetensors', 'config.json']), /two files are named "config\.json"/);
    assert.throws(() => filesToRead([]), /no files given/);
  });

  test('a model whose tokenizer is refused gives its memory back (llama2.c with a 32000-token tokenizer, HF folder with a broken tokenizer.json)', async () => {
    const wasm = await createWasmBackend();
    try {
      const wrongTok = new Uint8Array(readFileSync(paths.llamaTokenizer));
      const before = wasm.heap.usedBytes;
      await rejects(loadFiles(picked([['m.bin', model], ['tokenizer.bin', wrongTok]]).files, wasm), /32000|vocab/i);
      assert.is(wasm.heap.usedBytes, before, 'llama2.c: the refused model stayed on the heap');
      const folder = new Map(readdirSync(hfFolder).map((n) => [n, n === 'tokenizer.json' ? new TextEncoder().encode('{ not json') : new Uint8Array(readFileSync(resolve(hfFolder, n)))] as [string, Uint8Array]));
      await rejects(loadFiles(picked([...folder], 'stories260K').files, wasm, undefined, 'stories260K'), /tokenizer\.json/);
      assert.is(wasm.heap.usedBytes, before, 'HF folder: the refused model stayed on the heap');
    } finally {
      await wasm.dispose();
    }
  });

  test('a picked file that can no longer be read (the browser\'s NotReadableError): the error names it and what was read', async () => {
    const gone = new File([model], 'm.bin');
    Object.defineProperty(gone, 'slice', { value: () => ({ arrayBuffer: () => Promise.reject(new DOMException('The requested file could not be read', 'NotReadableError')) }) });
    const files = pickedSources([gone, new File([tok], 'tokenizer.bin')], 'stories', () => {});
    await rejects(loadFiles(files, jsBackend), /^stories\/m\.bin: cannot read the file's first bytes \(bytes \[0, 4\)\): NotReadableError \(The requested file could not be read\)$/);
  });

  test('bad input: no files, three files, a text file', async () => {
    await rejects(loadFiles(new Map(), jsBackend), /no files given/);
    await rejects(loadFiles(picked([['a', tok], ['b', tok], ['c', tok]]).files, jsBackend), /not a model format the page knows/);
    await rejects(loadFiles(picked([['notes.txt', new TextEncoder().encode('hello world, this is not a model at all')]]).files, jsBackend), /notes\.txt/);
  });
}

test('progress counts distinct bytes: overlapping and touching reads merge', () => {
  const c = new Coverage();
  assert.equal([c.add(0, 4), c.add(0, 10), c.add(20, 30), c.add(10, 20), c.add(5, 25), c.add(40, 41)], [4, 6, 10, 10, 0, 1]);
  assert.is(c.covered, 31);
});

test.run();
