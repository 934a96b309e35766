// Run by runtimes.test.ts under Deno: loads models from paths (a llama2.c file, a GGUF file, a
// Hugging Face folder) while watching Deno's file API: which paths were read whole (Deno.readFile)
// and the length of every read from an opened file. Then checks each loaded model's logits equal
// those of the same model loaded from its bytes (read whole, after the watch). Prints one JSON line.
// Usage: deno run --allow-read … deno-read-probe.ts MODEL_PATH…
import { createState, loadModel, loadModelFiles, prefill } from '@msrnn/transformer';

interface DenoFile { readSync(into: Uint8Array): number | null }
interface DenoApi {
  readFile(path: string | URL): Promise<Uint8Array>;
  readFileSync(path: string | URL): Uint8Array;
  openSync(path: string | URL, opts?: object): DenoFile;
  open(path: string | URL, opts?: object): Promise<DenoFile>;
  readDirSync(path: string): Iterable<{ name: string; isFile: boolean }>;
  statSync(path: string): { isDirectory: boolean };
  args: string[];
}
const deno = (globalThis as unknown as { Deno: DenoApi }).Deno;

const whole: string[] = [];
const reads: [string, number][] = [];
const { readFile, readFileSync, openSync, open } = deno;
deno.readFile = (path) => { whole.push(String(path)); return readFile(path); };
deno.readFileSync = (path) => { whole.push(String(path)); return readFileSync(path); };
const watched = (path: string, file: DenoFile) => {
  const readSync = file.readSync.bind(file);
  file.readSync = (into) => { reads.push([path, into.length]); return readSync(into); };
  return file;
};
deno.openSync = (path, opts) => watched(String(path), openSync(path, opts));
deno.open = async (path, opts) => watched(String(path), await open(path, opts));

const loaded = [];
if (deno.args.length === 0) throw new Error('usage: deno-read-probe.ts MODEL_PATH…');
for (const path of deno.args) loaded.push({ path, model: await loadModel(path) });
const watch = { whole: [...whole], reads: [...reads] };
deno.readFile = readFile; deno.readFileSync = readFileSync; deno.openSync = openSync; deno.open = open;

/** The first logits after a two-token prompt, as a list. */
const firstLogits = (model: Awaited<ReturnType<typeof loadModel>>) => Array.from(prefill(model, createState(model), [1, 2]));
const models = [];
for (const { path, model } of loaded) {
  // The same model from bytes read whole (a file) or a map of its files' bytes (a folder).
  const fromBytes = deno.statSync(path).isDirectory
    ? await loadModelFiles(new Map([...deno.readDirSync(path)].filter((e) => e.isFile).map((e) => [e.name, deno.readFileSync(`${path}/${e.name}`)])))
    : await loadModel(await deno.readFile(path));
  models.push({ path, format: model.format, sameLogits: JSON.stringify(firstLogits(model)) === JSON.stringify(firstLogits(fromBytes)) });
}
console.log(JSON.stringify({ ...watch, models }));

