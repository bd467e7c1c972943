/** What `createEngine({ model })` may be, resolved to the core's plain-data description. */

import { InvalidRequestError } from './errors.js';
import { isServerRuntime } from './platform.js';
import type { CoreModelSource } from './protocol.js';

/** Resolves `model` where the caller is: relative URLs against the page, not the worker script. */
export function resolveModelSource(model: unknown, serverRuntime = isServerRuntime()): CoreModelSource {
  if (typeof Blob !== 'undefined' && model instanceof Blob) return { kind: 'blob', blob: model };
  const text = model instanceof URL ? model.href : model;
  if (typeof text !== 'string' || text.length === 0) {
    throw new InvalidRequestError('model: expected a URL, a File/Blob or (Node, Deno) a file path');
  }
  if (serverRuntime) {
    if (/^https?:\/\//i.test(text)) return { kind: 'url', url: text };
    return { kind: 'path', path: text };
  }
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return { kind: 'url', url: new URL(text, base).href };
  } catch {
    throw new InvalidRequestError(`model: ${JSON.stringify(text)} is not a valid URL`);
  }
}

/** A short name for the `model` field of responses: the file name. */
export function modelLabel(source: CoreModelSource, fallback: string | null): string {
  if (source.kind === 'blob') {
    const name = (source.blob as { name?: unknown }).name;
    if (typeof name === 'string' && name) return name;
  } else {
    const text = source.kind === 'url' ? source.url : source.path;
    const last = text.split(/[/\\]/).pop()?.split(/[?#]/)[0];
    if (last) {
      try {
        return decodeURIComponent(last);
      } catch {
        return last; // a malformed %-escape: show it as it is
      }
    }
  }
  return fallback ?? 'wasm-chord';
}

