// The WebGPU backend in Chromium (SwiftShader, Chromium's software Vulkan): through the public API
// with backend: 'webgpu', in the module worker, greedy text equal to the native CLI's (the CPU
// backend); abort and reuse; and clear errors where WebGPU cannot be had or the device is lost.
//
// The GPU keeps activations in f32 where the CPU quantizes them to Q8 like ggml, so a near-tie
// between two tokens can go either way; the prompts here are ones where GPU and CPU agree.
// SwiftShader runs the kernels on the CPU, so prompts and token counts are kept small.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, MODEL_URL_PATH } from '../lib/server.mjs';
import { openHarness, h, ok, assertSameText } from '../lib/harness.mjs';
import { nativeGreedy } from '../lib/native.mjs';

const N = 8; // greedy tokens per comparison
const TEXT_PROMPT = 'The capital of France is';

let server;
let browser;
let page;

before(async () => {
  server = await startTestServer();
  browser = await launch({ name: 'webgpu' });
  page = browser.page;
  await openHarness(page, server);
  const r = ok(await h(page, 'load', MODEL_URL_PATH, { backend: 'webgpu' }), 'createEngine webgpu');
  assert.equal(r.backend, 'webgpu');
  assert.equal(r.info.backend, 'webgpu', 'the wasm engine runs on WebGPU');
  assert.match(r.info.gpuAdapter, /swiftshader/i);
  assert.match(r.backendReason, /'webgpu' was requested \(adapter: .*swiftshader/i);
  assert.equal(r.progress[0].phase, 'backend');
  const load = r.progress.filter((p) => p.phase === 'load');
  assert.ok(load.length > 1 && load.at(-1).loaded === load.at(-1).total, 'weights uploaded with progress');
  assert.match(load.at(-1).text, /^Uploading weights to the GPU/);
  console.error(`  model loaded onto WebGPU (${r.info.gpuAdapter}) in ${(r.ms / 1000).toFixed(1)} s`);
});

after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await browser?.close();
  await server?.close();
});

test('webgpu: completions.create greedy equals the native CLI (CPU backend)', async () => {
  const expected = nativeGreedy(server.modelFile, TEXT_PROMPT, N);
  const t0 = Date.now();
  const r = ok(await h(page, 'complete', { prompt: TEXT_PROMPT, max_tokens: N, temperature: 0 }), 'completion');
  console.error(
    `  ${N} tokens in ${((Date.now() - t0) / 1000).toFixed(1)} s: prefill ` +
      `${r.usage.timings.prefill_tokens_per_second.toFixed(1)} tok/s, decode ${r.usage.timings.decode_tokens_per_second.toFixed(1)} tok/s`,
  );
  await assertSameText(page, r.choices[0].text, expected, 'webgpu completions.create');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, N);
  assert.ok(r.usage.timings.decode_tokens_per_second > 0);
});

test('webgpu: a streamed request aborted mid-decode ends with abort; the engine then answers correctly', async () => {
  const expected = nativeGreedy(server.modelFile, TEXT_PROMPT, N);
  const s = ok(
    await h(page, 'stream', 'text', { prompt: TEXT_PROMPT, max_tokens: 100, temperature: 0 }, { abortAfterChunks: 2 }),
    'aborted stream',
  );
  const last = s.chunks.at(-1);
  assert.equal(last.choices[0].finish_reason, 'abort');
  assert.ok(last.usage.completion_tokens >= 2 && last.usage.completion_tokens < 100);
  assert.ok(expected.startsWith(s.text) || s.text.startsWith(expected), `aborted text ${JSON.stringify(s.text)}`);
  // The same request again on the same engine: its KV cache and GPU state survived the abort.
  // cache_prompt: false: evaluated as a fresh run (reuse would run the last prompt token alone)
  const again = ok(
    await h(page, 'complete', { prompt: TEXT_PROMPT, max_tokens: 4, temperature: 0, cache_prompt: false }),
    'after abort',
  );
  await assertSameText(page, again.choices[0].text, nativeGreedy(server.modelFile, TEXT_PROMPT, 4), 'after an abort');
});

test("backend: 'webgpu' without an adapter fails at once with BackendUnavailableError saying what to do", async () => {
  const r = await page.evaluate(async () => {
    // In-thread engine on a page whose WebGPU offers no adapter (a GPU blocklisted or absent).
    const original = navigator.gpu.requestAdapter;
    navigator.gpu.requestAdapter = async () => null;
    try {
      await window.wc.createEngine({ model: '/models/never-fetched.gguf', backend: 'webgpu', worker: false });
      return null;
    } catch (e) {
      return { name: e.name, code: e.code, message: e.message };
    } finally {
      navigator.gpu.requestAdapter = original;
    }
  });
  assert.equal(r?.code, 'BACKEND_UNAVAILABLE', JSON.stringify(r));
  assert.equal(r.name, 'BackendUnavailableError');
  assert.match(r.message, /no adapter.*backend: 'cpu' or 'auto'/);
});

test('webgpu: a lost device fails the request with a clear error, not a hang', async () => {
  // In-thread engine (worker: false), so the page can reach its GPUDevice and destroy it.
  const r = await page.evaluate(async (url) => {
    const devices = [];
    const original = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const d = await original.apply(this, args);
      devices.push(d);
      return d;
    };
    let engine;
    try {
      engine = await window.wc.createEngine({ model: url, backend: 'webgpu', worker: false });
    } finally {
      GPUAdapter.prototype.requestDevice = original;
    }
    const first = await engine.completions.create({ prompt: 'Hi', max_tokens: 1, temperature: 0 });
    devices.at(-1).destroy();
    try {
      await engine.completions.create({ prompt: 'Hello there', max_tokens: 4, temperature: 0 });
      return { firstTokens: first.usage.completion_tokens, error: null };
    } catch (e) {
      return { firstTokens: first.usage.completion_tokens, error: { name: e.name, code: e.code, message: e.message } };
    } finally {
      await engine.unload().catch(() => {});
    }
  }, MODEL_URL_PATH);
  assert.equal(r.firstTokens, 1, 'the in-thread WebGPU engine answered before the loss');
  assert.ok(r.error, 'a request on a lost device must fail');
  assert.match(r.error.message, /lost|GPU/i, JSON.stringify(r.error));
  console.error(`  after device.destroy(): ${r.error.name} (${r.error.code}): ${r.error.message}`);
});
