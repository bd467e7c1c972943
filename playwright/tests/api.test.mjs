// The public API in Chromium, one engine for the whole file (one model load): greedy text equals
// the native CLI's, streaming from the worker, abort mid-decode and reuse, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from '../lib/browser.mjs';
import { startTestServer, MODEL_URL_PATH } from '../lib/server.mjs';
import { openHarness, h, ok, assertSameText } from '../lib/harness.mjs';
import { nativeGreedy, gemmaChatPrompt, nativeTokenize } from '../lib/native.mjs';

const N = 24; // tokens per greedy comparison: long enough to diverge if anything is off
const TEXT_PROMPT = 'The capital of France is';
const CHAT_MESSAGE = 'Name three colours of the rainbow.';

let server;
let browser;
let page;

before(async () => {
  server = await startTestServer();
  browser = await launch({ name: 'api' });
  page = browser.page;
  await openHarness(page, server);
  const r = ok(await h(page, 'load', MODEL_URL_PATH), 'createEngine');
  // backend 'auto' reports its choice: Chromium here offers only SwiftShader, a software WebGPU
  // adapter, so the CPU backend (tests/webgpu.test.mjs forces WebGPU on it).
  assert.equal(r.backend, 'cpu');
  assert.equal(r.info.backend, 'cpu');
  assert.match(r.backendReason, /software one \(.*swiftshader.*\).*using the CPU backend/i);
  assert.equal(r.progress[0].phase, 'backend', 'the first progress event names the backend');
  assert.match(r.progress[0].text, /^Backend: cpu \(/);
  // Chromium has relaxed SIMD: the relaxed module is taken (its kernels passed the self-check
  // against the portable ones when the module loaded, or createEngine would have failed).
  assert.match(r.cpuKernels, /^simd128 \+ relaxed-simd/);
  console.log(`# CPU kernels in Chromium: ${r.cpuKernels}`);
  assert.equal(r.info.architecture, 'gemma3');
  // Progress covered the download and the load, each ending complete.
  for (const phase of ['download', 'load']) {
    const events = r.progress.filter((p) => p.phase === phase);
    assert.ok(events.length > 1, `progress events for ${phase}`);
    const last = events.at(-1);
    assert.ok(last.total > 0 && last.loaded === last.total, `${phase} ends at ${last.loaded}/${last.total}`);
  }
  console.error(`  model loaded in ${(r.ms / 1000).toFixed(1)} s`);
});

after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await browser?.close();
  await server?.close();
});

test('the engine runs in a module worker', () => {
  assert.ok(page.workers().length >= 1, 'a dedicated worker is running');
});

test('tokenize equals the native tokenizer', async () => {
  const text = 'Hello, world! <start_of_turn>';
  const ids = await h(page, 'tokenize', text, { addSpecial: true, parseSpecial: true });
  assert.deepEqual(Array.from(ids), nativeTokenize(server.modelFile, text));
  // Round trip of ordinary text. (How control tokens such as <start_of_turn> detokenize is not
  // pinned here: rust/web/API.md says "rendered as their text", the Rust code prints nothing, as
  // llama.cpp does.)
  const plain = 'Hello, world! Ünïcödé 🙂 text';
  const plainIds = await h(page, 'tokenize', plain, { addSpecial: false });
  assert.equal(await h(page, 'detokenize', plainIds), plain);
});

