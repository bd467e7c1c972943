/**
 * The engine core: owns the wasm Engine and does the work (download, load, generation loop). It runs
 * inside the module worker (worker.ts) or, with `worker: false` and in Node/Deno, in the caller's
 * thread (InThreadClient). Everything it reports goes through callbacks as plain data.
 */

import {
  AbortError,
  BackendUnavailableError,
  BadGgufError,
  InternalError,
  IntegrityError,
  InvalidRequestError,
  PromptTooLongError,
  toWasmChordError,
} from './errors.js';
import { formatBytes, isServerRuntime } from './platform.js';
import { BlobSource, MemorySource, NodeFileSource, type ByteSource } from './sources.js';
import { CacheEntry, opfsAvailable } from './cache/opfs.js';
import { downloadToCache, downloadToMemory } from './download.js';
import { Sha256, toHex } from './sha256.js';
import { runGeneration } from './generation.js';
import { loadWasm } from './wasm.js';
import { chooseBackend, type AdapterDescription } from './backend.js';
import type { WasmBindings, WasmEngine, WasmGenerateOptions, WasmModelLoader, WasmWebGpu } from './wasm-api.js';
import type { LoadProgress } from './types.js';
import type {
  CoreClient,
  CoreEvent,
  CoreFinish,
  CoreGenerateRequest,
  CoreLoadRequest,
  CoreLoadResult,
} from './protocol.js';

/** First read of the header; grown to what ggufHeaderBytesNeeded asks for (large vocabularies
 *  put several MB of tokenizer metadata in the header). */
const HEADER_PREFIX_BYTES = 4 << 20;
/** Chunk size for hashing (sha256 option). */
const HASH_CHUNK_BYTES = 8 << 20;

/** Opens the WebGPU device in the wasm module (rejections become BackendUnavailableError). */
async function openWebGpu(wasm: WasmBindings, adapter: AdapterDescription): Promise<WasmWebGpu> {
  try {
    return await wasm.openWebGpu(adapter.name, adapter.isSoftware);
  } catch (err) {
    const e = toWasmChordError(err);
    if (e instanceof BackendUnavailableError) throw e;
    throw new BackendUnavailableError(
      `could not open the WebGPU device (${adapter.name}): ${e.message}; use backend: 'cpu' or 'auto'`,
      { cause: err },
    );
  }
}

function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortError(`${what} aborted`);
}

export class EngineCore implements CoreClient {
  private engine: WasmEngine | null = null;
  private nCtx = 0;

  async load(req: CoreLoadRequest, onProgress: (p: LoadProgress) => void, signal?: AbortSignal): Promise<CoreLoadResult> {
    try {
      // Before any download: an unavailable backend should fail at once.
      const { backend, reason, adapter } = await chooseBackend(req.backend);
      onProgress({ phase: 'backend', loaded: 0, total: 0, fromCache: false, text: `Backend: ${backend} (${reason})` });
      // WebGPU does the heavy work on the GPU; the worker's own share (tokenizer, sampling) is
      // single-threaded, so it takes the single-threaded build and starts no thread pool.
      const { bindings: wasm, threads, cpuKernels } = await loadWasm(backend === 'webgpu' ? 1 : req.threads);
      checkAborted(signal, 'loading');
      const gpu = adapter ? await openWebGpu(wasm, adapter) : undefined;
      const { source, fromCache, entry } = await this.openSource(req, onProgress, signal);
      try {
        if (req.sha256) await this.verify(source, req.sha256, entry, fromCache, onProgress, signal);
        const header = await readHeader(source, (prefix) => wasm.ggufHeaderBytesNeeded(prefix));
        checkAborted(signal, 'loading');
        const options = req.nCtx !== undefined ? { nCtx: req.nCtx } : {};
        // (the loader takes the device over; it is freed with the loader or the engine)
        const loader = new wasm.ModelLoader(header, source.size, options, gpu);
        const engine = await loadTensors(loader, source, fromCache, onProgress, signal, backend === 'webgpu');
        this.engine?.free();
        this.engine = engine;
        const info = engine.info();
        if (info.backend !== backend) {
          throw new InternalError(`the engine runs on ${info.backend}, but ${backend} was chosen`);
        }
        this.nCtx = info.nCtx;
        return { info, backend, backendReason: reason, threads, cpuKernels };
      } finally {
        await source.close().catch(() => {});
      }
    } catch (err) {
      throw toWasmChordError(err);
    }
  }

