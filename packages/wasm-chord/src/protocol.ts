/**
 * What the engine core does, as plain data: the requests the public Engine makes of the core and the
 * events it gets back. The same shapes are used in-thread (direct calls) and across the worker
 * (postMessage), so both paths behave alike.
 */

import type { PlainError } from './errors.js';
import type { BackendName, BackendRequest, FinishReason, LoadProgress } from './types.js';
import type { ModelInfo, WasmUsage } from './wasm-api.js';

/** A model source after the main thread resolved it (relative URLs are resolved there, because a
 *  worker's base URL is its script's, not the page's). */
export type CoreModelSource =
  | { kind: 'url'; url: string }
  | { kind: 'blob'; blob: Blob }
  /** Node/Deno: a file path or a file: URL string. */
  | { kind: 'path'; path: string };

export interface CoreLoadRequest {
  source: CoreModelSource;
  backend: BackendRequest;
  nCtx?: number;
  /** Requested CPU threads (see CreateEngineOptions.threads). */
  threads?: number;
  /** Use the OPFS cache for URLs when it exists. */
  cache: boolean;
  /** Lower-case hex. */
  sha256?: string;
}

export interface CoreLoadResult {
  info: ModelInfo;
  backend: BackendName;
  backendReason: string;
  /** CPU threads the engine really runs on (1 with the single-threaded wasm build). */
  threads: number;
  /** The CPU kernels in use (see Engine.cpuKernels). */
  cpuKernels: string;
}

export interface CoreSampling {
  /** Undefined: until end of turn or the context is full. */
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  seed?: number;
  ignoreEos?: boolean;
  /** Default true: reuse the longest cached prefix of the prompt. */
  cachePrompt?: boolean;
}

export interface CoreGenerateRequest {
  /** Text, tokenized by the core, or token ids. */
  prompt: string | number[];
  addSpecial: boolean;
  parseSpecial: boolean;
  sampling: CoreSampling;
  stop: string[];
}

export type CoreEvent =
  | { type: 'prefill'; evaluated: number; total: number }
  /** Text that is safe to show (stop strings already applied; never a split character). */
  | { type: 'text'; text: string };

export interface CoreFinish {
  finishReason: FinishReason;
  usage: WasmUsage;
}

/** The core as the public Engine sees it, wherever it runs. */
export interface CoreClient {
  load(req: CoreLoadRequest, onProgress: (p: LoadProgress) => void, signal?: AbortSignal): Promise<CoreLoadResult>;
  generate(req: CoreGenerateRequest, onEvent: (e: CoreEvent) => void, signal?: AbortSignal): Promise<CoreFinish>;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Frees the model (and ends the worker). */
  dispose(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Worker messages. Every call has an `id`; the worker answers with `result` or `error` for that id,
// after any number of `progress` / `event` messages. `abort` targets a running call's id.

export type ToWorker =
  | { type: 'load'; id: number; req: CoreLoadRequest }
  | { type: 'generate'; id: number; req: CoreGenerateRequest }
  | { type: 'tokenize'; id: number; text: string; addSpecial: boolean; parseSpecial: boolean }
  | { type: 'detokenize'; id: number; ids: number[] }
  | { type: 'dispose'; id: number }
  | { type: 'abort'; id: number };

export type FromWorker =
  | { type: 'progress'; id: number; progress: LoadProgress }
  | { type: 'event'; id: number; event: CoreEvent }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: PlainError };
