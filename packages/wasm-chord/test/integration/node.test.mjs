// Integration, Node: the built package (dist/) loads the real Gemma 3 270M model and its greedy
// text equals the native CLI's for the same prompt. The expected text is computed here by running
// the CLI (never hard-coded).
//
//   WASM_CHORD_MODEL=path/to/gemma-3-270m-Q4_K_M.gguf WASM_CHORD_CLI=target/release/wasm-chord \
//     node --test test/integration/node.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  createEngine,
  BadGgufError,
  BackendUnavailableError,
  IntegrityError,
  PromptTooLongError,
  AbortError,
  listCachedModels,
  storageEstimate,
} from '../../dist/index.js';

const MODEL = process.env.WASM_CHORD_MODEL;
const CLI = process.env.WASM_CHORD_CLI;
if (!MODEL || !CLI) throw new Error('set WASM_CHORD_MODEL and WASM_CHORD_CLI (npm test does)');

/** Greedy continuation from the native CLI: stdout is the generated text only (memoised: several
 *  tests compare against the same prompt). */
const cliCache = new Map();
function cliRun(prompt, n = 16) {
  const key = `${n}\0${prompt}`;
  if (!cliCache.has(key)) {
    const out = execFileSync(CLI, ['run', '-m', MODEL, '-p', prompt, '-n', String(n), '--temp', '0'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cliCache.set(key, out);
  }
  return cliCache.get(key);
}
function cliTokenize(text) {
  return JSON.parse(execFileSync(CLI, ['tokenize', '-m', MODEL, '-p', text], { encoding: 'utf8' }));
}

let engine;
before(async () => {
  const phases = new Set();
  engine = await createEngine({ model: MODEL, onProgress: (p) => phases.add(p.phase) });
  assert.ok(phases.has('load'));
});
after(async () => {
  await engine?.unload();
});

test('model info, backend and the chosen chat template', () => {
  assert.equal(engine.info.architecture, 'gemma3');
  assert.equal(engine.info.nVocab, 262144);
  assert.equal(engine.info.fileSize, fs.statSync(MODEL).size);
  assert.equal(engine.backend, 'cpu');
  // Node 20 has no relaxed SIMD (Node 22+ would take the relaxed module); self-checked at load.
  assert.match(engine.cpuKernels, /^simd128/);
  assert.match(engine.backendReason, /CPU/);
  assert.deepEqual(engine.chatTemplate, { type: 'builtin', name: 'gemma' });
});

test('tokenize equals the CLI (BOS, special tokens parsed) and detokenize inverts it', async () => {
  const text = 'Hello, world! <start_of_turn>user';
  const ids = await engine.tokenize(text, { addSpecial: true, parseSpecial: true });
  assert.deepEqual(ids, cliTokenize(text));
  assert.equal(ids[0], (await engine.tokenize('', { addSpecial: true }))[0], 'starts with BOS');
  const plain = 'Grüße, 世界! 🙂';
  const plainIds = await engine.tokenize(plain, { addSpecial: false });
  assert.equal(await engine.detokenize(plainIds), plain);
});

for (const prompt of ['The capital of France is', 'Once upon a time']) {
  test(`greedy completion equals the CLI: ${JSON.stringify(prompt)}`, async () => {
    const expected = cliRun(prompt);
    // cache_prompt: false: the text of a fresh run whatever ran before (see the chat test below).
    const res = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0, cache_prompt: false });
    assert.equal(res.object, 'text_completion');
    assert.equal(res.choices[0].text, expected);
    assert.ok(res.usage.completion_tokens <= 16);
    assert.ok(res.usage.timings.decode_tokens_per_second > 0);
  });
}

test('streamed greedy text equals the non-streamed text; the last chunk has usage', async () => {
  const prompt = 'The capital of France is';
  const fresh = { prompt, max_tokens: 16, temperature: 0, cache_prompt: false };
  const whole = await engine.completions.create(fresh);
  const stream = await engine.completions.create({ ...fresh, stream: true });
  let text = '';
  let last;
  for await (const chunk of stream) {
    text += chunk.choices[0].text;
    last = chunk;
  }
  assert.equal(text, whole.choices[0].text);
  assert.equal(last.choices[0].finish_reason, whole.choices[0].finish_reason);
  assert.equal(last.usage.completion_tokens, whole.usage.completion_tokens);
  // cache_prompt: false reuses only whole 512-token chunks (anything finer could change the
  // numbers), so this short prompt is evaluated again in full.
  assert.equal(last.usage.prompt_tokens_details.cached_tokens, 0);
  // By default the same prompt again is reused up to its last token.
  const again = await engine.completions.create({ prompt, max_tokens: 1, temperature: 0 });
  assert.equal(again.usage.prompt_tokens_details.cached_tokens, again.usage.prompt_tokens - 1);
});

