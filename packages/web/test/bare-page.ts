// Chromium's decode without the page: an empty cross-origin isolated page on the page's server
// starts bare-decode-worker.ts (bundled beside the page's kernel worker), hands it the model file
// (picked with a file input, as a user picks it) and times the same decode as Node's.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as assert from 'uvu/assert';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { distDir } from '../build.js';
import type { ThreadJobs } from './decode-loop.js';

/** Bundles the bare worker and its empty page into the built page's folder (after buildPage). */
export async function buildBarePage(): Promise<void> {
  await build({
    entryPoints: { 'bare-decode-worker': resolve(import.meta.dirname, 'bare-decode-worker.ts') },
    outdir: distDir, bundle: true, format: 'esm', platform: 'browser', target: 'es2022', conditions: ['source'], minify: true, logLevel: 'warning',
  });
  writeFileSync(join(distDir, 'bare.html'), '<!doctype html><meta charset="utf-8"><title>bare decode</title><input type="file" id="file">\n');
}

/** One timed decode: tokens per second of wall time, the greedy tokens, the jobs shared with the workers. */
export interface Decoded { tokPerS: number; tokens: number[]; threadJobs: ThreadJobs }

export interface BareDecoder {
  /** One timed decode of `steps` greedy tokens after the prompt. */
  decode(steps: number): Promise<Decoded>;
  close(): Promise<void>;
}

/** Loads `modelFile` in a bare worker of `page` (opened on the isolated server's bare.html) on wasm × `threads`, to decode after `prompt` (token ids). */
export async function startBareDecoder(page: Page, modelFile: string, threads: number, prompt: number[]): Promise<BareDecoder> {
  assert.ok(await page.evaluate(() => crossOriginIsolated), 'the bare page is cross-origin isolated (threads need it)');
  await page.setInputFiles('#file', modelFile);
  const call = (message: 'load' | { steps: number; prompt: number[] }) => page.evaluate(async ([m, t]) => {
    const w = ((window as any).bareWorker ??= new Worker('bare-decode-worker.js', { type: 'module' })) as Worker;
    const reply = new Promise<any>((ok) => { w.onmessage = (e) => ok(e.data); });
    w.postMessage(m === 'load' ? { file: (document.getElementById('file') as HTMLInputElement).files![0], threads: t } : m);
    return reply;
  }, [message, threads] as const);
  const ready = await call('load');
  assert.is(ready.error, undefined, `bare worker: ${ready.error}`);
  assert.is(ready.ready, threads, 'the bare worker runs the threads asked for');
  return {
    async decode(steps) {
      const r = await call({ steps, prompt });
      assert.is(r.error, undefined, `bare worker: ${r.error}`);
      return r;
    },
    close: () => page.close(),
  };
}
