/**
 * The OPFS cache's bookkeeping, kept free of any browser API so it is unit-tested in Node.
 *
 * Each cached URL has two files: the model bytes and a small JSON metadata entry. The metadata is
 * the only thing that can declare an entry complete; it is written *after* the last byte, so a
 * download cut short (tab closed, network gone, abort) always leaves `complete: false` behind and is
 * resumed, never used as a whole model.
 */

export const METADATA_VERSION = 1;

export interface CacheMetadata {
  version: typeof METADATA_VERSION;
  url: string;
  /** Full size of the file (from Content-Length / Content-Range), null while unknown. */
  size: number | null;
  /** Validators of the server's copy: sent back in If-Range so a changed file restarts the download. */
  etag: string | null;
  lastModified: string | null;
  complete: boolean;
  /** Lower-case hex SHA-256, set once the bytes were hashed (sha256 option). */
  sha256: string | null;
  /** ms since epoch. */
  updatedAt: number;
}

/** Parses a metadata file; anything malformed (or from another version) reads as "no entry". */
export function parseMetadata(text: string): CacheMetadata | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  const nullableString = (x: unknown) => x === null || typeof x === 'string';
  const size = m.size;
  if (
    m.version !== METADATA_VERSION ||
    typeof m.url !== 'string' ||
    !(size === null || (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0)) ||
    !nullableString(m.etag) ||
    !nullableString(m.lastModified) ||
    typeof m.complete !== 'boolean' ||
    !nullableString(m.sha256) ||
    typeof m.updatedAt !== 'number'
  ) {
    return null;
  }
  return {
    version: METADATA_VERSION,
    url: m.url,
    size: size as number | null,
    etag: m.etag as string | null,
    lastModified: m.lastModified as string | null,
    complete: m.complete,
    sha256: m.sha256 as string | null,
    updatedAt: m.updatedAt,
  };
}

export type CachePlan =
  /** Use the cached bytes as they are; no network. */
  | { kind: 'use' }
  /** Ask for the rest with `Range: bytes=from-` (and If-Range with `validator`). */
  | { kind: 'resume'; from: number; validator: string }
  /** Throw away whatever is there and download from byte 0. */
  | { kind: 'fresh' };

/**
 * What to do with the entry for `url`, given its metadata and the bytes actually on disk (the file's
 * size is the truth about how far a download got: the metadata is not rewritten per chunk).
 */
export function planCacheUse(meta: CacheMetadata | null, url: string, bytesOnDisk: number): CachePlan {
  if (!meta || meta.url !== url) return { kind: 'fresh' };
  if (meta.complete) {
    // A complete entry whose file has another size was damaged (or cleared) behind our back.
    return meta.size === bytesOnDisk ? { kind: 'use' } : { kind: 'fresh' };
  }
  // Resuming is only safe when the server can tell us whether its file is still the one we have
  // the first part of (If-Range); without a validator a changed file would be spliced silently.
  const validator = resumeValidator(meta);
  if (bytesOnDisk <= 0 || validator === null) return { kind: 'fresh' };
  if (meta.size !== null && bytesOnDisk > meta.size) return { kind: 'fresh' };
  // All bytes there but never marked complete (stopped between the last write and the metadata):
  // fetch the last byte again rather than sending a Range past the end (416).
  const from = meta.size !== null && bytesOnDisk === meta.size ? bytesOnDisk - 1 : bytesOnDisk;
  return { kind: 'resume', from, validator };
}

/** A strong ETag, else Last-Modified (RFC 9110: If-Range needs a strong validator or a date). */
export function resumeValidator(meta: Pick<CacheMetadata, 'etag' | 'lastModified'>): string | null {
  if (meta.etag && !meta.etag.startsWith('W/')) return meta.etag;
  return meta.lastModified ?? null;
}

/** `Content-Range: bytes 100-199/1000` → {start: 100, end: 199, total: 1000} (total null for `*`). */
export function parseContentRange(
  header: string | null,
): { start: number; end: number; total: number | null } | null {
  if (!header) return null;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header);
  if (!m) return null;
  const start = Number(m[1]);
  const end = Number(m[2]);
  const total = m[3] === '*' ? null : Number(m[3]);
  if (end < start || (total !== null && end >= total)) return null;
  return { start, end, total };
}

export type RangeOutcome =
  /** The server sent the rest: append from `from`; the whole file has `total` bytes. */
  | { kind: 'append'; from: number; total: number | null }
  /** The server sent the whole file (200: no range support, or If-Range said it changed). */
  | { kind: 'restart'; total: number | null }
  | { kind: 'error'; message: string };

/** Interprets the answer to a download request that asked for bytes from `from` (0: no Range). */
export function interpretResponse(
  status: number,
  headers: { get(name: string): string | null },
  from: number,
): RangeOutcome {
  const contentLength = (() => {
    const v = headers.get('content-length');
    if (v === null || !/^\d+$/.test(v.trim())) return null;
    return Number(v);
  })();
  // A compressed body's Content-Length is not the file size (fetch hands us decoded bytes).
  const encoded = (headers.get('content-encoding') ?? 'identity').toLowerCase() !== 'identity';
  if (status === 200) return { kind: 'restart', total: encoded ? null : contentLength };
  if (status === 206) {
    const range = parseContentRange(headers.get('content-range'));
    if (!range) return { kind: 'error', message: 'the server answered 206 without a usable Content-Range' };
    if (range.start !== from) {
      return { kind: 'error', message: `asked for bytes from ${from}, the server sent from ${range.start}` };
    }
    return { kind: 'append', from, total: range.total };
  }
  return { kind: 'error', message: `HTTP ${status}` };
}

/**
 * OPFS file names for a URL: a hash (URLs can be long and hold characters file names cannot), with
 * the URL's last path segment kept readable for anyone browsing the origin's storage.
 */
export function entryNameForUrl(url: string, hashHex: string): string {
  let base = 'model';
  try {
    base = new URL(url).pathname.split('/').pop() || 'model';
  } catch {
    /* not an absolute URL: keep the default */
  }
  base = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 64);
  return `${hashHex.slice(0, 24)}-${base}`;
}