test('chat completion: the Gemma builtin prompt tokenizes as the CLI does, and generates as that prompt', async () => {
  const messages = [
    { role: 'system', content: 'Answer in one word.' },
    { role: 'user', content: 'What is the capital of France?' },
  ];
  const prompt = engine.formatChat(messages);
  assert.equal(
    prompt,
    '<start_of_turn>user\nAnswer in one word.\n\nWhat is the capital of France?<end_of_turn>\n<start_of_turn>model\n',
  );
  // The CLI parses special-token text in -p: the same ids means the same turn structure.
  assert.deepEqual(await engine.tokenize(prompt, { addSpecial: true, parseSpecial: true }), cliTokenize(prompt));
  // (Greedy text is compared with the CLI on the plain prompts above; a chat answer can hinge on a
  // near-tie between two tokens, which native and wasm float kernels may break differently.)
  const chat = await engine.chat.completions.create({ messages, max_tokens: 8, temperature: 0, cache_prompt: false });
  const raw = await engine.completions.create({ prompt, max_tokens: 8, temperature: 0, cache_prompt: false });
  assert.equal(chat.object, 'chat.completion');
  assert.equal(chat.choices[0].message.role, 'assistant');
  assert.equal(chat.choices[0].message.content, raw.choices[0].text);
  assert.equal(chat.usage.prompt_tokens, raw.usage.prompt_tokens);
});

test('stop string: the text ends before it, finish_reason stop', async () => {
  const prompt = 'The capital of France is';
  const full = cliRun(prompt);
  // A stop string taken from the middle of the known continuation.
  const words = full.trim().split(/\s+/);
  if (words.length < 3) return; // nothing to cut: the continuation is too short
  const stop = words[1];
  const res = await engine.completions.create({ prompt, max_tokens: 16, temperature: 0, stop, cache_prompt: false });
  assert.equal(res.choices[0].text, full.slice(0, full.indexOf(stop)));
  assert.equal(res.choices[0].finish_reason, 'stop');
});

test('abort mid-stream: finish_reason abort, and the next request is unaffected', async () => {
  const controller = new AbortController();
  const stream = await engine.completions.create({
    prompt: 'Once upon a time',
    max_tokens: 200,
    temperature: 0,
    stream: true,
    signal: controller.signal,
  });
  let pieces = 0;
  let finish;
  for await (const chunk of stream) {
    if (chunk.choices[0].text) pieces += 1;
    if (pieces === 2) controller.abort();
    finish = chunk.choices[0].finish_reason ?? finish;
  }
  assert.equal(finish, 'abort');
  assert.ok(pieces < 200);
  const expected = cliRun('The capital of France is');
  const res = await engine.completions.create({
    prompt: 'The capital of France is',
    max_tokens: 16,
    temperature: 0,
    cache_prompt: false,
  });
  assert.equal(res.choices[0].text, expected);
});

// A 3-turn chat, played once by the CLI (from stdin, one line per turn; each reply ends with a
// newline) and through the package, with prompt caching on (and off).
const CHAT_USERS = ['Hi! What is the capital of France?', 'And what is it famous for?', 'Name one museum there.'];
async function playChat(cachePrompt) {
  const messages = [];
  const turns = [];
  for (const content of CHAT_USERS) {
    messages.push({ role: 'user', content });
    const res = await engine.chat.completions.create({ messages, max_tokens: 12, temperature: 0, cache_prompt: cachePrompt });
    const reply = res.choices[0].message.content;
    messages.push({ role: 'assistant', content: reply });
    turns.push({ reply, usage: res.usage });
  }
  return turns;
}
let cachedChat;

