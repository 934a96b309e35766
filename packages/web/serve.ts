// Serves the built page on localhost, by default with the COOP/COEP headers that make it
// cross-origin isolated (SharedArrayBuffer, so the wasm backend can use threads); --no-isolation
// serves it without them (one thread). Run: `pnpm web` from the repo root (builds, then serves).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.bin': 'application/octet-stream',
};

export interface ServeOptions { dir: string; port?: number; host?: string; isolated?: boolean }

/** Starts a static server; resolves once it listens (port 0 = any free port; read server.address()). */
export function servePage(opts: ServeOptions): Promise<Server> {
  const root = resolve(opts.dir);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path = normalize(join(root, decodeURIComponent(url.pathname)));
    if (!path.startsWith(root)) { res.writeHead(403).end('forbidden'); return; }
    if (existsSync(path) && statSync(path).isDirectory()) path = join(path, 'index.html');
    if (!existsSync(path)) { res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`); return; }
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream', 'content-length': statSync(path).size, 'cache-control': 'no-store',
    };
    if (opts.isolated ?? true) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    res.writeHead(200, headers);
    createReadStream(path).pipe(res);
  });
  return new Promise((ok, fail) => { server.once('error', fail).listen(opts.port ?? 5173, opts.host ?? '127.0.0.1', () => ok(server)); });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: { port: { type: 'string', default: '5173' }, host: { type: 'string', default: '127.0.0.1' }, 'no-isolation': { type: 'boolean', default: false }, build: { type: 'boolean', default: false } },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be an integer 0..65535, got ${values.port}`);
  const { buildPage, distDir } = await import('./build.js');
  // The page is rebuilt; the API reference only when missing (`node scripts/run-ts.mjs packages/web/build.ts` rebuilds it).
  if (values.build || !existsSync(join(distDir, 'index.html'))) await buildPage({ api: 'if-missing' });
  const isolated = !values['no-isolation'];
  // The default port may be taken (another server, a parallel test run): then any free one.
  const server = await servePage({ dir: distDir, port, host: values.host, isolated }).catch((err) => {
    if (err?.code !== 'EADDRINUSE' || values.port !== '5173') throw err;
    return servePage({ dir: distDir, port: 0, host: values.host, isolated });
  });
  const actual = (server.address() as { port: number }).port;
  console.log(`msrnn page: http://${values.host}:${actual}/ (${isolated ? 'cross-origin isolated: threads available' : 'not cross-origin isolated: one thread'}; Ctrl-C stops)`);
}
