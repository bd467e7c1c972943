/**
 * createEngine: resolves the model source and options, starts the core (module worker or this
 * thread), loads the model and builds the Engine.
 */

import { Engine } from './engine.js';
import { EngineCore } from './core.js';
import { precheckBackend } from './backend.js';
import { WorkerClient } from './worker-client.js';
import { InvalidRequestError, toWasmChordError } from './errors.js';
import { isServerRuntime } from './platform.js';
import { normalizeSha256 } from './sha256.js';
import { modelLabel, resolveModelSource } from './model-source.js';
import type { CoreClient, CoreLoadRequest } from './protocol.js';
import type { CreateEngineOptions } from './types.js';

const BACKENDS = new Set(['auto', 'cpu', 'webgpu']);

function startClient(worker: CreateEngineOptions['worker']): CoreClient {
  const WorkerCtor = (globalThis as { Worker?: typeof Worker }).Worker;
  if (typeof worker === 'object' && worker !== null) return new WorkerClient(worker);
  const useWorker = worker ?? (!isServerRuntime() && typeof WorkerCtor === 'function');
  if (!useWorker) return new EngineCore();
  if (typeof WorkerCtor !== 'function') {
    throw new InvalidRequestError('worker: this environment has no Web Worker; use worker: false');
  }
  return new WorkerClient(new WorkerCtor(new URL('./worker.js', import.meta.url), { type: 'module' }));
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
  const source = resolveModelSource(options.model);
  const req: CoreLoadRequest = {
    source,
    backend,
    cache: options.cache ?? true,
    ...(options.nCtx !== undefined && { nCtx: options.nCtx }),
    ...(options.threads !== undefined && { threads: options.threads }),
    ...(sha256 !== undefined && { sha256 }),
  };
  const client = startClient(options.worker);
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
