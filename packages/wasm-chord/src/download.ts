/**
 * Getting a model over HTTP: into the OPFS cache (resumable with Range requests) or, where there is
 * no OPFS (Node, Deno, insecure pages, `cache: false`), into memory.
 */

import { AbortError, NetworkError, QuotaExceededError, toWasmChordError } from './errors.js';
import { formatBytes } from './platform.js';
import type { CacheEntry } from './cache/opfs.js';
import { METADATA_VERSION, interpretResponse, planCacheUse, type CacheMetadata } from './cache/metadata.js';

/** The parts of a cache entry the download uses (an OPFS CacheEntry; an in-memory one in tests). */
export type CacheTarget = Pick<CacheEntry, 'url' | 'readMetadata' | 'writeMetadata' | 'bytesOnDisk' | 'openWriter'>;

export interface ByteProgress {
  loaded: number;
  total: number;
  text: string;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  onProgress?: (p: ByteProgress) => void;
}

async function request(url: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
  try {
    // no-store: the bytes are cached in OPFS; a second copy in the HTTP cache only costs quota.
    return await fetch(url, { headers, signal, cache: 'no-store' });
  } catch (err) {
    if (signal?.aborted) throw new AbortError('download aborted', { cause: err });
    throw new NetworkError(`could not fetch ${url}: ${(err as Error).message}`, { cause: err });
  }
}

function progressLine(loaded: number, total: number): string {
  return total > 0
    ? `Downloading ${formatBytes(loaded)} / ${formatBytes(total)}`
    : `Downloading ${formatBytes(loaded)}`;
}

/** Reads a response body chunk by chunk; aborts map to AbortError, broken connections to NETWORK. */
async function pump(
  response: Response,
  signal: AbortSignal | undefined,
  onChunk: (chunk: Uint8Array) => Promise<void> | void,
): Promise<void> {
  if (!response.body) throw new NetworkError('the response has no body');
  const reader = response.body.getReader();
  try {
    for (;;) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (err) {
        if (signal?.aborted) throw new AbortError('download aborted', { cause: err });
        throw new NetworkError(`the download was interrupted: ${(err as Error).message}`, { cause: err });
      }
      if (result.done) return;
      await onChunk(result.value);
      if (signal?.aborted) throw new AbortError('download aborted');
    }
  } finally {
    reader.releaseLock();
    // Cancel the body on early exit so the connection is not left streaming.
    response.body.cancel().catch(() => {});
  }
}

async function storageLeft(): Promise<number | null> {
  try {
    const est = await navigator.storage.estimate();
    if (est.quota === undefined || est.usage === undefined) return null;
    return est.quota - est.usage;
  } catch {
    return null;
  }
}

/**
 * Makes the cache entry for `url` complete: nothing to do when it already is, else downloads the
 * missing part (resuming a partial file with `Range: bytes=N-` + If-Range) and marks it complete.
 * Returns whether the network was used.
 */
