// The package as a user installs it: the `npm pack` tarball of packages/wasm-chord installed with
// npm into the apps of playwright/consumers/ (Vite 7 build and dev server, webpack 5, esbuild),
// each built with its own `npm run build` and served cross-origin isolated. In each, in Chromium:
// the engine starts in its worker with the multi-threaded build (threads > 1), the greedy text
// equals the native CLI's, and the single-threaded build loads both in a worker and in the page.
// The built outputs must hold all four wasm modules (threaded and single-threaded, relaxed SIMD
// and plain: the plain ones are what Safari and Node 20 get, so Chromium never fetches them).
//
// One Chromium for the file, one model load per app; installs are cached (lib/consumers.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { launch } from '../lib/browser.mjs';
import { startTestServer, MODEL_URL_PATH } from '../lib/server.mjs';
import { nativeGreedy } from '../lib/native.mjs';
import {
  packPackage,
  withConsumer,
  buildConsumer,
  serveOutput,
  startViteDev,
  listFiles,
  wasmByHash,
} from '../lib/consumers.mjs';

const PROMPT = 'The capital of France is';
const N = 12;
const THREADS = 2;

let modelServer;
let browser;
let pack;
let expected;
let packageWasm; // sha256 → path inside the package, the four modules

before(async () => {
  modelServer = await startTestServer();
  const t0 = Date.now();
  pack = packPackage();
  console.error(`  npm pack: ${path.basename(pack.tarball)} (${(fs.statSync(pack.tarball).size / 1e6).toFixed(1)} MB) in ${Date.now() - t0} ms`);
  expected = nativeGreedy(modelServer.modelFile, PROMPT, N);
  browser = await launch({ name: 'bundlers' });
});

after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-40).join('\n'));
  await browser?.close();
  await modelServer?.close();
  if (pack) fs.rmSync(pack.dir, { recursive: true, force: true });
});

/** Runs `fn(dir)` on the app's install from the tarball (lib/consumers.mjs: cached, locked). */
function withApp(app, fn) {
  return withConsumer(app, pack, (r) => {
    console.error(`  ${app}: ${r.installed ? 'npm install from the tarball' : 'cached install'} in ${r.ms} ms (${r.dir})`);
    packageWasm ??= wasmByHash(path.join(r.dir, 'node_modules', 'wasm-chord', 'dist'));
    assert.deepEqual(
      [...packageWasm.values()].sort(),
      [
        'wasm-threads/wasm_chord_web_bg.wasm',
        'wasm-threads/wasm_chord_web_relaxed_bg.wasm',
        'wasm/wasm_chord_web_bg.wasm',
        'wasm/wasm_chord_web_relaxed_bg.wasm',
      ],
      'the tarball holds four distinct wasm modules',
    );
    return fn(r.dir);
  });
}

function build(app, dir) {
  const r = buildConsumer(dir);
  console.error(`  ${app}: npm run build in ${r.ms} ms`);
  const out = path.join(dir, 'dist');
  // Every module the package may choose at run time is in the output (under whatever name).
  const emitted = wasmByHash(out);
  for (const [hash, file] of packageWasm) {
    assert.ok(emitted.has(hash), `${app}: the output lacks ${file} (has ${[...emitted.values()].join(', ')})`);
  }
  return out;
}

/**
 * Opens `url` in a new page of the shared browser and runs the checks every app must pass.
 * `expectWorker(url)`: the engine worker's script URL as this bundler names it. Returns the
 * requests the page and its workers made.
 */
