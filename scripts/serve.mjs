#!/usr/bin/env node
// Static server for the wasm-chord demo and browser tests. Node only, no dependencies.
//
//   node scripts/serve.mjs [--port N] [--quiet]        (PORT env works too; default 8080)
//
// Serves, on 127.0.0.1 only (a secure origin, so WebGPU and OPFS are available without TLS):
//   /demo/...                    demo/
//   /packages/wasm-chord/dist/   the built npm package (npm run build -w packages/wasm-chord),
//                                or the folder WASM_CHORD_DIST names
//   /test/...                    playwright/pages/ (test fixture pages)
//   /models/NAME.gguf            model files from ${WASM_CHORD_CACHE:-~/.cache/wasm-chord}/models
//   /models/                     JSON list of those files [{ name, url, size }]
//
// Every response carries COOP/COEP (`same-origin` / `require-corp`) so pages are crossOriginIsolated
// and SharedArrayBuffer (wasm threads) can be used. Model files support single HTTP ranges
// (206 / 416, If-Range, ETag, Last-Modified) so an interrupted download can resume.
//
// Test hooks (the server is also imported in-process by playwright/lib):
//   GET  /__stats                per-path counters: requests, bytes sent, statuses, Range headers
//   POST /__stats/reset          (or GET /__stats?reset=1) zero them
//   POST /__fault?path=P&after=BYTES[&times=1]   cut the next response(s) for P after BYTES body bytes
//   POST /__fault?path=P&rate=BYTES_PER_SECOND   throttle responses for P (to abort during download)
//   POST /__fault/clear                           remove every fault
// The hooks only exist on this development server; they are not part of the product.

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.ts': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.gguf': 'application/octet-stream',
};

export function defaultModelsDir() {
  const cache = process.env.WASM_CHORD_CACHE || path.join(os.homedir(), '.cache', 'wasm-chord');
  return path.join(cache, 'models');
}

/** Byte range of a `Range` header for a file of `size` bytes: {start, end} (end inclusive),
 *  null when the header should be ignored (absent, not bytes, several ranges: RFC 9110 allows
 *  answering those with the whole file), or 'unsatisfiable' (→ 416). */
