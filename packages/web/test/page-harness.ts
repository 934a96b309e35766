// The page under test: built, served on localhost with and without COOP/COEP, opened in Debian's
// Chromium (playwright-core); helpers to open it with settings, pick model files or a folder,
// and run a generation. Shared by the page and speed tests.
import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Page } from 'playwright-core';
import { buildPage } from '../build.js';
import { servePage } from '../serve.js';
import { CHROMIUM, launchChromium } from './chromium.js';

/** False (after registering a test that fails in CI and warns locally) when Debian's chromium is missing. */
export function haveChromium(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  test(`${suite}: chromium`, () => {
    if (process.env.CI) assert.unreachable(`${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
    console.warn(`${suite} tests SKIPPED: ${CHROMIUM} missing (apt-get install chromium)`);
  });
  return false;
}

export interface Pick { files?: string[]; folder?: string; source: string }
/** A worker's reads of picked Files: whole (arrayBuffer, stream, text, bytes of the File itself) and slices (name, length). */
export interface FileReads { whole: [string, string][]; slices: [string, number][] }

export interface Harness {
  isolatedUrl: string;
  plainUrl: string;
  /** Uncaught errors of every page opened. */
  errors: string[];
  open(base: string, params: Record<string, string | number>, pick?: Pick): Promise<Page>;
  /** A new tab on `url`, its uncaught errors in `errors`. */
  newPage(url: string): Promise<Page>;
  /** Picks those files or that folder in an open page and waits until they are loaded. */
  pick(page: Page, pick: Pick): Promise<void>;
  /**
   * Drops files or folders from disk on the page as a user's drag from a file manager does: through
   * Chromium's own input pipeline (CDP Input.dispatchDragEvent), so the drop's DataTransfer holds
   * real entries (webkitGetAsEntry: a folder is a FileSystemDirectoryEntry). Does not wait for a load.
   */
  drop(page: Page, paths: string[]): Promise<void>;
  /** Spies on the generation worker's reads of picked Files from now on; the result says what was read. */
  spyReads(page: Page): Promise<() => Promise<FileReads>>;
  generate(page: Page): Promise<{ tokens: number[]; hash: string; tokPerS: number }>;
  close(): Promise<void>;
}

/** Builds and serves the page, launches Chromium. */
export async function startHarness(): Promise<Harness> {
  const dist = await buildPage();
  const servers: Server[] = [];
  const urls: string[] = [];
  for (const isolated of [true, false]) {
    const server = await servePage({ dir: dist, port: 0, isolated });
    servers.push(server);
    urls.push(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
  }
  const chromium = await launchChromium();
  const errors: string[] = [];
  const pickIn = async (page: Page, pick: Pick) => {
    if (pick.folder) await page.setInputFiles('#folder', pick.folder);
    else await page.setInputFiles('#file', pick.files!);
    await page.waitForFunction((s) => (window as any).msrnnPage.info?.source === s || (window as any).msrnnPage.error, pick.source, { timeout: 120_000 });
    assert.is(await page.evaluate(() => (window as any).msrnnPage.error), '', 'page error while loading');
  };
  const newPage = async (url: string) => {
    const page = await chromium.context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    return page;
  };
  return {
    isolatedUrl: urls[0]!, plainUrl: urls[1]!, errors, newPage,
    /** Opens the page with `params` (URL query: control values); with `pick`, loads those files or that folder and waits until loaded. */
    async open(base, params, pick) {
      const page = await newPage(`${base}?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`);
      await page.waitForFunction(() => (window as any).msrnnPage.info !== null || (window as any).msrnnPage.error, null, { timeout: 60_000 });
      if (pick) await pickIn(page, pick);
      return page;
    },
    pick: pickIn,
    async drop(page, paths) {
      const cdp = await page.context().newCDPSession(page);
      const data = { items: [], files: paths, dragOperationsMask: 1 };
      for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, x: 200, y: 200, data });
      await cdp.detach();
    },
    async spyReads(page) {
      const worker = page.workers().find((w) => w.url().includes('gen-worker'));
      assert.ok(worker, 'the generation worker is running');
      // Blob.prototype in the worker's realm: File reads made there (the loader's) are recorded.
      await worker.evaluate(() => {
        const log: FileReads = { whole: [], slices: [] };
        const proto = Blob.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
        for (const method of ['arrayBuffer', 'stream', 'text', 'bytes']) {
          const original = proto[method];
          if (!original) continue;
          proto[method] = function (this: Blob, ...a: unknown[]) { if (this instanceof File) log.whole.push([this.name, method]); return original.apply(this, a); };
        }
        const slice = Blob.prototype.slice;
        Blob.prototype.slice = function (this: Blob, start = 0, end = this.size, type?: string) {
          if (this instanceof File) log.slices.push([this.name, Math.min(end, this.size) - start]);
          return slice.call(this, start, end, type);
        };
        (globalThis as { msrnnFileReads?: FileReads }).msrnnFileReads = log;
      });
      return () => worker.evaluate(() => (globalThis as unknown as { msrnnFileReads: FileReads }).msrnnFileReads);
    },
    async generate(page) {
      // The run's end is awaited inside the page (setters on msrnnPage.done and .error), not polled from
      // here: each poll would wake the page's main thread while the decode being timed runs.
      // (A string: tsx's transform of a function would call helpers the page does not have.)
      await page.evaluate(`{
        const p = window.msrnnPage;
        window.msrnnRunEnd = new Promise((ended) => {
          for (const key of ['done', 'error']) {
            let value = p[key];
            Object.defineProperty(p, key, {
              configurable: true, enumerable: true, get() { return value; },
              set(v) {
                value = v;
                for (const k of ['done', 'error']) Object.defineProperty(p, k, { value: p[k], writable: true, configurable: true, enumerable: true });
                ended();
              },
            });
          }
        });
        0; // the script's value (not the promise, which evaluate would wait for)
      }`);
      await page.click('#generate');
      await Promise.race([page.evaluate('window.msrnnRunEnd'), new Promise((_, late) => setTimeout(() => late(new Error('the run did not end within 120 s')), 120_000).unref())]);
      const r = await page.evaluate(() => { const p = (window as any).msrnnPage; return { tokens: p.generated, hash: p.logitsHash, error: p.error, stats: document.getElementById('stats')!.textContent }; });
      assert.is(r.error, '', 'page error while generating');
      return { tokens: r.tokens, hash: r.hash, tokPerS: Number(/([\d.]+) tok\/s/.exec(r.stats ?? '')?.[1] ?? NaN) };
    },
    async close() {
      await chromium.close();
      for (const s of servers) s.close();
    },
  };
}