test('chat.completions.create, streamed greedy, first request: same text as the native CLI on the Gemma template', async () => {
  const expected = nativeGreedy(server.modelFile, gemmaChatPrompt(CHAT_MESSAGE), N);
  const r = ok(
    await h(page, 'stream', 'chat', { messages: [{ role: 'user', content: CHAT_MESSAGE }], max_tokens: N, temperature: 0 }),
    'chat stream',
  );
  // The stream: several chunks of the OpenAI shape, only the last with finish_reason and usage.
  assert.ok(r.chunks.length >= 4, `${r.chunks.length} chunks`);
  for (const c of r.chunks) assert.equal(c.object, 'chat.completion.chunk');
  const last = r.chunks.at(-1);
  const finish = last.choices[0].finish_reason;
  assert.ok(finish === 'length' || finish === 'stop', `finish_reason ${finish}`);
  for (const c of r.chunks.slice(0, -1)) {
    assert.equal(c.choices[0].finish_reason, null);
    assert.equal(c.usage, undefined);
  }
  assert.ok(last.usage.prompt_tokens > 0);
  assert.ok(last.usage.completion_tokens > 0 && last.usage.completion_tokens <= N);
  assert.ok(last.usage.timings.decode_tokens_per_second > 0);
  console.error(`  decode ${last.usage.timings.decode_tokens_per_second.toFixed(1)} tok/s, ` +
    `prefill ${last.usage.timings.prefill_tokens_per_second.toFixed(1)} tok/s`);
  // Chunks arrive while decoding, not all at the end.
  const spread = r.times.at(-2) - r.times[0];
  assert.ok(spread > 50, `chunks spread over ${spread} ms`);
  await assertSameText(page, r.text, expected, 'chat.completions.create');
});

// From here on requests share a prefix with an earlier one. With the default prompt caching the
// engine would reuse it (evaluating only the rest, in other batches than a fresh run, so the last
// bits may differ); `cache_prompt: false` reuses only what a fresh run computes identically, so
// the text must be exactly the fresh run's. (Prompt caching itself: the Node integration test and
// rust/cpu/tests/golden_chat.rs.)
test('completions.create, greedy, after another request: same text as the native CLI', async () => {
  const expected = nativeGreedy(server.modelFile, TEXT_PROMPT, N);
  const r = ok(await h(page, 'complete', { prompt: TEXT_PROMPT, max_tokens: N, temperature: 0, cache_prompt: false }), 'completion');
  assert.equal(r.object, 'text_completion');
  await assertSameText(page, r.choices[0].text, expected, 'completions.create');
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, N);
});

test('abort mid-decode ends with finish_reason abort; the engine then answers correctly', async () => {
  const expected = nativeGreedy(server.modelFile, TEXT_PROMPT, N);
  const r = ok(
    await h(page, 'stream', 'text', { prompt: TEXT_PROMPT, max_tokens: 200, temperature: 0 }, { abortAfterChunks: 3 }),
    'aborted stream',
  );
  const last = r.chunks.at(-1);
  assert.equal(last.choices[0].finish_reason, 'abort');
  assert.ok(last.usage.completion_tokens >= 3 && last.usage.completion_tokens < 200,
    `${last.usage.completion_tokens} tokens before the abort`);
  assert.ok(expected.startsWith(r.text), `aborted text ${JSON.stringify(r.text)} is a prefix of the greedy text`);
  // Same request again on the same engine (its KV cache kept from the aborted run).
  const again = ok(
    await h(page, 'complete', { prompt: TEXT_PROMPT, max_tokens: N, temperature: 0, cache_prompt: false }),
    'after abort',
  );
  await assertSameText(page, again.choices[0].text, expected, 'completion after an abort');
});

test('a signal aborted before the request rejects with AbortError', async () => {
  const r = await h(page, 'stream', 'chat', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }, { abortBefore: true });
  assert.equal(r.error?.code, 'ABORTED', JSON.stringify(r.error));
  assert.equal(r.error.name, 'AbortError');
});

test('errors: bad request, missing model, not a GGUF file', async () => {
  const bad = await h(page, 'complete', { prompt: TEXT_PROMPT, max_tokens: 4, temperature: -1 });
  assert.equal(bad.error?.code, 'INVALID_REQUEST', JSON.stringify(bad.error));
  // A second engine in the same page: the first one is kept by the harness only if loads succeed.
  const missing = await page.evaluate(async () => {
    try {
      await window.wc.createEngine({ model: '/models/no-such-model.gguf' });
      return null;
    } catch (e) {
      return { name: e.name, code: e.code, message: e.message };
    }
  });
  assert.equal(missing?.code, 'NETWORK', JSON.stringify(missing));
  const notGguf = await page.evaluate(async () => {
    try {
      await window.wc.createEngine({ model: new Blob([new Uint8Array(4096).fill(7)]) });
      return null;
    } catch (e) {
      return { name: e.name, code: e.code, message: e.message };
    }
  });
  assert.equal(notGguf?.code, 'BAD_GGUF', JSON.stringify(notGguf));
});
