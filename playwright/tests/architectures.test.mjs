// One test per architecture family (issue 15) through the public API in Chromium, on the small
// random-weight models of tests/models/make_llama.py, against llama.cpp's own greedy output
// (tests/golden/generate/<model>.jsonl, made by scripts/oracle/make-generate-goldens.sh):
//
// - CPU backend (the wasm SIMD kernels in the module worker), q8_0 files: for each golden prompt
//   the page's tokenizer gives llama.cpp's prompt ids and the greedy text equals llama.cpp's text
//   byte for byte (invalid UTF-8 replaced the same way on both sides), including where llama.cpp
//   stopped at an end-of-generation token. q8_0 is the type whose logits are bit-identical to
//   llama.cpp's natively, so any drift in the wasm kernels shows up here.
// - WebGPU backend (SwiftShader), f32 files: the GPU sums in another order, so it can only be
//   held to llama.cpp's tokens up to the first step whose top-2 logit gap (the golden's `gaps`)
//   is under NEAR_TIE; past a near-tie either token is right. Per family the golden prompt with
//   the longest such prefix is used (4 to 32 tokens).
//
// Gemma 3 is covered on the real 270M model by api.test.mjs and webgpu.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from '../lib/browser.mjs';
import { startServer } from '../../scripts/serve.mjs';
import { openHarness, h, ok } from '../lib/harness.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const GOLDEN_DIR = path.join(REPO, 'tests', 'golden', 'generate');
const TEST_MODELS = path.join(process.env.WASM_CHORD_CACHE ?? path.join(os.homedir(), '.cache', 'wasm-chord'), 'models', 'test');
const NEAR_TIE = 0.05;

// family → [model file stem (without the type), general.architecture]
const FAMILIES = [
  ['llama, SentencePiece vocabulary', 'llama-spm', 'llama'],
  ['llama, BPE vocabulary (llama-bpe)', 'llama-bpe', 'llama'],
  ['qwen2 (q/k/v biases, NeoX RoPE, tied)', 'qwen2-bpe', 'qwen2'],
  ['qwen3 (q/k norms, own head size)', 'qwen3-bpe', 'qwen3'],
  ['phi3 (fused qkv and gate|up, LongRoPE)', 'phi3-spm', 'phi3'],
  ['phi2 (LayerNorm with bias, parallel attention and FFN, GELU)', 'phi2-bpe', 'phi2'],
  ['gemma (GeGLU, MQA)', 'gemma-spm', 'gemma'],
  ['gemma2 (softcaps, sliding window)', 'gemma2-spm', 'gemma2'],
  ['mixtral-style MoE (llama with experts)', 'mixtral-spm', 'llama'],
  ['qwen3moe (qwen3 with experts)', 'qwen3moe-bpe', 'qwen3moe'],
  ['qwen2moe (qwen2 with experts and a gated shared expert)', 'qwen2moe-bpe', 'qwen2moe'],
];

let server;
let browser;
let page;

