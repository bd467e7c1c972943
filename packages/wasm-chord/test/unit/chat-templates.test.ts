// Chat templates as exact strings. Gemma, ChatML, Llama 2 and Llama 3 must equal the Rust CLI's
// builtins (rust/model/src/chat.rs), so native `wasm-chord chat` and the package send the same tokens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BUILTIN_CHAT_TEMPLATES,
  chooseChatTemplate,
  renderChat,
  type BuiltinChatTemplate,
  type TemplateMessage,
} from '../../src/chat-templates.js';
import { InvalidRequestError } from '../../src/errors.js';

const tokens = { bosToken: '<bos>', eosToken: '<eos>', addBos: true };
const conversation: TemplateMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Bye' },
];
const builtin = (name: BuiltinChatTemplate, messages = conversation) =>
  renderChat({ type: 'builtin', name }, messages, tokens);

test('gemma: the reference format of chat.rs (system merged into the first user turn)', () => {
  assert.equal(
    builtin('gemma'),
    '<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n' +
      '<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n',
  );
});

test('gemma: a single user turn, contents trimmed', () => {
  assert.equal(
    builtin('gemma', [{ role: 'user', content: '  What is 2+2?\n' }]),
    '<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n',
  );
});

test('chatml', () => {
  assert.equal(
    builtin('chatml'),
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n' +
      '<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n',
  );
});

test('llama3 (no <|begin_of_text|>: tokenization adds BOS)', () => {
  assert.equal(
    builtin('llama3'),
    '<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>' +
      '<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>' +
      '<|start_header_id|>assistant<|end_header_id|>\n\n',
  );
});

test('llama2', () => {
  assert.equal(builtin('llama2'), '[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]');
});

test('mistral', () => {
  assert.equal(builtin('mistral'), '[INST] Be brief.\n\nHi[/INST] Hello!</s>[INST] Bye[/INST]');
});

test('phi3', () => {
  assert.equal(
    builtin('phi3'),
    '<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n<|user|>\nBye<|end|>\n<|assistant|>\n',
  );
});

test('alpaca', () => {
  assert.equal(
    builtin('alpaca'),
    'Be brief.\n\n### Instruction:\nHi\n\n### Response:\nHello!\n\n### Instruction:\nBye\n\n### Response:\n',
  );
});

test('every builtin has a test above', () => {
  assert.deepEqual([...BUILTIN_CHAT_TEMPLATES].sort(), ['alpaca', 'chatml', 'gemma', 'llama2', 'llama3', 'mistral', 'phi3']);
});

const jinjaSource =
  "{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}" +
  '{% if add_generation_prompt %}<assistant>{% endif %}';

test('jinja: renders messages, eos_token and the generation prompt; a leading BOS is stripped', () => {
  const out = renderChat({ type: 'jinja', source: jinjaSource }, [{ role: 'user', content: 'x' }], tokens);
  assert.equal(out, '<user>x<eos><assistant>');
});

test('jinja: BOS is kept when the model does not add one itself', () => {
  const out = renderChat({ type: 'jinja', source: jinjaSource }, [{ role: 'user', content: 'x' }], {
    ...tokens,
    addBos: false,
  });
  assert.equal(out, '<bos><user>x<eos><assistant>');
});

test('jinja: a realistic template (Gemma-style with loop.first and namespace)', () => {
  const source =
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{% set first = messages[0]['content'] + '\n\n' %}" +
    '{% set loop_messages = messages[1:] %}{% else %}{% set first = "" %}{% set loop_messages = messages %}{% endif %}' +
    "{% for message in loop_messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}" +
    "{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + role + '\n' + (first if loop.first else '') }}" +
    "{{ message['content'] | trim }}{{ '<end_of_turn>\n' }}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}";
  const out = renderChat({ type: 'jinja', source }, conversation, tokens);
  assert.equal(out, builtin('gemma'));
});

test('jinja: raise_exception becomes INVALID_REQUEST with the template message', () => {
  assert.throws(
    () => renderChat({ type: 'jinja', source: "{{ raise_exception('no system role') }}" }, conversation, tokens),
    (err: unknown) => err instanceof InvalidRequestError && /no system role/.test(err.message),
  );
});

test('choose: explicit builtin, explicit Jinja, invalid override', async () => {
  const probe = { chatTemplate: null, tokenizerModel: 'llama', isSingleToken: () => false };
  assert.deepEqual(await chooseChatTemplate(probe, 'chatml'), { type: 'builtin', name: 'chatml' });
  assert.deepEqual(await chooseChatTemplate(probe, jinjaSource), { type: 'jinja', source: jinjaSource });
  await assert.rejects(chooseChatTemplate(probe, 'no-such'), InvalidRequestError);
  await assert.rejects(chooseChatTemplate(probe, '{% for %}'), InvalidRequestError);
});

test("choose: the model's own template wins over the vocabulary", async () => {
  const probe = { chatTemplate: jinjaSource, tokenizerModel: 'llama', isSingleToken: () => true };
  assert.deepEqual(await chooseChatTemplate(probe), { type: 'jinja', source: jinjaSource });
});

test('choose: builtins recognised from single special tokens, then by tokenizer', async () => {
  const pick = async (specials: string[], tokenizerModel = 'gpt2') =>
    (await chooseChatTemplate({ chatTemplate: null, tokenizerModel, isSingleToken: (t) => specials.includes(t) })) as {
      name: string;
    };
  assert.equal((await pick(['<start_of_turn>', '<|im_start|>'])).name, 'gemma');
  assert.equal((await pick(['<|start_header_id|>'])).name, 'llama3');
  assert.equal((await pick(['<|im_start|>'])).name, 'chatml');
  assert.equal((await pick(['<|assistant|>', '<|end|>'])).name, 'phi3');
  assert.equal((await pick(['[INST]'])).name, 'mistral');
  assert.equal((await pick([], 'llama')).name, 'llama2');
  assert.equal((await pick([], 'gpt2')).name, 'alpaca');
});
