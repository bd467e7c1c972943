/**
 * Loads and initialises the wasm module once per realm (page, worker or Node/Deno process).
 *
 * There are two builds (scripts/build-wasm.sh): `wasm-threads/` uses shared memory and a rayon pool
 * whose threads are Web Workers; `wasm/` is single-threaded. Threads need a cross-origin-isolated
 * page (for SharedArrayBuffer) and must be driven from a worker (the pool's callers block with
 * Atomics.wait, which a page's main thread may not do), so the threaded build is used only in the
 * engine's worker of an isolated page; everywhere else (in-thread, Node, Deno) the single-threaded one.
 *
 * Browsers stream-compile the module from its URL next to this file. Node's and Deno's fetch cannot
 * read file: URLs the same way everywhere, so there the bytes are read with fs and given to `initSync`.
 */

import { isDedicatedWorker, isServerRuntime, nodeFs } from './platform.js';
import { InternalError } from './errors.js';
import type { WasmBindings, WasmThreadedBindings } from './wasm-api.js';

export interface LoadedWasm {
  bindings: WasmBindings;
  /** Threads the CPU backend runs on. */
  threads: number;
}

/** Default pool size: every core, but not so many workers that their memory and start-up dominate. */
const MAX_DEFAULT_THREADS = 8;

let ready: Promise<LoadedWasm> | null = null;

export function threadsAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return !isServerRuntime() && isDedicatedWorker() && g.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
}

function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(n, MAX_DEFAULT_THREADS));
}

/** `threads`: the count wanted (default: every core); the first call in a realm fixes it. */
export function loadWasm(threads?: number): Promise<LoadedWasm> {
  ready ??= (async () => {
    const wanted = threads ?? defaultThreads();
    const threaded = wanted > 1 && threadsAvailable();
    const wasmUrl = threaded
      ? new URL('./wasm-threads/wasm_chord_web_bg.wasm', import.meta.url)
      : new URL('./wasm/wasm_chord_web_bg.wasm', import.meta.url);
    try {
      if (threaded) {
        const bindings = (await import('./wasm-threads/wasm_chord_web.js')) as unknown as WasmThreadedBindings;
        await bindings.default({ module_or_path: wasmUrl });
        await bindings.initThreadPool(wanted);
        return { bindings, threads: wanted };
      }
      // Literal specifiers so bundlers see (and copy) the glue; its types are checked against the
      // contract in wasm-contract-check.ts.
      const bindings = (await import('./wasm/wasm_chord_web.js')) as unknown as WasmBindings;
      if (isServerRuntime()) {
        const bytes = await (await nodeFs()).readFile(wasmUrl);
        bindings.initSync({ module: bytes as Uint8Array<ArrayBuffer> });
      } else {
        await bindings.default({ module_or_path: wasmUrl });
      }
      return { bindings, threads: 1 };
    } catch (err) {
      ready = null;
      throw new InternalError(`could not load the wasm module (${wasmUrl.href}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  })();
  return ready;
}
