// The main-thread side of the worker protocol, against a fake worker that answers like worker.ts:
// messages go through structuredClone (as postMessage does), errors come back as plain objects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerClient } from '../../src/worker-client.js';
import { BadGgufError, InternalError, PromptTooLongError, toPlain } from '../../src/errors.js';
import type { FromWorker, ToWorker } from '../../src/protocol.js';
import type { LoadProgress } from '../../src/types.js';
import { fakeInfo, usage } from './fakes.js';

class FakeWorker extends EventTarget {
  received: ToWorker[] = [];
  terminated = false;
  constructor(private readonly serve: (msg: ToWorker, reply: (m: FromWorker) => void) => void) {
    super();
  }
  postMessage(msg: unknown): void {
    const copy = structuredClone(msg) as ToWorker;
    this.received.push(copy);
    setImmediate(() =>
      this.serve(copy, (m) => this.dispatchEvent(new MessageEvent('message', { data: structuredClone(m) }))),
    );
  }
  terminate(): void {
    this.terminated = true;
  }
}

const asWorker = (w: FakeWorker) => w as unknown as Worker;

test('load: progress events reach the callback, the result resolves', async () => {
  const progress: LoadProgress = { phase: 'load', loaded: 5, total: 10, fromCache: false, text: 'x' };
  const w = new FakeWorker((msg, reply) => {
    if (msg.type !== 'load') return;
    reply({ type: 'progress', id: msg.id, progress });
    reply({ type: 'result', id: msg.id, value: { info: fakeInfo, backend: 'cpu', backendReason: 'r', threads: 1, cpuKernels: 'portable' } });
  });
  const client = new WorkerClient(asWorker(w));
  const seen: LoadProgress[] = [];
  const res = await client.load(
    { source: { kind: 'url', url: 'https://x.test/m.gguf' }, backend: 'auto', cache: true },
    (p) => seen.push(p),
  );
  assert.deepEqual(seen, [progress]);
  assert.equal(res.info.architecture, 'gemma3');
});

test('errors cross as {name, message, code} and are rebuilt into the named classes', async () => {
  const w = new FakeWorker((msg, reply) => {
    if (msg.type === 'load') reply({ type: 'error', id: msg.id, error: toPlain(new BadGgufError('not a GGUF file')) });
    if (msg.type === 'tokenize') reply({ type: 'error', id: msg.id, error: toPlain(new PromptTooLongError('long')) });
  });
  const client = new WorkerClient(asWorker(w));
  await assert.rejects(
    client.load({ source: { kind: 'url', url: 'u' }, backend: 'auto', cache: true }, () => {}),
    (e: unknown) => e instanceof BadGgufError && e.code === 'BAD_GGUF' && e.message === 'not a GGUF file',
  );
  await assert.rejects(client.tokenize('x', true, false), PromptTooLongError);
});

test('generate: events stream in order; an aborted signal sends an abort message for that call', async () => {
  const w = new FakeWorker((msg, reply) => {
    if (msg.type === 'generate') {
      reply({ type: 'event', id: msg.id, event: { type: 'text', text: 'a' } });
    }
    if (msg.type === 'abort') {
      reply({ type: 'event', id: msg.id, event: { type: 'text', text: 'b' } });
      reply({ type: 'result', id: msg.id, value: { finishReason: 'abort', usage: usage(2) } });
    }
  });
  const client = new WorkerClient(asWorker(w));
  const controller = new AbortController();
  let text = '';
  const done = client.generate(
    { prompt: 'p', addSpecial: true, parseSpecial: true, sampling: {}, stop: [] },
    (e) => {
      if (e.type === 'text') text += e.text;
      if (text === 'a') controller.abort();
    },
    controller.signal,
  );
  const finish = await done;
  assert.equal(finish.finishReason, 'abort');
  assert.equal(text, 'ab');
  const generateId = w.received.find((m) => m.type === 'generate')!.id;
  assert.deepEqual(w.received.at(-1), { type: 'abort', id: generateId });
});

test('a worker that fails to start rejects pending and later calls', async () => {
  const w = new FakeWorker(() => {});
  const client = new WorkerClient(asWorker(w));
  const pending = client.detokenize([1]);
  w.dispatchEvent(Object.assign(new Event('error'), { message: 'SyntaxError in worker.js' }));
  await assert.rejects(pending, (e: unknown) => e instanceof InternalError && /SyntaxError/.test(e.message));
  await assert.rejects(client.detokenize([1]), InternalError);
});

test('dispose terminates the worker', async () => {
  const w = new FakeWorker((msg, reply) => {
    if (msg.type === 'dispose') reply({ type: 'result', id: msg.id, value: undefined });
  });
  const client = new WorkerClient(asWorker(w));
  await client.dispose();
  assert.equal(w.terminated, true);
});
