import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runGeneration } from '../../src/generation.js';
import type { CoreEvent } from '../../src/protocol.js';
import { ScriptedEngine } from './fakes.js';

async function collect(pieces: string[], stops: string[], signal?: AbortSignal) {
  const engine = new ScriptedEngine(pieces);
  const events: CoreEvent[] = [];
  const finish = await runGeneration(engine, stops, (e) => events.push(e), signal);
  const text = events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join('');
  return { engine, events, finish, text };
}

test('all pieces, then the finish reason of the engine', async () => {
  const r = await collect(['Hel', 'lo', ' world'], []);
  assert.equal(r.text, 'Hello world');
  assert.equal(r.finish.finishReason, 'length');
  assert.deepEqual(r.events[0], { type: 'prefill', evaluated: 3, total: 3 });
});

test('a stop string split over pieces: cancel, step to finish, finish_reason stop', async () => {
  const r = await collect(['The answer', ' is 4.', '\n', 'User:', ' more'], ['\nUser:']);
  assert.equal(r.text, 'The answer is 4.');
  assert.equal(r.finish.finishReason, 'stop');
  assert.equal(r.engine.cancels, 1);
  // prefill + 4 tokens + the finish step after cancel; ' more' is never decoded.
  assert.equal(r.engine.steps, 6);
});

test('abort between steps: cancel() once, the text so far, finish_reason abort', async () => {
  const controller = new AbortController();
  const engine = new ScriptedEngine(['a', 'b', 'c', 'd', 'e']);
  let text = '';
  const finish = await runGeneration(engine, [], (e) => {
    if (e.type === 'text') {
      text += e.text;
      if (text === 'ab') controller.abort();
    }
  }, controller.signal);
  assert.equal(text, 'ab');
  assert.equal(finish.finishReason, 'abort');
  assert.equal(engine.cancels, 1);
});

test('an abort message delivered by the event loop is seen between steps', async () => {
  const controller = new AbortController();
  // Abort from a macrotask, as a worker's message handler would.
  setImmediate(() => controller.abort());
  const r = await collect(Array(1000).fill('x'), [], controller.signal);
  assert.equal(r.finish.finishReason, 'abort');
  assert.ok(r.text.length < 1000, `aborted after ${r.text.length} tokens`);
});

/** A WebGPU-like engine: every token step is first 'pending' until ready() has resolved. */
class PendingEngine {
  readonly inner: ScriptedEngine;
  private waiting = false;
  private landed = false;
  readies = 0;
  constructor(pieces: string[], private readonly delayMs = 0, private readonly never = false) {
    this.inner = new ScriptedEngine(pieces);
  }
  step() {
    if (this.inner.steps > 0 && !this.landed) {
      this.waiting = true;
      return { type: 'pending' as const };
    }
    this.landed = false;
    return this.inner.step();
  }
  ready(): Promise<unknown> {
    this.readies++;
    if (this.never) return new Promise(() => {}); // a GPU that never answers
    return new Promise((resolve) =>
      setTimeout(() => {
        this.landed = this.waiting;
        this.waiting = false;
        resolve(undefined);
      }, this.delayMs),
    );
  }
  cancel() {
    this.inner.cancel();
    this.landed = true; // the abandoned read no longer matters: the next step finishes
  }
}

test("'pending' steps await ready() and give the same text", async () => {
  const engine = new PendingEngine(['Hel', 'lo', ' world']);
  const events: CoreEvent[] = [];
  const finish = await runGeneration(engine, [], (e) => events.push(e));
  assert.equal(events.flatMap((e) => (e.type === 'text' ? [e.text] : [])).join(''), 'Hello world');
  assert.equal(finish.finishReason, 'length');
  assert.ok(engine.readies >= 3, `${engine.readies} waits`);
});

test('an abort while a GPU read is in flight ends the request without waiting for it', async () => {
  const controller = new AbortController();
  const engine = new PendingEngine(['a', 'b', 'c'], 0, true);
  setTimeout(() => controller.abort(), 20);
  const finish = await runGeneration(engine, [], () => {}, controller.signal);
  assert.equal(finish.finishReason, 'abort');
  assert.equal(engine.inner.cancels, 1);
});
