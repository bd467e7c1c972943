import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  entryNameForUrl,
  interpretResponse,
  parseContentRange,
  parseMetadata,
  planCacheUse,
  resumeValidator,
  type CacheMetadata,
} from '../../src/cache/metadata.js';

const url = 'https://example.test/models/gemma.gguf';
const meta = (over: Partial<CacheMetadata> = {}): CacheMetadata => ({
  version: 1,
  url,
  size: 1000,
  etag: '"abc"',
  lastModified: 'Tue, 01 Jan 2030 00:00:00 GMT',
  complete: false,
  sha256: null,
  updatedAt: 1,
  ...over,
});
const headers = (h: Record<string, string>) => ({ get: (n: string) => h[n.toLowerCase()] ?? null });

test('parseMetadata: round trip; malformed or other versions read as no entry', () => {
  assert.deepEqual(parseMetadata(JSON.stringify(meta())), meta());
  assert.equal(parseMetadata('{'), null);
  assert.equal(parseMetadata('null'), null);
  assert.equal(parseMetadata(JSON.stringify({ ...meta(), version: 2 })), null);
  assert.equal(parseMetadata(JSON.stringify({ ...meta(), size: -1 })), null);
  assert.equal(parseMetadata(JSON.stringify({ ...meta(), complete: 'yes' })), null);
});

test('plan: a complete entry of the right size is used without network', () => {
  assert.deepEqual(planCacheUse(meta({ complete: true }), url, 1000), { kind: 'use' });
});

test('plan: a complete entry whose file has another size is never used', () => {
  assert.deepEqual(planCacheUse(meta({ complete: true }), url, 999), { kind: 'fresh' });
});

test('plan: no entry, another URL, or an empty file → fresh', () => {
  assert.deepEqual(planCacheUse(null, url, 0), { kind: 'fresh' });
  assert.deepEqual(planCacheUse(meta(), 'https://other.test/x.gguf', 500), { kind: 'fresh' });
  assert.deepEqual(planCacheUse(meta(), url, 0), { kind: 'fresh' });
});

test('plan: a partial file resumes from its size with a validator', () => {
  assert.deepEqual(planCacheUse(meta(), url, 400), { kind: 'resume', from: 400, validator: '"abc"' });
  assert.deepEqual(planCacheUse(meta({ etag: null }), url, 400), {
    kind: 'resume',
    from: 400,
    validator: 'Tue, 01 Jan 2030 00:00:00 GMT',
  });
});

test('plan: no validator → fresh (a changed file would be spliced silently)', () => {
  assert.deepEqual(planCacheUse(meta({ etag: null, lastModified: null }), url, 400), { kind: 'fresh' });
  assert.equal(resumeValidator({ etag: 'W/"weak"', lastModified: null }), null);
});

test('plan: all bytes but never marked complete → re-fetch the last byte; too many bytes → fresh', () => {
  assert.deepEqual(planCacheUse(meta(), url, 1000), { kind: 'resume', from: 999, validator: '"abc"' });
  assert.deepEqual(planCacheUse(meta(), url, 1001), { kind: 'fresh' });
});

test('Content-Range parsing', () => {
  assert.deepEqual(parseContentRange('bytes 100-999/1000'), { start: 100, end: 999, total: 1000 });
  assert.deepEqual(parseContentRange('bytes 0-9/*'), { start: 0, end: 9, total: null });
  assert.equal(parseContentRange('bytes 10-5/100'), null);
  assert.equal(parseContentRange('bytes 0-100/100'), null);
  assert.equal(parseContentRange('items 0-1/2'), null);
  assert.equal(parseContentRange(null), null);
});

test('responses: 206 from the asked offset appends, 200 restarts, others fail', () => {
  assert.deepEqual(interpretResponse(206, headers({ 'content-range': 'bytes 400-999/1000' }), 400), {
    kind: 'append',
    from: 400,
    total: 1000,
  });
  assert.equal(interpretResponse(206, headers({ 'content-range': 'bytes 0-999/1000' }), 400).kind, 'error');
  assert.equal(interpretResponse(206, headers({}), 400).kind, 'error');
  assert.deepEqual(interpretResponse(200, headers({ 'content-length': '1000' }), 400), { kind: 'restart', total: 1000 });
  // A compressed body's length is not the file's.
  assert.deepEqual(interpretResponse(200, headers({ 'content-length': '10', 'content-encoding': 'gzip' }), 0), {
    kind: 'restart',
    total: null,
  });
  assert.equal(interpretResponse(404, headers({}), 0).kind, 'error');
});

test('entry names: hash prefix plus a readable file name', () => {
  assert.equal(entryNameForUrl(url, 'f'.repeat(64)), `${'f'.repeat(24)}-gemma.gguf`);
  assert.equal(entryNameForUrl('https://x.test/a%20b?c=1', '0'.repeat(64)), `${'0'.repeat(24)}-a_20b`);
});
