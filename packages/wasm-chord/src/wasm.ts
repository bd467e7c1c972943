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
 *
 * Bundlers (README, "Bundlers"). Everything here is written so that Vite, webpack and a plain
 * static server find it without configuration:
 * - the four module URLs are literal `new URL('./…', import.meta.url)` expressions, the one pattern
 *   bundlers rewrite (and copy the file for); `setAssetBase` (createEngine's `assetBase`, or the
 *   package folder found under Vite's dev server) replaces them where that pattern is not followed;
 * - both glue modules are imported statically: this file is part of the worker bundle, and Vite
 *   builds workers as one IIFE file by default (`worker.format: 'iife'`), which fails the whole
 *   `vite build` on any dynamic import ("UMD and IIFE output formats are not supported for
 *   code-splitting builds"). The main thread imports this file lazily (create.ts), so a page that
 *   only uses the worker does not load the glue twice;
 * - rayon's threads are started here (startRayonWorkers) instead of by wasm-bindgen-rayon's own
 *   `workerHelpers.no-bundler.js`, which scripts/build.mjs replaces: that helper fetched its own
 *   module as a Blob and imported the glue from `import.meta.url`, both of which break once a
 *   bundler merges the files into a worker bundle (webpack even replaces `import.meta.url` with
 *   the `file:` path of the source). Here each thread is the package's worker script again
 *   (`self.location.href`: whatever URL the bundler gave it), which worker.ts turns into a rayon
 *   thread when its first message is wasm-bindgen-rayon's `wasm_bindgen_worker_init`.
 */

import { isDedicatedWorker, isServerRuntime, nodeFs } from './platform.js';
import { InternalError } from './errors.js';
import type { WasmBindings, WasmThreadedBindings } from './wasm-api.js';
// Static on purpose (see the header); their types are checked against the contract in
// wasm-contract-check.ts.
import * as singleThreadedGlue from './wasm/wasm_chord_web.js';
import * as threadedGlue from './wasm-threads/wasm_chord_web.js';

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
/** Set by worker.ts: this realm is the package's own worker, whose script can start rayon threads. */
let inEngineWorker = false;
/** The folder holding a copy of dist/ (wasm/, wasm-threads/), where the literal URLs do not work. */
let assetBase: URL | null = null;

/** worker.ts calls this first: threads are started only from the package's worker (see the header). */
export function markEngineWorker(): void {
  inEngineWorker = true;
}

/** Where to take the modules from instead of next to this file (createEngine's `assetBase`, or
 *  the package's folder under Vite's dev server); before the first load of this realm. */
export function setAssetBase(base: URL | null): void {
  assetBase = base;
}

export function threadsAvailable(): boolean {
  const g = globalThis as { crossOriginIsolated?: boolean };
  return (
    inEngineWorker &&
    !isServerRuntime() &&
    isDedicatedWorker() &&
    g.crossOriginIsolated === true &&
    typeof SharedArrayBuffer === 'function'
  );
}

function defaultThreads(): number {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(n, MAX_DEFAULT_THREADS));
}

function moduleUrl(threaded: boolean, relaxedSimd: boolean): URL {
  if (assetBase) {
    const file = relaxedSimd ? 'wasm_chord_web_relaxed_bg.wasm' : 'wasm_chord_web_bg.wasm';
    return new URL(`${threaded ? 'wasm-threads' : 'wasm'}/${file}`, assetBase);
  }
  // Literal URLs, so bundlers see (and copy) every module.
  return threaded
    ? relaxedSimd
      ? new URL('./wasm-threads/wasm_chord_web_relaxed_bg.wasm', import.meta.url)
      : new URL('./wasm-threads/wasm_chord_web_bg.wasm', import.meta.url)
    : relaxedSimd
      ? new URL('./wasm/wasm_chord_web_relaxed_bg.wasm', import.meta.url)
      : new URL('./wasm/wasm_chord_web_bg.wasm', import.meta.url);
}

/** `threads`: the count wanted (default: every core); the first call in a realm fixes it. */
export function loadWasm(threads?: number): Promise<LoadedWasm> {
  ready ??= (async () => {
    const wanted = threads ?? defaultThreads();
    const threaded = wanted > 1 && threadsAvailable();
    const relaxedSimd = relaxedSimdAvailable();
    let wasmUrl: URL | null = null;
    try {
      wasmUrl = moduleUrl(threaded, relaxedSimd);
      if (threaded) {
        const bindings = threadedGlue as unknown as WasmThreadedBindings;
        await bindings.default({ module_or_path: wasmUrl });
        await bindings.initThreadPool(wanted);
        return { bindings, threads: wanted, cpuKernels: bindings.kernelSelfCheck() };
      }
      const bindings = singleThreadedGlue as unknown as WasmBindings;
      if (isServerRuntime()) {
        const bytes = await (await nodeFs()).readFile(wasmUrl);
        bindings.initSync({ module: bytes as Uint8Array<ArrayBuffer> });
      } else {
        await bindings.default({ module_or_path: wasmUrl });
      }
      return { bindings, threads: 1, cpuKernels: bindings.kernelSelfCheck() };
    } catch (err) {
      ready = null;
      throw new InternalError(
        `could not load the wasm module (${wasmUrl?.href ?? 'no URL'}): ${(err as Error).message}`,
        { cause: err },
      );
    }
  })();
  return ready;
}

// ---------------------------------------------------------------------------------------------
// rayon's threads (wasm-bindgen-rayon's protocol: its `startWorkers(module, memory, builder)` is
// what the Rust side's initThreadPool calls; each thread instantiates the same module on the same
// shared memory, says it is ready, then runs `wbg_rayon_start_worker(receiver)` for good).

/** wasm-bindgen-rayon's pool builder, as its startWorkers receives it. */
interface RayonPoolBuilder {
  numThreads(): number;
  receiver(): number;
  build(): void;
}

interface RayonWorkerInit {
  type: 'wasm_bindgen_worker_init';
  init: { module: WebAssembly.Module; memory: WebAssembly.Memory };
  receiver: number;
}

/** The threaded glue's exports a rayon thread uses (not part of the engine's contract). */
interface RayonThreadBindings {
  initSync(arg: { module: WebAssembly.Module; memory: WebAssembly.Memory }): unknown;
  wbg_rayon_start_worker(receiver: number): void;
}

/** Kept referenced: Firefox has collected workers that only shared memory held
 *  (wasm-bindgen-rayon's note, bugzilla 1702191). */
let rayonWorkers: Worker[] = [];

/** Whether this worker was started classic (webpack turns `{ type: 'module' }` workers into
 *  classic ones) or as a module: a thread must be started the same way. importScripts() with no
 *  argument does nothing in a classic worker and throws in a module worker (HTML spec). */
function isModuleWorker(): boolean {
  try {
    (globalThis as unknown as { importScripts(...urls: string[]): void }).importScripts();
    return false;
  } catch {
    return true;
  }
}

/** wasm-bindgen-rayon's `startWorkers`, exported to the threaded glue under that name by the
 *  snippet scripts/build.mjs writes. Runs in the package's worker (threadsAvailable). */
export async function startRayonWorkers(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  builder: RayonPoolBuilder,
): Promise<void> {
  const n = builder.numThreads();
  if (n === 0) throw new Error('num_threads must be > 0');
  const script = (globalThis as unknown as { location: { href: string } }).location.href;
  const type: WorkerType = isModuleWorker() ? 'module' : 'classic';
  const init: RayonWorkerInit = { type: 'wasm_bindgen_worker_init', init: { module, memory }, receiver: builder.receiver() };
  rayonWorkers = await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const worker = new Worker(script, { type, name: `wasm-chord-rayon-${i}` });
      return new Promise<Worker>((resolve, reject) => {
        worker.addEventListener('message', function onMessage(ev: MessageEvent<{ type?: unknown }>) {
          if (ev.data?.type !== 'wasm_bindgen_worker_ready') return;
          worker.removeEventListener('message', onMessage);
          resolve(worker);
        });
        worker.addEventListener('error', (ev: ErrorEvent) => {
          ev.preventDefault?.();
          reject(new Error(`rayon thread ${i} (${script}) failed: ${ev.message || 'could not start the worker script'}`));
        });
        worker.postMessage(init);
      });
    }),
  );
  builder.build();
}

/** The first message of a worker started by startRayonWorkers. */
export function isRayonWorkerInit(msg: unknown): msg is RayonWorkerInit {
  return (msg as { type?: unknown } | null)?.type === 'wasm_bindgen_worker_init';
}

/** Turns this worker into a rayon thread: instantiates the module on the shared memory, reports
 *  ready, then runs rayon's loop (this call does not return while the pool lives). */
export function runRayonThread(msg: RayonWorkerInit): void {
  const glue = threadedGlue as unknown as RayonThreadBindings;
  glue.initSync(msg.init);
  (globalThis as unknown as { postMessage(m: unknown): void }).postMessage({ type: 'wasm_bindgen_worker_ready' });
  glue.wbg_rayon_start_worker(msg.receiver);
}
