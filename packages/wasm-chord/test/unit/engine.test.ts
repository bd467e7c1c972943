import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine } from '../../src/engine.js';
import { AbortError, EngineUnloadedError, InvalidRequestError } from '../../src/errors.js';
import type { ChatCompletionChunk, CompletionChunk } from '../../src/types.js';
import { FakeClient, fakeInfo } from './fakes.js';

async function engineWith(client: FakeClient, chatTemplate?: string): Promise<Engine> {
  return Engine.create({
    client,
    loaded: { info: fakeInfo, backend: 'cpu', backendReason: 'test', threads: 1, cpuKernels: 'portable' },
    modelLabel: 'fake.gguf',
    ...(chatTemplate !== undefined && { chatTemplate }),
  });
}

test('the Gemma builtin is chosen from the vocabulary and the rendered prompt is sent with special tokens', async () => {
  const client = new FakeClient(() => ['Hi', '!']);
  const engine = await engineWith(client);
  assert.deepEqual(engine.chatTemplate, { type: 'builtin', name: 'gemma' });
  const res = await engine.chat.completions.create({
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
    ],
    max_tokens: 5,
    temperature: 0,
  });
  assert.equal(client.requests[0]!.prompt, '<start_of_turn>user\nBe brief.\n\nHello<end_of_turn>\n<start_of_turn>model\n');
  assert.equal(client.requests[0]!.addSpecial, true);
  assert.equal(client.requests[0]!.parseSpecial, true);
  assert.deepEqual(client.requests[0]!.sampling, { maxTokens: 5, temperature: 0 });
  assert.equal(res.object, 'chat.completion');
  assert.equal(res.model, 'fake.gguf');
  assert.equal(res.choices[0]!.message.content, 'Hi!');
  assert.equal(res.choices[0]!.finish_reason, 'length');
  assert.equal(res.usage.completion_tokens, 2);
  assert.equal(res.usage.total_tokens, 5);
});

test('chat stream: role chunk, content chunks, last chunk with finish_reason and usage', async () => {
  const engine = await engineWith(new FakeClient(() => ['A', 'B', 'C']));
  const stream = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'x' }], stream: true });
  const chunks: ChatCompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.length, 5);
  assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
  assert.deepEqual(chunks.slice(1, 4).map((c) => c.choices[0]!.delta.content), ['A', 'B', 'C']);
  const last = chunks[4]!;
  assert.equal(last.object, 'chat.completion.chunk');
  assert.equal(last.choices[0]!.finish_reason, 'length');
  assert.equal(last.usage?.completion_tokens, 3);
  assert.ok(chunks.slice(0, 4).every((c) => c.choices[0]!.finish_reason === null && c.usage === undefined));
  assert.ok(chunks.every((c) => c.id === chunks[0]!.id));
});

test('stop strings across pieces in a stream: nothing past the stop, finish_reason stop', async () => {
  const engine = await engineWith(new FakeClient(() => ['one', ' two', ' ST', 'OP', ' three']));
  const stream = await engine.completions.create({ prompt: 'count', stream: true, stop: ['STOP'] });
  const chunks: CompletionChunk[] = [];
  for await (const c of stream) chunks.push(c);
  assert.equal(chunks.map((c) => c.choices[0]!.text).join(''), 'one two ');
  assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'stop');
  assert.equal(chunks.at(-1)!.object, 'text_completion');
});

test('text completion: prompt passed as is with BOS and special tokens; ids accepted', async () => {
  const client = new FakeClient(() => ['x']);
  const engine = await engineWith(client);
  const res = await engine.completions.create({ prompt: 'The capital', max_tokens: 1 });
  assert.equal(res.choices[0]!.text, 'x');
  assert.equal(client.requests[0]!.prompt, 'The capital');
  await engine.completions.create({ prompt: [2, 3] });
  assert.deepEqual(client.requests[1]!.prompt, [2, 3]);
});

test('abort during a stream ends it with finish_reason abort; the engine stays usable', async () => {
  const engine = await engineWith(new FakeClient(() => Array(200).fill('t'), 2));
  const controller = new AbortController();
  const stream = await engine.chat.completions.create({
    messages: [{ role: 'user', content: 'x' }],
    stream: true,
    signal: controller.signal,
  });
  let n = 0;
  let finish: string | null = null;
  for await (const c of stream) {
    if (c.choices[0]!.delta.content) n++;
    if (n === 3) controller.abort();
    finish = c.choices[0]!.finish_reason ?? finish;
  }
  assert.equal(finish, 'abort');
  assert.ok(n < 200);
  const again = await engine.completions.create({ prompt: 'y', max_tokens: 1 });
  assert.equal(again.choices[0]!.finish_reason, 'length');
});

test('breaking out of a stream aborts the generation and frees the engine', async () => {
  const client = new FakeClient(() => Array(200).fill('t'), 2);
  const engine = await engineWith(client);
  const stream = await engine.completions.create({ prompt: 'x', stream: true });
  for await (const c of stream) {
    if (c.choices[0]!.text) break;
  }
  const next = await engine.completions.create({ prompt: 'y' });
  assert.equal(next.choices[0]!.finish_reason, 'length');
});

test('one request at a time: a second one waits in the queue; aborting it while queued rejects', async () => {
  const client = new FakeClient(() => Array(30).fill('t'), 1);
  const engine = await engineWith(client);
  const order: string[] = [];
  const first = engine.completions.create({ prompt: 'a' }).then(() => order.push('first'));
  const second = engine.completions.create({ prompt: 'b' }).then(() => order.push('second'));
  const controller = new AbortController();
  const third = engine.completions.create({ prompt: 'c', signal: controller.signal });
  controller.abort();
  await assert.rejects(third, AbortError);
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(client.requests.length, 2);
});

test('an already aborted signal rejects with AbortError', async () => {
  const engine = await engineWith(new FakeClient(() => ['x']));
  await assert.rejects(engine.completions.create({ prompt: 'a', signal: AbortSignal.abort() }), (e: unknown) => {
    return e instanceof AbortError && e.code === 'ABORTED';
  });
});

test('invalid requests reject with INVALID_REQUEST before anything runs', async () => {
  const client = new FakeClient(() => ['x']);
  const engine = await engineWith(client);
  await assert.rejects(engine.chat.completions.create({ messages: [] }), InvalidRequestError);
  await assert.rejects(engine.completions.create({ prompt: 'a', top_p: 3 }), /top_p/);
  await assert.rejects(engine.detokenize([1000]), InvalidRequestError);
  assert.equal(client.requests.length, 0);
});

test('chatTemplate override and formatChat', async () => {
  const engine = await engineWith(new FakeClient(() => []), 'chatml');
  assert.equal(engine.formatChat([{ role: 'user', content: 'q' }]), '<|im_start|>user\nq<|im_end|>\n<|im_start|>assistant\n');
});

test('unload stops the running request; later calls fail with ENGINE_UNLOADED', async () => {
  const client = new FakeClient(() => Array(500).fill('t'), 1);
  const engine = await engineWith(client);
  const running = engine.completions.create({ prompt: 'a' });
  await new Promise((r) => setTimeout(r, 10));
  await engine.unload();
  assert.equal((await running).choices[0]!.finish_reason, 'abort');
  assert.equal(client.disposed, true);
  await assert.rejects(engine.completions.create({ prompt: 'b' }), EngineUnloadedError);
  await assert.rejects(engine.tokenize('b'), EngineUnloadedError);
});