export function parseRange(header, size) {
  if (!header) return null;
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return null; // other units or a multi-range list: send the whole file
  const [, a, b] = m;
  if (a === '' && b === '') return null;
  let start, end;
  if (a === '') {
    // suffix range: the last b bytes
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
    if (start >= size || end < start) return 'unsatisfiable';
  }
  return { start, end };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the server. Resolves to { server, url, port, stats(), resetStats(), setFault(), clearFaults(), close() }.
 * options: port (0 = any free one; a taken port falls back to the next ones), host, quiet,
 * modelsDir, mounts (extra [urlPrefix, dir] pairs, checked first).
 */
export async function startServer(options = {}) {
  const host = options.host ?? '127.0.0.1';
  const quiet = options.quiet ?? false;
  const modelsDir = options.modelsDir ?? defaultModelsDir();
  // URL prefix → directory. Longest prefixes first so /packages/... wins over a shorter one.
  const mounts = [
    ...(options.mounts ?? []),
    ['/demo/', path.join(REPO, 'demo')],
    // WASM_CHORD_DIST serves another build of the package (e.g. an unpacked npm tarball's dist/).
    ['/packages/wasm-chord/dist/', options.dist ?? process.env.WASM_CHORD_DIST ?? path.join(REPO, 'packages', 'wasm-chord', 'dist')],
    ['/test/', path.join(REPO, 'playwright', 'pages')],
  ]
    .map(([prefix, dir]) => [prefix, path.resolve(dir)])
    .sort((x, y) => y[0].length - x[0].length);

  /** path → { requests, bytes, statuses: {code: n}, ranges: [header|null per request] } */
  let counters = new Map();
  /** path → { after, times, rate } */
  const faults = new Map();

  function count(p) {
    let c = counters.get(p);
    if (!c) counters.set(p, (c = { requests: 0, bytes: 0, statuses: {}, ranges: [] }));
    return c;
  }
  const stats = () => Object.fromEntries(counters);
  const resetStats = () => { counters = new Map(); };
  const setFault = (p, f) => faults.set(p, { after: null, times: 1, rate: null, ...f });
  const clearFaults = () => faults.clear();

  function log(req, status, bytes, note = '') {
    if (!quiet) console.error(`${req.method} ${req.url} ${status} ${bytes}B${note}`);
  }

  function baseHeaders(res) {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('X-Content-Type-Options', 'nosniff');
  }

  function sendJson(req, res, status, body) {
    const text = JSON.stringify(body, null, 1);
    res.writeHead(status, { 'Content-Type': MIME['.json'], 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    log(req, status, text.length);
  }

  function sendText(req, res, status, text) {
    res.writeHead(status, { 'Content-Type': MIME['.txt'], 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
    log(req, status, text.length);
  }

  /** Writes bytes [start, end] of the open file, honouring a throttle or a cut. Counts bytes sent. */
  async function streamBody(req, res, fh, start, end, c, fault) {
    const CHUNK = 256 * 1024;
    const buf = Buffer.allocUnsafe(CHUNK);
    let pos = start;
    let sent = 0;
    const cutAt = fault?.after ?? Infinity;
    const t0 = Date.now();
    let closed = false;
    res.on('close', () => { closed = true; });
    while (pos <= end && !closed) {
      let n = Math.min(CHUNK, end - pos + 1, cutAt - sent);
      if (n <= 0) break;
      const { bytesRead } = await fh.read(buf, 0, n, pos);
      if (bytesRead === 0) break;
      const chunk = Buffer.from(buf.subarray(0, bytesRead));
      // Wait for the chunk to reach the socket, so backpressure holds and a cut is at a known byte.
      const ok = await new Promise((resolve) => res.write(chunk, (err) => resolve(!err)));
      if (!ok) break;
      pos += bytesRead;
      sent += bytesRead;
      c.bytes += bytesRead;
      if (fault?.rate) {
        const due = (sent / fault.rate) * 1000 - (Date.now() - t0);
        if (due > 0) await sleep(due);
      }
    }
    if (sent >= cutAt && pos <= end) {
      // The fault: drop the connection mid-body, as a network failure would.
      res.destroy();
      return { sent, cut: true };
    }
    if (!closed) res.end();
    return { sent, cut: false };
  }

  async function serveFile(req, res, urlPath, file, { cacheControl }) {
    let st;
    try {
      st = await fsp.stat(file);
    } catch {
      st = null;
    }
    if (st?.isDirectory()) {
      if (!urlPath.endsWith('/')) {
        res.writeHead(301, { Location: urlPath + '/' });
        res.end();
        log(req, 301, 0);
        return;
      }
      return serveFile(req, res, urlPath, path.join(file, 'index.html'), { cacheControl });
    }
    const c = count(urlPath);
    c.requests += 1;
    c.ranges.push(req.headers.range ?? null);
    if (!st?.isFile()) {
      c.statuses[404] = (c.statuses[404] ?? 0) + 1;
      return sendText(req, res, 404, `not found: ${urlPath}\n`);
    }
    const size = st.size;
    // Strong validator from size and mtime: enough to tell a replaced file, usable with If-Range.
    const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = st.mtime.toUTCString();
    const type = MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    const headers = {
      'Content-Type': type,
      'Accept-Ranges': 'bytes',
      ETag: etag,
      'Last-Modified': lastModified,
      'Cache-Control': cacheControl,
    };

    if (req.headers['if-none-match'] === etag) {
      c.statuses[304] = (c.statuses[304] ?? 0) + 1;
      res.writeHead(304, headers);
      res.end();
      log(req, 304, 0);
      return;
    }

    // If-Range: a range only applies while the file is the one the client started with.
    const ifRange = req.headers['if-range'];
    const rangeValid = !ifRange || ifRange === etag || ifRange === lastModified;
    const range = rangeValid ? parseRange(req.headers.range, size) : null;
    if (range === 'unsatisfiable') {
      c.statuses[416] = (c.statuses[416] ?? 0) + 1;
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${size}`, 'Content-Length': 0 });
      res.end();
      log(req, 416, 0);
      return;
    }
    const start = range ? range.start : 0;
    const end = range ? range.end : size - 1;
    const status = range ? 206 : 200;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    headers['Content-Length'] = String(end - start + 1);
    c.statuses[status] = (c.statuses[status] ?? 0) + 1;
    res.writeHead(status, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      log(req, status, 0);
      return;
    }

    // A fault armed for this path applies to this response (and uses up one of its `times`).
    let fault = faults.get(urlPath) ?? null;
    if (fault) {
      if (fault.after != null) {
        fault.times -= 1;
        if (fault.times <= 0) faults.delete(urlPath);
      }
    }
    const fh = await fsp.open(file, 'r');
    try {
      const { sent, cut } = await streamBody(req, res, fh, start, end, c, fault);
      log(req, status, sent, cut ? ' (cut by fault hook)' : '');
    } finally {
      await fh.close();
    }
  }

  async function listModels(req, res) {
    let names = [];
    try {
      names = (await fsp.readdir(modelsDir)).filter((n) => n.endsWith('.gguf')).sort();
    } catch { /* no models yet */ }
    const list = [];
    for (const name of names) {
      const st = await fsp.stat(path.join(modelsDir, name));
      list.push({ name, url: `/models/${encodeURIComponent(name)}`, size: st.size });
    }
    sendJson(req, res, 200, list);
  }

  function control(req, res, url) {
    const q = url.searchParams;
    if (url.pathname === '/__stats') {
      if (q.get('reset') === '1') resetStats();
      return sendJson(req, res, 200, stats());
    }
    if (url.pathname === '/__stats/reset') {
      resetStats();
      return sendJson(req, res, 200, {});
    }
    if (url.pathname === '/__fault/clear') {
      clearFaults();
      return sendJson(req, res, 200, {});
    }
    if (url.pathname === '/__fault') {
      const p = q.get('path');
      if (!p) return sendJson(req, res, 400, { error: 'path= is required' });
      const num = (k) => (q.has(k) ? Number(q.get(k)) : null);
      setFault(p, { after: num('after'), times: num('times') ?? 1, rate: num('rate') });
      return sendJson(req, res, 200, Object.fromEntries(faults));
    }
    return sendJson(req, res, 404, { error: 'unknown control endpoint' });
  }

  async function handle(req, res) {
    baseHeaders(res);
    let url;
    try {
      url = new URL(req.url, 'http://x');
    } catch {
      return sendText(req, res, 400, 'bad url\n');
    }
    if (url.pathname.startsWith('/__')) return control(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(req, res, 405, 'GET or HEAD only\n');

    let p;
    try {
      p = decodeURIComponent(url.pathname);
    } catch {
      return sendText(req, res, 400, 'bad path\n');
    }
    if (p === '/') {
      res.writeHead(302, { Location: '/demo/' });
      res.end();
      return log(req, 302, 0);
    }
    if (p === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (p === '/models/' || p === '/models') return listModels(req, res);
    if (p.startsWith('/models/')) {
      const name = p.slice('/models/'.length);
      // Only plain file names of .gguf files: nothing else in that folder is served.
      if (name.includes('/') || name.includes('\\') || name.startsWith('.') || !name.endsWith('.gguf')) {
        return sendText(req, res, 404, `not found: ${p}\n`);
      }
      // no-store: the page's own cache is OPFS; a second copy in the HTTP cache would waste
      // 250 MB per model and would hide from the tests whether a reload touched the network.
      return serveFile(req, res, p, path.join(modelsDir, name), { cacheControl: 'no-store' });
    }
    for (const [prefix, dir] of mounts) {
      if (p === prefix.slice(0, -1)) {
        res.writeHead(301, { Location: prefix });
        res.end();
        return log(req, 301, 0);
      }
      if (p.startsWith(prefix)) {
        const file = path.resolve(dir, '.' + p.slice(prefix.length - 1));
        if (file !== dir && !file.startsWith(dir + path.sep)) return sendText(req, res, 403, 'forbidden\n');
        // no-cache: always revalidate (ETag → 304), so a rebuilt package is picked up at once.
        return serveFile(req, res, p, file, { cacheControl: 'no-cache' });
      }
    }
    return sendText(req, res, 404, `not found: ${p}\n`);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      console.error('serve.mjs:', err);
      if (!res.headersSent) sendText(req, res, 500, 'internal error\n');
      else res.destroy();
    });
  });
  // Keep-alive sockets would keep close() waiting; tests start and stop servers often.
  server.keepAliveTimeout = 2000;

  // A taken port falls back to the next few; port 0 asks the OS for any free one.
  let port = options.port ?? 8080;
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      break;
    } catch (err) {
      if (err.code !== 'EADDRINUSE' || port === 0 || attempt >= 20) throw err;
      port += 1;
    }
  }
  port = server.address().port;
  const url = `http://${host}:${port}`;
  return {
    server,
    url,
    port,
    modelsDir,
    stats,
    resetStats,
    setFault,
    clearFaults,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}

// Command line: `node scripts/serve.mjs [--port N] [--quiet]`.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  const port = Number(portArg >= 0 ? args[portArg + 1] : process.env.PORT || 8080);
  const quiet = args.includes('--quiet');
  const s = await startServer({ port, quiet });
  const dist = path.join(REPO, 'packages', 'wasm-chord', 'dist', 'index.js');
  if (!fs.existsSync(dist)) {
    console.error(`warning: ${path.relative(REPO, dist)} is missing: build the package first ` +
      '(bash scripts/build-wasm.sh && npm run build -w packages/wasm-chord)');
  }
  console.log(`wasm-chord demo: ${s.url}/demo/`);
  console.log(`models from ${s.modelsDir} at ${s.url}/models/`);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => s.close().then(() => process.exit(0)));
}
