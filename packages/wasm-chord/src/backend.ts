/**
 * Which backend an engine runs on, and why.
 *
 * - 'cpu': the WebAssembly CPU backend (SIMD, threads on cross-origin-isolated pages).
 * - 'webgpu': the WGSL kernels on the WebGPU adapter of the page / worker. Fails with
 *   BackendUnavailableError (saying what to do) where there is no WebGPU or no adapter.
 * - 'auto': WebGPU when a hardware adapter exists, else the CPU. A software adapter (SwiftShader,
 *   which Chromium offers when there is no usable GPU, or Mesa's llvmpipe) runs the kernels on
 *   the CPU through a Vulkan emulation, slower than the WebAssembly CPU backend, so 'auto' takes
 *   the CPU there; backend: 'webgpu' still uses it.
 *
 * The choice is made where the engine runs (the worker), since that is where the adapter is
 * opened. The WebGPU backend is browser-only: wgpu's WebGPU backend needs a window or a
 * dedicated worker, so in Node and Deno 'auto' is the CPU and 'webgpu' fails.
 */

import { BackendUnavailableError } from './errors.js';
import { isServerRuntime } from './platform.js';
import type { BackendName, BackendRequest } from './types.js';

/** The adapter the engine will open, as the page sees it (wgpu cannot read GPUAdapter.info). */
export interface AdapterDescription {
  /** e.g. "google swiftshader (subzero)" or "nvidia ampere". */
  name: string;
  /** A software (CPU) implementation: SwiftShader, llvmpipe / lavapipe, WARP. */
  isSoftware: boolean;
}

export interface BackendChoice {
  backend: BackendName;
  /** One sentence: why this backend (and, for WebGPU, on which adapter). */
  reason: string;
  /** Set when backend is 'webgpu'. */
  adapter?: AdapterDescription;
}

/** How long an adapter request may take before it counts as "no adapter" (a broken driver can
 *  leave the promise pending; the engine must fail with a clear error, not hang). */
export const ADAPTER_TIMEOUT_MS = 10_000;

/** The parts of the WebGPU API used here (typed locally: the package needs no @webgpu/types). */
interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
}
export interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapterLike | null>;
}

const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

function navigatorGpu(): GpuLike | undefined {
  return (globalThis as { navigator?: { gpu?: GpuLike } }).navigator?.gpu ?? undefined;
}

/** Whether this realm has the WebGPU API at all (not whether an adapter exists). */
export function webGpuApiAvailable(): boolean {
  return !isServerRuntime() && navigatorGpu() !== undefined;
}

/** Synchronous check before a worker or a download starts: fails at once for backend: 'webgpu'
 *  where WebGPU cannot exist. */
export function precheckBackend(requested: BackendRequest): void {
  if (requested === 'webgpu' && !webGpuApiAvailable()) throw noWebGpuApi(isServerRuntime());
}

function noWebGpuApi(server: boolean): BackendUnavailableError {
  if (server) {
    return new BackendUnavailableError(
      "backend 'webgpu' runs only in browsers (Node and Deno use the CPU backend); use backend: 'cpu' or 'auto'",
    );
  }
  return new BackendUnavailableError(
    "WebGPU is not available here (navigator.gpu is missing): use a browser with WebGPU enabled " +
      '(Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows) on a secure origin (https:// or ' +
      "http://localhost), or use backend: 'cpu' or 'auto'",
  );
}

export function describeAdapter(adapter: GpuAdapterLike): AdapterDescription {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const name = [...new Set(parts)].join(' ') || 'unknown adapter';
  const isSoftware = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(name);
  return { name, isSoftware };
}

async function requestAdapter(gpu: GpuLike): Promise<GpuAdapterLike | null | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ADAPTER_TIMEOUT_MS);
  });
  try {
    return await Promise.race([gpu.requestAdapter({ powerPreference: 'high-performance' }), timeout]);
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/** Where the choice is made: this realm's WebGPU entry point, and whether it is Node/Deno
 *  (a parameter so that unit tests can stand in for a browser). */
export interface BackendEnvironment {
  gpu: GpuLike | undefined;
  server: boolean;
}

function currentEnvironment(): BackendEnvironment {
  const server = isServerRuntime();
  return { gpu: server ? undefined : navigatorGpu(), server };
}

/** Picks the backend for a request; for 'webgpu', throws BackendUnavailableError when there is none. */
export async function chooseBackend(
  requested: BackendRequest,
  env: BackendEnvironment = currentEnvironment(),
): Promise<BackendChoice> {
  if (requested === 'cpu') return { backend: 'cpu', reason: "backend: 'cpu' was requested" };
  const gpu = env.server ? undefined : env.gpu;
  if (!gpu) {
    if (requested === 'webgpu') throw noWebGpuApi(env.server);
    return {
      backend: 'cpu',
      reason: env.server
        ? 'the WebGPU backend runs only in browsers; using the CPU (WebAssembly) backend'
        : 'WebGPU is not available here; using the CPU (WebAssembly) backend',
    };
  }
  const adapter = await requestAdapter(gpu);
  if (adapter === null || adapter === 'timeout') {
    const why =
      adapter === 'timeout'
        ? `the browser did not answer a WebGPU adapter request within ${ADAPTER_TIMEOUT_MS / 1000} s`
        : 'the browser has WebGPU but offers no adapter (no usable GPU, or WebGPU is blocked for it)';
    if (requested === 'webgpu') {
      throw new BackendUnavailableError(
        `${why}: update the GPU driver or enable WebGPU for this GPU (chrome://gpu shows why it is off), ` +
          "or use backend: 'cpu' or 'auto'",
      );
    }
    return { backend: 'cpu', reason: `${why}; using the CPU (WebAssembly) backend` };
  }
  const desc = describeAdapter(adapter);
  if (requested === 'webgpu') {
    return { backend: 'webgpu', reason: `backend: 'webgpu' was requested (adapter: ${desc.name})`, adapter: desc };
  }
  if (desc.isSoftware) {
    return {
      backend: 'cpu',
      reason:
        `the only WebGPU adapter is a software one (${desc.name}), slower than the CPU (WebAssembly) backend; ` +
        "using the CPU backend (pass backend: 'webgpu' to use the adapter anyway)",
    };
  }
  return { backend: 'webgpu', reason: `WebGPU adapter found (${desc.name}); using the WebGPU backend`, adapter: desc };
}