export async function downloadToCache(entry: CacheTarget, opts: DownloadOptions): Promise<boolean> {
  const url = entry.url;
  let meta = await entry.readMetadata();
  let plan = planCacheUse(meta, url, await entry.bytesOnDisk());
  if (plan.kind === 'use') return false;

  // At most two rounds: a resume attempt the server refuses in an unusable way falls back to fresh.
  for (let attempt = 0; attempt < 2; attempt++) {
    const from = plan.kind === 'resume' ? plan.from : 0;
    const headers: Record<string, string> = {};
    if (plan.kind === 'resume') {
      headers['Range'] = `bytes=${from}-`;
      headers['If-Range'] = plan.validator;
    }
    const response = await request(url, headers, opts.signal);
    if (!response.ok) {
      response.body?.cancel().catch(() => {});
      if (response.status === 416 && plan.kind === 'resume') {
        plan = { kind: 'fresh' };
        continue;
      }
      throw new NetworkError(`could not download ${url}: HTTP ${response.status} ${response.statusText}`, {
        status: response.status,
      });
    }
    const outcome = interpretResponse(response.status, response.headers, from);
    if (outcome.kind === 'error') {
      response.body?.cancel().catch(() => {});
      if (plan.kind === 'resume') {
        plan = { kind: 'fresh' };
        continue;
      }
      throw new NetworkError(`could not download ${url}: ${outcome.message}`);
    }
    const start = outcome.kind === 'append' ? outcome.from : 0;
    const total = outcome.total ?? (meta?.size && outcome.kind === 'append' ? meta.size : null);

    const left = total !== null ? await storageLeft() : null;
    if (total !== null && left !== null && total - start > left) {
      response.body?.cancel().catch(() => {});
      throw new QuotaExceededError(
        `not enough browser storage to cache the model: ${formatBytes(total - start)} needed, ` +
          `${formatBytes(Math.max(0, left))} available. Free space with deleteCachedModel(), or load with { cache: false }`,
      );
    }

    // The metadata says "incomplete" before the first byte is written, so a download that stops
    // anywhere from here on is recognised as partial next time.
    meta = {
      version: METADATA_VERSION,
      url,
      size: total,
      // A 206 may omit the validators; the ones the resumed prefix was fetched under still hold.
      etag: response.headers.get('etag') ?? (outcome.kind === 'append' ? (meta?.etag ?? null) : null),
      lastModified:
        response.headers.get('last-modified') ?? (outcome.kind === 'append' ? (meta?.lastModified ?? null) : null),
      complete: false,
      sha256: null,
      updatedAt: Date.now(),
    } satisfies CacheMetadata;
    await entry.writeMetadata(meta);

    const writer = await entry.openWriter(start);
    let loaded = start;
    let lastReport = 0;
    try {
      opts.onProgress?.({ loaded, total: total ?? 0, text: progressLine(loaded, total ?? 0) });
      await pump(response, opts.signal, async (chunk) => {
        await writer.write(chunk);
        loaded += chunk.length;
        const now = Date.now();
        if (now - lastReport >= 50) {
          lastReport = now;
          opts.onProgress?.({ loaded, total: total ?? 0, text: progressLine(loaded, total ?? 0) });
        }
      });
    } finally {
      // Commit what arrived even on abort/error: that is the prefix the next attempt resumes from.
      await writer.close().catch(() => {});
    }
    if (total !== null && loaded !== total) {
      throw new NetworkError(`the download ended early: ${loaded} of ${total} bytes`);
    }
    opts.onProgress?.({ loaded, total: loaded, text: progressLine(loaded, loaded) });
    await entry.writeMetadata({ ...meta, size: loaded, complete: true, updatedAt: Date.now() });
    return true;
  }
  throw new NetworkError(`could not download ${url}: the server did not honour the resume request`);
}

/** Downloads the whole file into memory (no cache). */
export async function downloadToMemory(url: string, opts: DownloadOptions): Promise<Uint8Array> {
  const response = await request(url, {}, opts.signal);
  if (!response.ok) {
    response.body?.cancel().catch(() => {});
    throw new NetworkError(`could not download ${url}: HTTP ${response.status} ${response.statusText}`, {
      status: response.status,
    });
  }
  const outcome = interpretResponse(response.status, response.headers, 0);
  const total = outcome.kind === 'restart' ? outcome.total : null;
  // One allocation when the size is known; otherwise grow by doubling.
  let buffer = new Uint8Array(total ?? 16 << 20);
  let loaded = 0;
  let lastReport = 0;
  try {
    await pump(response, opts.signal, (chunk) => {
      if (loaded + chunk.length > buffer.length) {
        const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + chunk.length));
        grown.set(buffer.subarray(0, loaded));
        buffer = grown;
      }
      buffer.set(chunk, loaded);
      loaded += chunk.length;
      const now = Date.now();
      if (now - lastReport >= 50) {
        lastReport = now;
        opts.onProgress?.({ loaded, total: total ?? 0, text: progressLine(loaded, total ?? 0) });
      }
    });
  } catch (err) {
    throw toWasmChordError(err);
  }
  if (total !== null && loaded !== total) {
    throw new NetworkError(`the download ended early: ${loaded} of ${total} bytes`);
  }
  opts.onProgress?.({ loaded, total: loaded, text: progressLine(loaded, loaded) });
  return buffer.subarray(0, loaded);
}
