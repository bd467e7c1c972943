// The resumable download into the cache, against a local HTTP server with Range / If-Range / ETag
// support and a fault switch that cuts a response midway, and an in-memory cache entry.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { downloadToCache, downloadToMemory, type CacheTarget } from '../../src/download.js';
import type { CacheMetadata } from '../../src/cache/metadata.js';
import { AbortError, NetworkError } from '../../src/errors.js';

const FILE = new Uint8Array(300_000).map((_, i) => (i * 7 + 3) & 0xff);
let etag = '"v1"';
let cutAfter: number | null = null;
let rangeSupport = true;
const seen: Array<{ range: string | undefined; ifRange: string | undefined; status: number }> = [];
let server: http.Server;
let base = '';

before(async () => {
  server = http.createServer((req, res) => {
    const range = req.headers.range;
    const ifRange = req.headers['if-range'];
    let start = 0;
    let status = 200;
    const m = range && /^bytes=(\d+)-$/.exec(range);
    if (m && rangeSupport && (ifRange === undefined || ifRange === etag)) {
      start = Number(m[1]);
      status = 206;
    }
    seen.push({ range, ifRange: ifRange as string | undefined, status });
    res.writeHead(status, {
      'content-length': String(FILE.length - start),
      etag,
      ...(status === 206 && { 'content-range': `bytes ${start}-${FILE.length - 1}/${FILE.length}` }),
    });
    const body = FILE.subarray(start);
    if (cutAfter !== null) {
      const n = cutAfter;
      cutAfter = null;
      res.write(body.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
    } else {
      res.end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

class MemoryEntry implements CacheTarget {
  meta: CacheMetadata | null = null;
  data = new Uint8Array(0);
  metaWrites: CacheMetadata[] = [];
  constructor(readonly url: string) {}
  async readMetadata() {
    return this.meta;
  }
  async writeMetadata(meta: CacheMetadata) {
    this.meta = meta;
    this.metaWrites.push(meta);
  }
  async bytesOnDisk() {
    return this.data.length;
  }
  async openWriter(from: number) {
    this.data = this.data.slice(0, from);
    return {
      write: async (chunk: Uint8Array) => {
        const next = new Uint8Array(this.data.length + chunk.length);
        next.set(this.data);
        next.set(chunk, this.data.length);
        this.data = next;
      },
      close: async () => {},
    };
  }
}

function reset() {
  seen.length = 0;
  etag = '"v1"';
  cutAfter = null;
  rangeSupport = true;
}

test('a fresh download writes every byte, then marks the entry complete', async () => {
  reset();
  const entry = new MemoryEntry(`${base}/m.gguf`);
  const progress: number[] = [];
  assert.equal(await downloadToCache(entry, { onProgress: (p) => progress.push(p.loaded) }), true);
  assert.deepEqual(entry.data, FILE);
  assert.equal(entry.meta?.complete, true);
  assert.equal(entry.meta?.size, FILE.length);
  assert.equal(entry.meta?.etag, '"v1"');
  // "incomplete" is on record before the first byte.
  assert.equal(entry.metaWrites[0]!.complete, false);
  assert.equal(progress.at(-1), FILE.length);
  // Complete: the second call uses no network.
  assert.equal(await downloadToCache(entry, {}), false);
  assert.equal(seen.length, 1);
});

test('an interrupted download stays incomplete and resumes with Range + If-Range (206)', async () => {
  reset();
  const entry = new MemoryEntry(`${base}/m.gguf`);
  cutAfter = 100_000;
  await assert.rejects(downloadToCache(entry, {}), NetworkError);
  assert.equal(entry.meta?.complete, false);
  const got = entry.data.length;
  assert.ok(got > 0 && got < FILE.length, `kept ${got} bytes`);
  assert.equal(await downloadToCache(entry, {}), true);
  assert.deepEqual(seen.at(-1), { range: `bytes=${got}-`, ifRange: '"v1"', status: 206 });
  assert.deepEqual(entry.data, FILE);
  assert.equal(entry.meta?.complete, true);
});

test('a file changed on the server (If-Range mismatch → 200) restarts from byte 0', async () => {
  reset();
  const entry = new MemoryEntry(`${base}/m.gguf`);
  cutAfter = 50_000;
  await assert.rejects(downloadToCache(entry, {}), NetworkError);
  etag = '"v2"';
  await downloadToCache(entry, {});
  assert.equal(seen.at(-1)!.status, 200);
  assert.deepEqual(entry.data, FILE);
  assert.equal(entry.meta?.etag, '"v2"');
});

test('a server without range support: 200 restarts cleanly', async () => {
  reset();
  rangeSupport = false;
  const entry = new MemoryEntry(`${base}/m.gguf`);
  cutAfter = 50_000;
  await assert.rejects(downloadToCache(entry, {}), NetworkError);
  await downloadToCache(entry, {});
  assert.deepEqual(entry.data, FILE);
});

test('abort: AbortError, the partial file is kept for the next attempt', async () => {
  reset();
  const entry = new MemoryEntry(`${base}/m.gguf`);
  const controller = new AbortController();
  cutAfter = 64_000; // slow the response: the rest never comes, the abort ends it
  const p = downloadToCache(entry, {
    signal: controller.signal,
    onProgress: (pr) => {
      if (pr.loaded > 0) controller.abort();
    },
  });
  await assert.rejects(p, AbortError);
  assert.equal(entry.meta?.complete, false);
});

test('an unreachable server is a NETWORK error', async () => {
  reset();
  const entry = new MemoryEntry(`http://127.0.0.1:1/nothing.gguf`);
  await assert.rejects(downloadToCache(entry, {}), NetworkError);
});

test('downloadToMemory: the whole file', async () => {
  reset();
  const bytes = await downloadToMemory(`${base}/m.gguf`, {});
  assert.deepEqual(bytes, FILE);
});
