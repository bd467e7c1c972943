// The dev server on its own (no browser): ranges, validators, headers, MIME types, the test hooks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startServer, parseRange } from '../../scripts/serve.mjs';

let server;
let dir;
const FILE = '/models/small.gguf';
const bytes = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7 + (i >> 11)) & 255;

before(async () => {
  // A models folder of our own, so this file needs neither the real model nor the package build.
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-serve-'));
  await fsp.writeFile(path.join(dir, 'small.gguf'), bytes);
  await fsp.writeFile(path.join(dir, 'x.wasm'), Buffer.from([0, 97, 115, 109]));
  await fsp.writeFile(path.join(dir, 'm.js'), 'export {}');
  server = await startServer({ port: 0, quiet: true, modelsDir: dir, mounts: [['/t/', dir]] });
});
after(async () => {
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (p, headers = {}) => fetch(server.url + p, { headers });

test('parseRange', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
  assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=-10', 100), { start: 90, end: 99 });
  assert.deepEqual(parseRange('bytes=50-500', 100), { start: 50, end: 99 });
  assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=5-4', 100), 'unsatisfiable');
  assert.equal(parseRange('bytes=0-1,5-6', 100), null);
  assert.equal(parseRange('items=0-1', 100), null);
  assert.equal(parseRange(undefined, 100), null);
});

test('whole file, COOP/COEP, validators', async () => {
  const r = await get(FILE);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('cross-origin-opener-policy'), 'same-origin');
  assert.equal(r.headers.get('cross-origin-embedder-policy'), 'require-corp');
  assert.equal(r.headers.get('accept-ranges'), 'bytes');
  assert.equal(r.headers.get('content-length'), String(bytes.length));
  assert.ok(r.headers.get('etag'));
  assert.ok(r.headers.get('last-modified'));
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes));
  const again = await get(FILE, { 'If-None-Match': r.headers.get('etag') });
  assert.equal(again.status, 304);
});

test('ranges: 206, 416, If-Range', async () => {
  const r = await get(FILE, { Range: 'bytes=1000-1999' });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 1000-1999/${bytes.length}`);
  assert.ok(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(1000, 2000)));
  const tail = await get(FILE, { Range: `bytes=${bytes.length - 5}-` });
  assert.equal(tail.status, 206);
  assert.ok(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(bytes.length - 5)));
  const bad = await get(FILE, { Range: `bytes=${bytes.length}-` });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), `bytes */${bytes.length}`);
  await bad.arrayBuffer();
  const etag = (await get(FILE, { Range: 'bytes=0-0' })).headers.get('etag');
  const ok = await get(FILE, { Range: 'bytes=10-19', 'If-Range': etag });
  assert.equal(ok.status, 206);
  await ok.arrayBuffer();
  // A stale validator means "the file changed": the whole new file comes back instead.
  const stale = await get(FILE, { Range: 'bytes=10-19', 'If-Range': '"stale"' });
  assert.equal(stale.status, 200);
  assert.equal((await stale.arrayBuffer()).byteLength, bytes.length);
});

test('MIME types', async () => {
  const wasm = await get('/t/x.wasm');
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  const js = await get('/t/m.js');
  assert.match(js.headers.get('content-type'), /^text\/javascript/);
  assert.equal((await get('/models/')).status, 200);
  assert.equal((await get('/models/..%2fx.wasm')).status, 404);
  assert.equal((await get('/t/..%2f..%2fetc%2fpasswd')).status, 403);
});

test('fault hook cuts a response; stats count bytes and ranges', async () => {
  await fetch(server.url + '/__stats/reset', { method: 'POST' });
  const armed = await fetch(`${server.url}/__fault?path=${FILE}&after=1000000`, { method: 'POST' });
  assert.equal(armed.status, 200);
  const r = await get(FILE);
  assert.equal(r.status, 200);
  await assert.rejects(r.arrayBuffer());
  // Only one response is cut; the next one resumes with a range.
  const rest = await get(FILE, { Range: 'bytes=1000000-' });
  assert.equal(rest.status, 206);
  assert.ok(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(1000000)));
  const stats = await (await fetch(server.url + '/__stats')).json();
  assert.equal(stats[FILE].requests, 2);
  assert.equal(stats[FILE].bytes, bytes.length);
  assert.deepEqual(stats[FILE].ranges, [null, 'bytes=1000000-']);
});

test('throttle', async () => {
  server.setFault(FILE, { rate: 4 * 1024 * 1024 });
  const t0 = Date.now();
  await (await get(FILE)).arrayBuffer();
  server.clearFaults();
  assert.ok(Date.now() - t0 >= 500, 'a 3 MiB file at 4 MiB/s takes at least half a second');
});