async function checkApp(label, url, { expectWorker }) {
  const page = await browser.context.newPage();
  const requests = [];
  const failures = [];
  const onRequest = (req) => requests.push(req.url());
  const onResponse = (res) => {
    if (res.status() >= 400) failures.push(`${res.status()} ${res.url()}`);
  };
  const onFailed = (req) => failures.push(`failed ${req.url()}: ${req.failure()?.errorText}`);
  browser.context.on('request', onRequest);
  browser.context.on('response', onResponse);
  browser.context.on('requestfailed', onFailed);
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 });

    const t0 = Date.now();
    const r = await page.evaluate(
      (args) => window.generate(args),
      { model: MODEL_URL_PATH, prompt: PROMPT, max_tokens: N, threads: THREADS },
    );
    assert.equal(r.error, undefined, `${label}: generate: ${JSON.stringify(r.error)}`);
    console.error(`  ${label}: model loaded and ${N} tokens generated in ${Date.now() - t0} ms (${r.threads} threads, ${r.cpuKernels})`);
    assert.equal(r.crossOriginIsolated, true, `${label}: the page is cross-origin isolated`);
    assert.equal(r.threads, THREADS, `${label}: the engine runs the multi-threaded build`);
    assert.ok(r.threads > 1);
    assert.match(r.cpuKernels, /^simd128 \+ relaxed-simd/, `${label}: the relaxed-SIMD module was taken`);
    assert.equal(r.text, expected, `${label}: greedy text equals the native CLI's`);
    // The engine's worker and its rayon threads: all started from the engine worker's script.
    const workerUrls = page.workers().map((w) => w.url());
    assert.ok(workerUrls.some(expectWorker), `${label}: the engine worker runs (workers: ${workerUrls.join(', ') || 'none'})`);

    // The single-threaded build, in a worker and in the page (worker: false): the engine starts,
    // then refuses the file; the message is the Rust GGUF reader's, so the wasm module ran.
    for (const options of [{ threads: 1 }, { worker: false }]) {
      const p = await page.evaluate((o) => window.probe(o), options);
      assert.equal(p.error?.code, 'BAD_GGUF', `${label}: ${JSON.stringify(options)}: ${JSON.stringify(p.error)}`);
      assert.match(p.error.message, /magic bytes/, `${label}: ${JSON.stringify(options)}: the wasm GGUF reader answered`);
    }
    assert.deepEqual(failures, [], `${label}: every request succeeded`);
    return requests;
  } finally {
    browser.context.off('request', onRequest);
    browser.context.off('response', onResponse);
    browser.context.off('requestfailed', onFailed);
    await page.close();
  }
}

const workerPath = (re) => (u) => re.test(new URL(u).pathname);

test('vite build: zero config', () =>
  withApp('vite', async (dir) => {
    const server = await serveOutput(build('vite', dir));
    try {
      // Vite bundles the worker (one IIFE file by default) into assets/.
      await checkApp('vite build', `${server.url}/index.html`, { expectWorker: workerPath(/^\/assets\/worker-[\w-]+\.js$/) });
    } finally {
      await server.close();
    }
  }));

test('vite dev server: zero config (the pre-bundled package finds its own files)', () =>
  withApp('vite', async (dir) => {
    // A fresh pre-bundle, as on a user's first `vite` run.
    fs.rmSync(path.join(dir, 'node_modules', '.vite'), { recursive: true, force: true });
    const vite = await startViteDev(dir, modelServer.url);
    try {
      const requests = await checkApp('vite dev', `${vite.url}/`, {
        expectWorker: workerPath(/^\/node_modules\/wasm-chord\/dist\/worker\.js$/),
      });
      // The package really went through the optimizer (what breaks relative URLs).
      assert.ok(
        requests.some((u) => new URL(u).pathname === '/node_modules/.vite/deps/wasm-chord.js'),
        'wasm-chord was served pre-bundled from node_modules/.vite/deps/',
      );
    } finally {
      await vite.close();
    }
  }));

test('webpack 5: zero config', () =>
  withApp('webpack', async (dir) => {
    const out = build('webpack', dir);
    const server = await serveOutput(out);
    try {
      // webpack turns the module worker into a classic one with a numbered chunk name.
      await checkApp('webpack', `${server.url}/index.html`, { expectWorker: workerPath(/^\/[\w-]+\.js$/) });
    } finally {
      await server.close();
    }
    // Nothing of the package is reached outside the output at run time: it was all emitted.
    assert.ok(!listFiles(out).some((f) => f.includes('wasm-chord')), 'no copy of the package in the output');
  }));

test('esbuild: dist/ copied next to the bundle, assetBase', () =>
  withApp('esbuild', async (dir) => {
    const server = await serveOutput(build('esbuild', dir));
    try {
      await checkApp('esbuild', `${server.url}/index.html`, { expectWorker: workerPath(/^\/wasm-chord\/worker\.js$/) });
    } finally {
      await server.close();
    }
  }));
