import { test } from 'node:test';
import assert from 'node:assert/strict';
import { modelLabel, resolveModelSource } from '../../src/model-source.js';
import { InvalidRequestError } from '../../src/errors.js';

test('Blobs and Files pass through', () => {
  const blob = new Blob(['x']);
  assert.deepEqual(resolveModelSource(blob, false), { kind: 'blob', blob });
});

test('browsers: strings and URLs are URLs, relative ones resolved against the page', () => {
  const g = globalThis as { location?: { href: string } };
  const saved = g.location;
  g.location = { href: 'https://app.test/chat/index.html' };
  try {
    assert.deepEqual(resolveModelSource('../models/m.gguf', false), { kind: 'url', url: 'https://app.test/models/m.gguf' });
    assert.deepEqual(resolveModelSource(new URL('https://cdn.test/a.gguf'), false), {
      kind: 'url',
      url: 'https://cdn.test/a.gguf',
    });
  } finally {
    g.location = saved;
  }
});

test('Node/Deno: http(s) URLs are fetched, everything else is a file path (file: URLs too)', () => {
  assert.deepEqual(resolveModelSource('https://x.test/m.gguf', true), { kind: 'url', url: 'https://x.test/m.gguf' });
  assert.deepEqual(resolveModelSource('/models/m.gguf', true), { kind: 'path', path: '/models/m.gguf' });
  assert.deepEqual(resolveModelSource('models/m.gguf', true), { kind: 'path', path: 'models/m.gguf' });
  assert.deepEqual(resolveModelSource(new URL('file:///models/m.gguf'), true), {
    kind: 'path',
    path: 'file:///models/m.gguf',
  });
});

test('anything else is INVALID_REQUEST', () => {
  for (const bad of [undefined, null, 42, '', {}]) {
    assert.throws(() => resolveModelSource(bad, true), InvalidRequestError);
  }
});

test('labels: the file name', () => {
  assert.equal(modelLabel({ kind: 'url', url: 'https://x.test/a/gemma%203.gguf?x=1' }, null), 'gemma 3.gguf');
  assert.equal(modelLabel({ kind: 'path', path: 'C:\\models\\m.gguf' }, null), 'm.gguf');
  assert.equal(modelLabel({ kind: 'blob', blob: new Blob([]) }, 'Gemma'), 'Gemma');
  assert.equal(modelLabel({ kind: 'url', url: 'https://x.test/%E0%A4%A' }, null), '%E0%A4%A');
});
