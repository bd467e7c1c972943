import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncQueue, StopMatcher } from '../../src/stream.js';

function feed(stops: string[], pieces: string[]): { out: string[]; stopped: boolean } {
  const m = new StopMatcher(stops);
  const out = pieces.map((p) => m.push(p));
  out.push(m.flush());
  return { out, stopped: m.stopped };
}

test('no stop strings: pieces pass through unchanged', () => {
  assert.deepEqual(feed([], ['a', 'b']).out, ['a', 'b', '']);
});

test('a stop string inside one piece cuts the text before it', () => {
  const r = feed(['END'], ['Hello END world']);
  assert.deepEqual(r.out, ['Hello ', '']);
  assert.equal(r.stopped, true);
});

test('a stop string split across pieces: nothing past its start is emitted', () => {
  const r = feed(['<|end|>'], ['Hi <', '|e', 'nd', '|> more', ' text']);
  assert.equal(r.out.join(''), 'Hi ');
  assert.equal(r.stopped, true);
  // The held-back '<' was not emitted early.
  assert.equal(r.out[0], 'Hi ');
});

test('held-back text that turns out not to be a stop string is emitted later', () => {
  const r = feed(['<|end|>'], ['a <', '|', 'x', 'yz']);
  assert.deepEqual(r.out, ['a ', '', '<|x', 'yz', '']);
  assert.equal(r.stopped, false);
});

test('text held back at the end is flushed', () => {
  const r = feed(['STOP'], ['abc ST']);
  assert.deepEqual(r.out, ['abc ', 'ST']);
  assert.equal(r.stopped, false);
});

test('the earliest of several stop strings wins', () => {
  assert.equal(feed(['world', 'lo'], ['hello world']).out.join(''), 'hel');
});

test('after a stop nothing more is emitted', () => {
  assert.deepEqual(feed(['x'], ['ax', 'bbb', 'ccc']).out, ['a', '', '', '']);
});

test('overlapping prefixes: "aab" in "aaab" split per character', () => {
  const r = feed(['aab'], ['a', 'a', 'a', 'b', 'c']);
  assert.equal(r.out.join(''), 'a');
  assert.equal(r.stopped, true);
});

test('non-ASCII: a stop string of emoji split across pieces', () => {
  const r = feed(['🙂🙂'], ['ok 🙂', '🙂 no']);
  assert.equal(r.out.join(''), 'ok ');
});

test('AsyncQueue: values, then end', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  setTimeout(() => {
    q.push(2);
    q.end();
  }, 5);
  const got: number[] = [];
  for await (const v of q) got.push(v);
  assert.deepEqual(got, [1, 2]);
});

test('AsyncQueue: fail rejects the waiting reader', async () => {
  const q = new AsyncQueue<number>();
  q.push(1);
  setTimeout(() => q.fail(new Error('boom')), 5);
  const got: number[] = [];
  await assert.rejects(async () => {
    for await (const v of q) got.push(v);
  }, /boom/);
  assert.deepEqual(got, [1]);
});

test('AsyncQueue: breaking out calls onReturn once', async () => {
  let returned = 0;
  const q = new AsyncQueue<number>(() => returned++);
  q.push(1);
  q.push(2);
  for await (const v of q) {
    assert.equal(v, 1);
    break;
  }
  assert.equal(returned, 1);
});
