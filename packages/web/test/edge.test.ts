// The edge runtime: Cloudflare's workerd (npm `workerd`) serves a module worker bundled from the
// core sources (esbuild, browser platform, no Node APIs) that runs the stories260K greedy
// fixture's prompts. workerd forbids code generation from strings and compiling WebAssembly from
// bytes, so the core falls back to its pure-TS backend there, and says why.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { haveShared, paths } from '../../transformer/test/shared.js';

const greedyPath = resolve(paths.fixtures, 'greedy.json');

async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

if (haveShared('edge', paths.model, paths.tokenizer, greedyPath)) {
  test('workerd serves a worker that reproduces the stories260K greedy fixture (pure TS, no code generation)', async () => {
    const greedy = JSON.parse(readFileSync(greedyPath, 'utf8'));
    const dir = mkdtempSync(join(tmpdir(), 'msrnn-workerd-'));
    const port = await freePort();
    await build({
      entryPoints: [resolve(import.meta.dirname, 'edge-worker.ts')], outfile: join(dir, 'worker.js'),
      bundle: true, format: 'esm', platform: 'browser', target: 'es2022', conditions: ['source', 'workerd', 'worker'],
      external: ['model.bin', 'tokenizer.bin'], logLevel: 'error',
    });
    copyFileSync(paths.model, join(dir, 'model.bin'));
    copyFileSync(paths.tokenizer, join(dir, 'tokenizer.bin'));
    writeFileSync(join(dir, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "model.bin", data = embed "model.bin"),
    (name = "tokenizer.bin", data = embed "tokenizer.bin"),
  ],
  compatibilityDate = "2024-09-23",
);
`);
    const child = spawn(resolve(import.meta.dirname, '../node_modules/workerd/bin/workerd'), ['serve', join(dir, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    try {
      const prompts = greedy.runs.map((r: { prompt: string }) => r.prompt);
      const url = `http://127.0.0.1:${port}/?steps=${greedy.n_requested}&prompts=${encodeURIComponent(JSON.stringify(prompts))}`;
      let body: any;
      for (let tries = 0; ; tries++) { // until workerd listens (bounded: 30 s)
        try { body = await (await fetch(url)).json(); break; } catch (err) {
          if (tries > 300 || child.exitCode !== null) throw new Error(`workerd did not answer: ${stderr || (err as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      assert.match(body.codegen, /^forbidden/, 'new Function is forbidden inside workerd');
      assert.is(body.hasProcess, false, 'no Node process object');
      assert.is(body.backend, 'js');
      assert.match(body.note, /pure-TS backend/);
      greedy.runs.forEach((run: any, i: number) => {
        assert.equal(body.runs[i].promptTokens, run.prompt_tokens, `prompt ${i} encoding`);
        assert.equal(body.runs[i].tokens, run.generated_tokens, `prompt ${i} greedy tokens`);
      });
      console.log(`workerd: ${body.runs.length} prompts token for token; backend ${body.backend} (${body.note})`);
    } finally {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