  /** Turns the request's source into random-access bytes, downloading (and caching) URLs first. */
  private async openSource(
    req: CoreLoadRequest,
    onProgress: (p: LoadProgress) => void,
    signal?: AbortSignal,
  ): Promise<{ source: ByteSource; fromCache: boolean; entry: CacheEntry | null }> {
    const src = req.source;
    if (src.kind === 'blob') return { source: new BlobSource(src.blob), fromCache: false, entry: null };
    if (src.kind === 'path') {
      if (!isServerRuntime()) throw new InvalidRequestError('file paths are only supported in Node and Deno');
      const path = src.path.startsWith('file:') ? new URL(src.path) : src.path;
      return { source: await NodeFileSource.open(path), fromCache: false, entry: null };
    }
    const report = (p: { loaded: number; total: number; text: string }) =>
      onProgress({ phase: 'download', fromCache: false, ...p });
    // OPFS can exist and still refuse (e.g. storage blocked for this site); then there is no cache.
    const entry = req.cache && opfsAvailable() ? await CacheEntry.open(src.url).catch(() => null) : null;
    if (entry) {
      const downloaded = await downloadToCache(entry, { signal, onProgress: report });
      return { source: new BlobSource(await entry.file()), fromCache: !downloaded, entry };
    }
    const bytes = await downloadToMemory(src.url, { signal, onProgress: report });
    return { source: new MemorySource(bytes), fromCache: false, entry: null };
  }

  private async verify(
    source: ByteSource,
    expected: string,
    entry: CacheEntry | null,
    fromCache: boolean,
    onProgress: (p: LoadProgress) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const meta = entry ? await entry.readMetadata() : null;
    if (meta?.complete && meta.sha256 === expected) return; // verified when it was cached
    const hasher = new Sha256();
    for (let at = 0; at < source.size; at += HASH_CHUNK_BYTES) {
      checkAborted(signal, 'verification');
      const end = Math.min(source.size, at + HASH_CHUNK_BYTES);
      hasher.update(await source.read(at, end));
      onProgress({
        phase: 'verify',
        loaded: end,
        total: source.size,
        fromCache,
        text: `Verifying sha256 ${formatBytes(end)} / ${formatBytes(source.size)}`,
      });
    }
    const actual = toHex(hasher.digest());
    if (actual !== expected) {
      // A cached copy that fails the check is never used again.
      if (entry) await entry.remove().catch(() => {});
      throw new IntegrityError(
        `sha256 mismatch: expected ${expected}, the file has ${actual}` +
          (entry ? ' (the cached copy was deleted)' : ''),
      );
    }
    if (entry && meta?.complete) await entry.writeMetadata({ ...meta, sha256: actual, updatedAt: Date.now() });
  }