/** The golden lines of one model: { prompt, ids, prompt_ids, stop, gaps, text_hex }. */
function goldens(model) {
  const file = path.join(GOLDEN_DIR, `${model}.jsonl`);
  return fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

/** llama.cpp's generated text as the page's stream decoder gives it: the golden keeps the raw
 *  bytes (text_hex) only where they are not valid UTF-8, and those decode with U+FFFD for each
 *  invalid sequence, as our decoder does. */
const goldenText = (g) =>
  g.text_hex == null ? g.text : new TextDecoder('utf-8', { fatal: false }).decode(Buffer.from(g.text_hex, 'hex'));

/** Generates (and hash-checks) the test models, as the Rust tests do through rust/testkit. */
function makeModels(names) {
  execFileSync('python3', [path.join(REPO, 'tests', 'models', 'make_llama.py'), '--only', ...names, '--check'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function loadModel(model, backend) {
  const r = ok(await h(page, 'load', `/test-models/${model}.gguf`, { backend }), `createEngine ${model} (${backend})`);
  assert.equal(r.backend, backend);
  return r;
}

before(async () => {
  makeModels(FAMILIES.flatMap(([, stem]) => [`${stem}-q8_0`, `${stem}-f32`]));
  server = await startServer({ port: 0, quiet: !process.env.PW_DEBUG, mounts: [['/test-models/', TEST_MODELS]] });
  browser = await launch({ name: 'architectures' });
  page = browser.page;
  await openHarness(page, server);
});

after(async () => {
  if (process.exitCode && browser) console.error(browser.logs.slice(-30).join('\n'));
  await h(page, 'unload').catch(() => {});
  await browser?.close();
  await server?.close();
});

for (const [family, stem, arch] of FAMILIES) {
  test(`${family}: CPU backend, greedy text equals llama.cpp's (q8_0)`, async () => {
    const model = `${stem}-q8_0`;
    const r = await loadModel(model, 'cpu');
    assert.equal(r.info.architecture, arch);
    for (const g of goldens(model)) {
      const ids = await h(page, 'tokenize', g.prompt, { addSpecial: true, parseSpecial: true });
      assert.deepEqual(Array.from(ids), g.prompt_ids, `prompt ids of ${JSON.stringify(g.prompt)}`);
      const c = ok(await h(page, 'complete', { prompt: g.prompt, max_tokens: g.n_predict, temperature: 0 }), 'completion');
      const what = `${model}, prompt ${JSON.stringify(g.prompt)}`;
      assert.equal(c.choices[0].text, goldenText(g), `${what}: greedy text`);
      // (the golden's ids end with the end-of-generation token where llama.cpp stopped at one;
      // usage does not count it)
      const generated = g.stop === 'eog' ? g.ids.length - 1 : g.ids.length;
      assert.equal(c.usage.completion_tokens, generated, `${what}: generated tokens`);
      // llama.cpp's "eog": it stopped at an end-of-generation token, and so must we.
      assert.equal(c.choices[0].finish_reason, g.stop === 'eog' ? 'stop' : 'length', `${what}: finish_reason`);
    }
    await h(page, 'unload');
  });

  test(`${family}: WebGPU backend follows llama.cpp's greedy tokens to the first near-tie (f32)`, async () => {
    const model = `${stem}-f32`;
    // The prompt whose greedy run keeps the top-2 gap above NEAR_TIE the longest.
    const safe = (g) => {
      const k = g.gaps.findIndex((gap) => gap < NEAR_TIE);
      return k < 0 ? g.ids.length : k;
    };
    const g = goldens(model).reduce((best, x) => (safe(x) > safe(best) ? x : best));
    const n = safe(g);
    assert.ok(n >= 4, `${model}: a golden prompt with at least 4 tokens before a near-tie`);
    const r = await loadModel(model, 'webgpu');
    assert.equal(r.info.architecture, arch);
    assert.match(r.info.gpuAdapter, /swiftshader/i);
    const c = ok(await h(page, 'complete', { prompt: g.prompt, max_tokens: n, temperature: 0 }), 'completion');
    // The expected text: llama.cpp's first n tokens as they continue the prompt, detokenized by
    // the same engine (checked against llama.cpp by the CPU test above). Detokenized after the
    // prompt's ids, as a stream sees them: alone, a SentencePiece first token would lose its
    // leading space.
    const prompt = await h(page, 'detokenize', g.prompt_ids);
    const whole = await h(page, 'detokenize', [...g.prompt_ids, ...g.ids.slice(0, n)]);
    assert.ok(whole.startsWith(prompt), `${model}: the prompt's text is a prefix of prompt + tokens`);
    const expected = whole.slice(prompt.length);
    assert.equal(c.choices[0].text, expected, `${model}, ${n} tokens of ${JSON.stringify(g.prompt)} on WebGPU`);
    assert.equal(c.usage.completion_tokens, n);
    console.error(`  ${model} on WebGPU: ${n} tokens equal to llama.cpp's`);
    await h(page, 'unload');
  });
}
