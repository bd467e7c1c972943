/**
 * createEngine: resolves the model source and options, starts the core (module worker or this
 * thread), loads the model and builds the Engine.
 *
 * Finding the worker and the wasm under bundlers (README, "Bundlers"):
 * - The worker is created with the literal `new Worker(new URL('./worker.js', import.meta.url),
 *   { type: 'module' })`: the only form Vite and webpack recognise (a variable constructor or URL is
 *   left alone, and the URL then points at a file the bundle does not contain). They bundle
 *   worker.js and its wasm into the app's output; a static server finds dist/worker.js itself.
 * - `assetBase` (a folder holding a copy of dist/) replaces those URLs, for bundlers that do not
 *   rewrite `new URL(…, import.meta.url)` at all (esbuild) or assets hosted elsewhere.
 * - Under Vite's dev server the package is pre-bundled into node_modules/.vite/deps/, which breaks
 *   the relative URLs; the package's real folder is found from the optimizer's metadata instead
 *   (platform.ts: vitePrebundledPackageBase), so no `optimizeDeps.exclude` is needed.
 * - The in-thread core (core.js, and with it the wasm glue) is imported lazily: a page that runs
 *   the engine in the worker (the default) does not load it twice.
 */

import { Engine } from './engine.js';
import { precheckBackend } from './backend.js';
import { WorkerClient } from './worker-client.js';
import { InvalidRequestError, toWasmChordError } from './errors.js';
import { isServerRuntime, vitePrebundledPackageBase } from './platform.js';
import { normalizeSha256 } from './sha256.js';
import { modelLabel, resolveModelSource } from './model-source.js';
import type { CoreClient, CoreLoadRequest } from './protocol.js';
import type { CreateEngineOptions } from './types.js';

const BACKENDS = new Set(['auto', 'cpu', 'webgpu']);

/** `assetBase` as a folder URL (resolved against the page; a missing trailing slash is added). */
function parseAssetBase(value: CreateEngineOptions['assetBase']): URL | null {
  if (value === undefined) return null;
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new InvalidRequestError('assetBase: expected a URL (string or URL) of a folder holding a copy of dist/');
  }
  let url: URL;
  try {
    url = new URL(String(value), (globalThis as { location?: { href: string } }).location?.href);
  } catch {
    throw new InvalidRequestError(`assetBase: not a URL: ${JSON.stringify(String(value))}`);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** The module worker, at the URL the bundler gave worker.js, or in `base` (a copy of dist/). The
 *  script's URL is returned for error messages only where it is known: asking for the literal's
 *  URL a second time would be a second `new URL(…, import.meta.url)`, which bundlers would copy
 *  as a raw asset. */
function startWorker(base: URL | null): { worker: Worker; url?: string } {
  if (base) {
    const url = new URL('worker.js', base);
    return { worker: new Worker(url, { type: 'module' }), url: url.href };
  }
  // Keep this expression exactly as it is: bundlers rewrite only this literal form.
  return { worker: new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }) };
}

async function startClient(
  worker: CreateEngineOptions['worker'],
  assetBase: URL | null,
): Promise<CoreClient> {
  if (typeof worker === 'object' && worker !== null) return new WorkerClient(worker);
  const hasWorker = typeof (globalThis as { Worker?: unknown }).Worker === 'function';
  const useWorker = worker ?? (!isServerRuntime() && hasWorker);
  // Node and Deno read the wasm from the package folder with fs: neither applies there.
  const base = isServerRuntime() ? null : (assetBase ?? (await vitePrebundledPackageBase(import.meta.url)));
  if (!useWorker) {
    const [{ EngineCore }, { setAssetBase }] = await Promise.all([import('./core.js'), import('./wasm.js')]);
    if (base) setAssetBase(base);
    return new EngineCore();
  }
  if (!hasWorker) {
    throw new InvalidRequestError('worker: this environment has no Web Worker; use worker: false');
  }
  const { worker: w, url } = startWorker(base);
  return new WorkerClient(w, url);
}

/** Loads a model and returns a ready Engine. */
export async function createEngine(options: CreateEngineOptions): Promise<Engine> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidRequestError('createEngine: expected an options object with a `model`');
  }
  const backend = options.backend ?? 'auto';
  if (!BACKENDS.has(backend)) {
    throw new InvalidRequestError(`backend: expected 'auto', 'cpu' or 'webgpu', got ${JSON.stringify(backend)}`);
  }
  // Fail before starting a worker or a download when the backend cannot be had (the adapter
  // itself is requested where the engine runs: see backend.ts).
  precheckBackend(backend);
  if (options.nCtx !== undefined && !(Number.isInteger(options.nCtx) && options.nCtx > 0)) {
    throw new InvalidRequestError(`nCtx: expected a positive integer, got ${JSON.stringify(options.nCtx)}`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads > 0)) {
    throw new InvalidRequestError(`threads: expected a positive integer, got ${JSON.stringify(options.threads)}`);
  }
  let sha256: string | undefined;
  if (options.sha256 !== undefined) {
    try {
      sha256 = normalizeSha256(options.sha256);
    } catch (err) {
      throw new InvalidRequestError(`sha256: ${(err as Error).message}`);
    }
  }
  if (options.chatTemplate !== undefined && typeof options.chatTemplate !== 'string') {
    throw new InvalidRequestError('chatTemplate: expected a builtin name or a Jinja template string');
  }
  const assetBase = parseAssetBase(options.assetBase);
  const source = resolveModelSource(options.model);
  const req: CoreLoadRequest = {
    source,
    backend,
    cache: options.cache ?? true,
    ...(options.nCtx !== undefined && { nCtx: options.nCtx }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(sha256 !== undefined && { sha256 }),
  };
  const client = await startClient(options.worker, assetBase);
  try {
    const onProgress = options.onProgress ?? (() => {});
    const loaded = await client.load(req, onProgress, options.signal);
    return await Engine.create({
      client,
      loaded,
      modelLabel: modelLabel(source, loaded.info.name),
      ...(options.chatTemplate !== undefined && { chatTemplate: options.chatTemplate }),
    });
  } catch (err) {
    await client.dispose().catch(() => {});
    throw toWasmChordError(err);
  }
}
