#!/usr/bin/env node
// Time to first token, turn by turn, of a scripted chat through the npm package (Node, the wasm
// CPU backend), with prompt caching on (the default: only a turn's new tokens are evaluated) and
// off (`cache_prompt: false`: only whole 512-token chunks a fresh run computes identically are
// reused — the behaviour before prompt caching).
//
//   node scripts/bench-chat.mjs [MODEL.gguf]     (default: the test model of scripts/test-model.sh)
//   TURNS=5 MAX_TOKENS=48 node scripts/bench-chat.mjs
//
// Needs the built package (npm run build). Greedy replies, so both runs hold the same conversation.
// Prints one table row per turn: prompt tokens, cached tokens and time to first token, each way.

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { createEngine } = await import(path.join(REPO, 'packages/wasm-chord/dist/index.js'));

const model =
  process.argv[2] ?? execFileSync('bash', [path.join(REPO, 'scripts/test-model.sh')], { encoding: 'utf8' }).trim();
const turns = Number(process.env.TURNS ?? 5);
const maxTokens = Number(process.env.MAX_TOKENS ?? 48);

// A first turn with some substance (a pasted text, as chats often start), then short follow-ups.
const USERS = [
  'Here are my notes from the trip: ' +
    'We left early on Monday, drove along the coast, stopped at a small fishing harbour for lunch, '.repeat(12) +
    'Summarise them.',
  'What did we eat for lunch?',
  'Where did we drive?',
  'Suggest a title for the trip report.',
  'Thanks! Write one closing sentence.',
  'And a subtitle?',
  'One more idea for the next trip?',
];

async function play(engine, cachePrompt) {
  const messages = [];
  const rows = [];
  for (const content of USERS.slice(0, turns)) {
    messages.push({ role: 'user', content });
    const t0 = performance.now();
    let ttft = null;
    let reply = '';
    let usage;
    const stream = await engine.chat.completions.create({
      messages,
      stream: true,
      max_tokens: maxTokens,
      temperature: 0,
      cache_prompt: cachePrompt,
    });
    for await (const chunk of stream) {
      const text = chunk.choices[0].delta.content ?? '';
      if (text && ttft === null) ttft = performance.now() - t0;
      reply += text;
      usage = chunk.usage ?? usage;
    }
    messages.push({ role: 'assistant', content: reply });
    rows.push({ ttft, prompt: usage.prompt_tokens, cached: usage.prompt_tokens_details.cached_tokens });
  }
  return rows;
}

// A fresh engine per run, so no run starts on another's cache.
async function fresh(cachePrompt) {
  const engine = await createEngine({ model });
  try {
    return { rows: await play(engine, cachePrompt), label: `${engine.backend} (${engine.cpuKernels}), ${engine.threads} thread(s)` };
  } finally {
    await engine.unload();
  }
}

const off = await fresh(false);
const on = await fresh(true);
console.log(`# ${path.basename(model)}, ${on.label}, Node ${process.version}, ${maxTokens} reply tokens a turn`);
console.log('| turn | prompt tokens | cache_prompt off: cached / TTFT | on (default): cached / TTFT | speed-up |');
console.log('|--:|--:|--:|--:|--:|');
for (let i = 0; i < on.rows.length; i++) {
  const a = off.rows[i];
  const b = on.rows[i];
  console.log(
    `| ${i + 1} | ${b.prompt} | ${a.cached} / ${(a.ttft / 1000).toFixed(2)} s | ${b.cached} / ${(b.ttft / 1000).toFixed(2)} s | ${(a.ttft / b.ttft).toFixed(1)}× |`,
  );
}
