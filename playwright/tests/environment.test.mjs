// The browser environment the package relies on, checked without the package: Debian Chromium
// headless on our server gives cross-origin isolation, OPFS (also sync access in a worker),
// WebGPU through SwiftShader, ranged fetches, and the fault hook really breaks a download.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, pathStats, MODEL_URL_PATH } from '../lib/server.mjs';

let server;
let browser;

before(async () => {
  server = await startTestServer();
  browser = await launch({ name: 'env' });
  await browser.page.goto(server.url + '/test/probe.html');
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('cross-origin isolated, OPFS, module worker, WebGPU adapter', async () => {
  const r = await browser.page.evaluate(() => window.probeResult);
  assert.equal(r.crossOriginIsolated, true, 'COOP/COEP headers make the page crossOriginIsolated');
  assert.equal(r.sharedArrayBuffer, true);
  assert.equal(r.opfs, true);
  assert.ok(r.quota > 300e6, `storage quota ${r.quota} must hold the test model`);
  assert.equal(r.worker.crossOriginIsolated, true);
  assert.equal(r.worker.opfsSyncAccess, true);
  assert.equal(r.worker.sharedMemory, true);
  // WebGPU on SwiftShader: a missing adapter fails here rather than silently skipping later.
  assert.ok(r.webgpu && typeof r.webgpu === 'object', `WebGPU adapter: ${JSON.stringify(r.webgpu)}`);
  assert.equal(r.worker.webgpu, true);
});

test('ranged fetch of the model from the page', async () => {
  const r = await browser.page.evaluate(async (url) => {
    const res = await fetch(url, { headers: { Range: 'bytes=0-3' } });
    return { status: res.status, range: res.headers.get('content-range'), magic: await res.text() };
  }, MODEL_URL_PATH);
  assert.equal(r.status, 206);
  assert.match(r.range, new RegExp(`^bytes 0-3/${server.modelSize}$`));
  assert.equal(r.magic, 'GGUF');
});

test('fault hook cuts a streamed download; a Range request gets the rest', async () => {
  server.resetStats();
  const cut = 20 * 1024 * 1024;
  server.setFault(MODEL_URL_PATH, { after: cut });
  const r = await browser.page.evaluate(async (url) => {
    let got = 0;
    let error = null;
    try {
      const res = await fetch(url);
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        got += value.length;
      }
    } catch (e) {
      error = String(e);
    }
    const rest = await fetch(url, { headers: { Range: `bytes=${got}-` } });
    let restBytes = 0;
    const reader = rest.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      restBytes += value.length;
    }
    return { got, error, restStatus: rest.status, restBytes };
  }, MODEL_URL_PATH);
  assert.ok(r.error, 'the cut download must fail in the page, not end early without an error');
  assert.ok(r.got > 0 && r.got <= cut, `bytes before the cut: ${r.got}`);
  assert.equal(r.restStatus, 206);
  assert.equal(r.got + r.restBytes, server.modelSize);
  const s = pathStats(server, MODEL_URL_PATH);
  assert.equal(s.requests, 2);
  assert.deepEqual(s.ranges, [null, `bytes=${r.got}-`]);
});

test('requests made by a module worker are seen by context.on("request")', async () => {
  // The cache test relies on this to prove that a reload fetches nothing (the engine is in a worker).
  const seen = [];
  const onRequest = (r) => seen.push(new URL(r.url()).pathname);
  browser.context.on('request', onRequest);
  const r = await browser.page.evaluate(async (url) => {
    const w = new Worker('/test/fetch-worker.js', { type: 'module' });
    const reply = await new Promise((resolve) => {
      w.onmessage = (e) => resolve(e.data);
      w.onerror = (e) => resolve({ error: e.message });
      setTimeout(() => resolve({ error: 'timeout' }), 10_000);
      w.postMessage({ url, range: 'bytes=0-15' });
    });
    w.terminate();
    return reply;
  }, MODEL_URL_PATH);
  browser.context.off('request', onRequest);
  assert.deepEqual(r, { status: 206, length: 16 });
  assert.ok(seen.includes(MODEL_URL_PATH), `requests seen: ${seen.join(', ')}`);
});