  async generate(req: CoreGenerateRequest, onEvent: (e: CoreEvent) => void, signal?: AbortSignal): Promise<CoreFinish> {
    try {
      const engine = this.requireEngine();
      const ids =
        typeof req.prompt === 'string'
          ? engine.tokenize(req.prompt, req.addSpecial, req.parseSpecial)
          : Uint32Array.from(req.prompt);
      if (ids.length === 0) throw new InvalidRequestError('the prompt is empty');
      const room = this.nCtx - ids.length;
      if (room <= 0) {
        throw new PromptTooLongError(
          `the prompt has ${ids.length} tokens; the context holds ${this.nCtx}: shorten it (in a chat: drop ` +
            `old messages or start a new conversation) or load the model with a larger nCtx`,
        );
      }
      const s = req.sampling;
      const options: WasmGenerateOptions = {
        // Generation ends when the context is full at the latest.
        maxTokens: Math.min(s.maxTokens ?? room, room),
        ...(s.temperature !== undefined && { temperature: s.temperature }),
        ...(s.topK !== undefined && { topK: s.topK }),
        ...(s.topP !== undefined && { topP: s.topP }),
        ...(s.minP !== undefined && { minP: s.minP }),
        ...(s.repetitionPenalty !== undefined && { repetitionPenalty: s.repetitionPenalty }),
        ...(s.seed !== undefined && { seed: s.seed }),
        ...(s.ignoreEos !== undefined && { ignoreEos: s.ignoreEos }),
        ...(s.cachePrompt !== undefined && { cachePrompt: s.cachePrompt }),
      };
      checkAborted(signal, 'the request was');
      engine.begin(ids, options);
      return await runGeneration(engine, req.stop, onEvent, signal);
    } catch (err) {
      throw toWasmChordError(err);
    }
  }

  async tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Promise<number[]> {
    try {
      return Array.from(this.requireEngine().tokenize(text, addSpecial, parseSpecial));
    } catch (err) {
      throw toWasmChordError(err);
    }
  }

  async detokenize(ids: number[]): Promise<string> {
    try {
      return this.requireEngine().detokenize(Uint32Array.from(ids));
    } catch (err) {
      throw toWasmChordError(err);
    }
  }

  async dispose(): Promise<void> {
    this.engine?.free();
    this.engine = null;
  }

  private requireEngine(): WasmEngine {
    if (!this.engine) throw new InvalidRequestError('no model is loaded');
    return this.engine;
  }
}

/** Reads the GGUF header: a first prefix, then as many bytes as the parser asks for next (it may ask
 *  past the end of the file, so reads are clamped to the file size). */
async function readHeader(source: ByteSource, bytesNeeded: (prefix: Uint8Array) => number): Promise<Uint8Array> {
  let prefix = await source.read(0, Math.min(HEADER_PREFIX_BYTES, source.size));
  for (;;) {
    const need = bytesNeeded(prefix);
    if (need === 0) return prefix;
    if (prefix.length >= source.size) {
      throw new BadGgufError(`the file is truncated: its ${source.size} bytes do not hold the whole GGUF header`);
    }
    if (need <= prefix.length) {
      throw new BadGgufError(`the GGUF header parser asked for ${need} bytes after ${prefix.length}`);
    }
    prefix = await source.read(0, Math.min(need, source.size));
  }
}

/** Feeds the tensors to the loader in file order, one range at a time. */
async function loadTensors(
  loader: WasmModelLoader,
  source: ByteSource,
  fromCache: boolean,
  onProgress: (p: LoadProgress) => void,
  signal: AbortSignal | undefined,
  toGpu: boolean,
): Promise<WasmEngine> {
  let finished = false;
  try {
    const total = loader.totalBytes();
    const report = () => {
      const loaded = loader.loadedBytes();
      onProgress({
        phase: 'load',
        loaded,
        total,
        fromCache,
        text: `${toGpu ? 'Uploading weights to the GPU' : 'Loading weights'} ${formatBytes(loaded)} / ${formatBytes(total)}`,
      });
    };
    report();
    for (let range = loader.nextRange(); range != null; range = loader.nextRange()) {
      checkAborted(signal, 'loading');
      const start = range[0]!;
      const end = range[1]!;
      const bytes = await source.read(start, end);
      // WebGPU: the tensor goes from this JS array to GPU buffers piece by piece (never whole in
      // the wasm heap); the CPU keeps its weights in the wasm heap anyway.
      if (toGpu) loader.loadTensorFrom(bytes);
      else loader.loadTensor(bytes);
      report();
    }
    checkAborted(signal, 'loading');
    finished = true;
    return loader.finish(); // consumes the loader
  } finally {
    if (!finished) loader.free();
  }
}
