/**
 * Loads and initialises the wasm module once per realm (page, worker or Node/Deno process).
 *
 * There are two builds (scripts/build-wasm.sh): `wasm-threads/` uses shared memory and a rayon pool
 * whose threads are Web Workers; `wasm/` is single-threaded. Each folder holds two modules with the
 * same exports (one glue file): `wasm_chord_web_relaxed_bg.wasm`, built with relaxed SIMD (byte dot
 * products and fused multiply-adds in one instruction each: several times faster), is taken where
 * the engine validates relaxed SIMD (Chromium, Firefox, Deno, Node 22+); `wasm_chord_web_bg.wasm`
 * elsewhere (Safari, Node 20). Both give the same bits (the kernels check at run time that the
 * engine's relaxed multiply-add is fused, and compute it exactly otherwise). Threads need a cross-origin-isolated
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
  /** The CPU kernels in use, checked against the portable ones (kernelSelfCheck). */
  cpuKernels: string;
}

/**
 * Whether this engine has relaxed SIMD: validates a tiny module whose one function uses
 * `i32x4.relaxed_dot_i8x16_i7x16_add_s` and `f32x4.relaxed_madd` (the two the kernels use).
 */
export function relaxedSimdAvailable(): boolean {
  const v128Const = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
  const body = [
    0x00, // no locals
    ...v128Const, ...v128Const, ...v128Const,
    0xfd, 0x93, 0x02, // i32x4.relaxed_dot_i8x16_i7x16_add_s
    ...v128Const, ...v128Const,
    0xfd, 0x85, 0x02, // f32x4.relaxed_madd
    0x0b, // end
  ];
  const module = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // types: () -> v128
    0x03, 0x02, 0x01, 0x00, // functions: one of type 0
    0x0a, body.length + 2, 0x01, body.length, ...body, // code
  ];
  try {
    return WebAssembly.validate(new Uint8Array(module));
  } catch {
    return false;
  }
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
    const relaxedSimd = relaxedSimdAvailable();
    // Literal URLs, so bundlers see (and copy) every module.
    const wasmUrl = threaded
      ? relaxedSimd
        ? new URL('./wasm-threads/wasm_chord_web_relaxed_bg.wasm', import.meta.url)
        : new URL('./wasm-threads/wasm_chord_web_bg.wasm', import.meta.url)
      : relaxedSimd
        ? new URL('./wasm/wasm_chord_web_relaxed_bg.wasm', import.meta.url)
        : new URL('./wasm/wasm_chord_web_bg.wasm', import.meta.url);
    try {
      if (threaded) {
        const bindings = (await import('./wasm-threads/wasm_chord_web.js')) as unknown as WasmThreadedBindings;
        await bindings.default({ module_or_path: wasmUrl });
        await bindings.initThreadPool(wanted);
        return { bindings, threads: wanted, cpuKernels: bindings.kernelSelfCheck() };
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
      return { bindings, threads: 1, cpuKernels: bindings.kernelSelfCheck() };
    } catch (err) {
      ready = null;
      throw new InternalError(`could not load the wasm module (${wasmUrl.href}): ${(err as Error).message}`, {
        cause: err,
      });
    }
  })();
  return ready;
}
