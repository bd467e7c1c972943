// The package's chat templates against llama.cpp's renderings in tests/golden/chat-templates
// (made by scripts/oracle/make-chat-template-goldens.sh; rust/model/tests/chat_templates.rs holds
// the Rust side to the same files). The package always asks for the generation cue, so only the
// goldens with add_generation_prompt are compared.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderChat, type BuiltinChatTemplate, type TemplateMessage } from '../../src/chat-templates.js';

// This file runs from packages/wasm-chord/.build-test/test/unit/.
const goldenDir = fileURLToPath(new URL('../../../../../tests/golden/chat-templates/', import.meta.url));

interface Golden {
  template: string;
  conversation: string;
  messages: TemplateMessage[];
  add_generation_prompt: boolean;
  legacy: string;
  jinja?: string | null;
  bos?: string;
  eos?: string;
}

function goldens(file: string): Golden[] {
  return fs
    .readFileSync(goldenDir + file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Golden)
    .filter((g) => g.add_generation_prompt);
}

const noTokens = { bosToken: null, eosToken: null, addBos: true };

test('builtins equal llama.cpp builtins of the same name', () => {
  const cases = goldens('builtin.jsonl');
  assert.equal(cases.length, 16);
  for (const g of cases) {
    const out = renderChat({ type: 'builtin', name: g.template as BuiltinChatTemplate }, g.messages, noTokens);
    assert.equal(out, g.legacy, `${g.template} / ${g.conversation}`);
  }
});

test("the llama2 builtin equals Meta's template as llama.cpp's Jinja engine renders it", () => {
  const cases = goldens('jinja.jsonl').filter((g) => g.template === 'llama2');
  assert.equal(cases.length, 4);
  for (const g of cases) {
    const want = g.jinja!.slice(g.bos!.length);
    assert.equal(renderChat({ type: 'builtin', name: 'llama2' }, g.messages, noTokens), want, g.conversation);
  }
});

test("family Jinja templates render as llama.cpp's Jinja engine renders them", () => {
  const cases = goldens('jinja.jsonl');
  assert.equal(cases.length, 9 * 4);
  for (const g of cases) {
    const source = fs.readFileSync(`${goldenDir}jinja/${g.template}.jinja`, 'utf8');
    const tokens = { bosToken: g.bos || null, eosToken: g.eos || null, addBos: true };
    // Without the leading BOS text: tokenization adds BOS as a token.
    const want = g.jinja!.startsWith(g.bos!) ? g.jinja!.slice(g.bos!.length) : g.jinja!;
    assert.equal(renderChat({ type: 'jinja', source }, g.messages, tokens), want, `${g.template} / ${g.conversation}`);
  }
});
