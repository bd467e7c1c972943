/**
 * Cache management, independent of any engine: list, delete, and how much storage is used.
 * Where OPFS does not exist (Node, Deno, insecure pages) there is no cache: the list is empty,
 * deleting finds nothing and storageEstimate() resolves to null.
 */

import { CacheEntry, listEntries, opfsAvailable } from './opfs.js';
import type { CachedModel, StorageInfo } from '../types.js';

/** Every model in the cache, newest first, including partial downloads (`complete: false`). */
export async function listCachedModels(): Promise<CachedModel[]> {
  return (await listEntries()).map(({ meta, bytes }) => ({
    url: meta.url,
    bytes,
    size: meta.size,
    complete: meta.complete,
    sha256: meta.sha256,
    etag: meta.etag,
    lastModified: meta.lastModified,
    updatedAt: meta.updatedAt,
  }));
}

/** Removes the cached copy of `url` (absolute, or relative to the page); true if there was one.
 *  Do not call it while an engine is downloading that same URL. */
export async function deleteCachedModel(url: string | URL): Promise<boolean> {
  if (!opfsAvailable()) return false;
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const href = new URL(String(url), base).href;
  return (await CacheEntry.open(href)).remove();
}

/** Storage used and available to this origin, and how much of it the model cache holds. */
export async function storageEstimate(): Promise<StorageInfo | null> {
  if (!opfsAvailable()) return null;
  const est = await navigator.storage.estimate();
  const entries = await listEntries();
  return {
    usage: est.usage ?? 0,
    quota: est.quota ?? 0,
    modelCacheBytes: entries.reduce((sum, e) => sum + e.bytes, 0),
  };
}