test('a chat reuses the cached conversation: turn N evaluates only its new tokens', async () => {
  cachedChat = await playChat(true);
  for (let i = 1; i < cachedChat.length; i++) {
    const { prompt_tokens, prompt_tokens_details } = cachedChat[i].usage;
    // Everything up to the new turn is reused: the earlier prompt and the reply that went through
    // the network; only the turn markers and the new message are evaluated.
    assert.ok(prompt_tokens_details.cached_tokens >= cachedChat[i - 1].usage.prompt_tokens, `turn ${i} reused the previous prompt`);
    assert.ok(prompt_tokens - prompt_tokens_details.cached_tokens < 40, `turn ${i} evaluated only its new tokens`);
  }
  // cache_prompt: false evaluates every turn whole (these prompts are shorter than one 512-token chunk).
  for (const t of await playChat(false)) assert.equal(t.usage.prompt_tokens_details.cached_tokens, 0);
});

// The package's cached chat (wasm CPU) must equal the native CLI's, which
// rust/cpu/tests/golden_chat.rs checks against llama.cpp's cached chats.
test('chat replies with prompt caching equal `wasm-chord chat`', async () => {
  const cli = execFileSync(CLI, ['chat', '-m', MODEL, '-n', '12', '--temp', '0'], {
    input: CHAT_USERS.join('\n') + '\n',
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  assert.equal((cachedChat ?? (await playChat(true))).map((t) => `${t.reply}\n`).join(''), cli);
});

test('a prompt longer than the context: PROMPT_TOO_LONG', async () => {
  const small = await createEngine({ model: MODEL, nCtx: 32 });
  try {
    await assert.rejects(small.completions.create({ prompt: 'word '.repeat(100) }), PromptTooLongError);
    // The engine is still usable.
    const ok = await small.completions.create({ prompt: 'Hi', max_tokens: 2, temperature: 0 });
    assert.ok(ok.usage.completion_tokens <= 2);
  } finally {
    await small.unload();
  }
});

test('load errors: not a GGUF, webgpu backend, sha256 mismatch, abort', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-test-'));
  const bad = path.join(dir, 'bad.gguf');
  fs.writeFileSync(bad, 'this is not a gguf file at all');
  try {
    await assert.rejects(createEngine({ model: bad }), (e) => e instanceof BadGgufError && e.code === 'BAD_GGUF');
    await assert.rejects(createEngine({ model: MODEL, backend: 'webgpu' }), (e) => {
      return e instanceof BackendUnavailableError && e.code === 'BACKEND_UNAVAILABLE';
    });
    await assert.rejects(createEngine({ model: MODEL, sha256: '0'.repeat(64) }), (e) => {
      return e instanceof IntegrityError && e.code === 'INTEGRITY' && e.message.includes('0'.repeat(64));
    });
    const controller = new AbortController();
    const loading = createEngine({
      model: MODEL,
      signal: controller.signal,
      onProgress: (p) => p.phase === 'load' && p.loaded > 0 && controller.abort(),
    });
    await assert.rejects(loading, (e) => e instanceof AbortError && e.code === 'ABORTED');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('no OPFS in Node: the cache API is empty, storageEstimate is null', async () => {
  assert.deepEqual(await listCachedModels(), []);
  assert.equal(await storageEstimate(), null);
});

test('a URL model (fetched into memory) and a Blob model give the same text', async () => {
  const server = http.createServer((req, res) => {
    const size = fs.statSync(MODEL).size;
    res.writeHead(200, { 'content-length': String(size), 'content-type': 'application/octet-stream' });
    fs.createReadStream(MODEL).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const prompt = 'The capital of France is';
  const expected = cliRun(prompt, 8);
  try {
    const url = `http://127.0.0.1:${server.address().port}/gemma.gguf`;
    let downloaded = 0;
    const fromUrl = await createEngine({ model: url, onProgress: (p) => p.phase === 'download' && (downloaded = p.loaded) });
    assert.equal(downloaded, fs.statSync(MODEL).size);
    const a = await fromUrl.completions.create({ prompt, max_tokens: 8, temperature: 0 });
    await fromUrl.unload();
    assert.equal(a.choices[0].text, expected);
    const blob = await fs.openAsBlob(MODEL);
    const fromBlob = await createEngine({ model: blob });
    const b = await fromBlob.completions.create({ prompt, max_tokens: 8, temperature: 0 });
    await fromBlob.unload();
    assert.equal(b.choices[0].text, expected);
  } finally {
    server.close();
  }
});
