/**
 * The wasm-bindgen boundary as this package uses it: a copy of the contract in rust/web/API.md.
 *
 * The package's own code is written against these interfaces, not against the generated
 * `wasm/wasm_chord_web.d.ts`, so the pure-TS parts compile and test without the wasm build.
 * `wasm-contract-check.ts` (compiled only in the real build) asserts that the generated module is
 * assignable to `WasmBindings`, so a drift between the two fails `npm run build`.
 */

export interface WasmLoadOptions {
  nCtx?: number;
  threads?: number;
}

/** Model description, as the Rust side reports it (camelCase, serde-wasm-bindgen). */
export interface ModelInfo {
  /** "gemma3", "llama", … */
  architecture: string;
  /** general.name */
  name: string | null;
  fileSize: number;
  /** Total elements of all tensors. */
  nParams: number;
  nCtxTrain: number;
  /** The context this engine was loaded with. */
  nCtx: number;
  nVocab: number;
  nLayer: number;
  nEmbd: number;
  /** Distinct ggml tensor types, e.g. ["F32","Q4_K","Q6_K"]. */
  tensorTypes: string[];
  /** tokenizer.ggml.model ("llama" = SentencePiece, "gpt2" = BPE). */
  tokenizerModel: string;
  /** tokenizer.chat_template, if the file has one. */
  chatTemplate: string | null;
  bosToken: string | null;
  eosToken: string | null;
  /** tokenize(…, addSpecial = true) prepends BOS. */
  addBos: boolean;
  /** The backend the Rust side runs on: "cpu" or "webgpu". */
  backend: 'cpu' | 'webgpu';
  /** WebGPU: the adapter, as the page described it when the device was opened. */
  gpuAdapter: string | null;
}

export interface WasmGenerateOptions {
  maxTokens: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repeatLastN?: number;
  seed?: number;
  ignoreEos?: boolean;
  cachePrompt?: boolean;
}

export interface WasmUsage {
  promptTokens: number;
  promptEvaluated: number;
  completionTokens: number;
  prefillMs: number;
  decodeMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}

export type WasmStepEvent =
  /** WebGPU: the logits are on their way back from the GPU; await ready(), then step again. */
  | { type: 'pending' }
  | { type: 'prefill'; evaluated: number; total: number }
  | { type: 'token'; token: number; text: string }
  | { type: 'finish'; text: string; finishReason: 'stop' | 'length' | 'abort'; usage: WasmUsage };

export interface WasmEngine {
  info(): ModelInfo;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Uint32Array;
  detokenize(ids: Uint32Array): string;
  begin(prompt: Uint32Array, options: WasmGenerateOptions): void;
  step(): WasmStepEvent;
  /** Resolves when the GPU read a 'pending' step started has landed (at once on the CPU). Never
   *  rejects: a failure (e.g. a lost device) is thrown by the next step(). */
  ready(): Promise<unknown>;
  cancel(): void;
  reset(): void;
  free(): void;
}

/** An open WebGPU device (openWebGpu), consumed by the ModelLoader it is given to. */
export interface WasmWebGpu {
  free(): void;
  [Symbol.dispose](): void;
}

export interface WasmModelLoader {
  info(): ModelInfo;
  /** [start, end) absolute file offsets (wasm-bindgen hands a Vec<f64> over as a Float64Array). */
  nextRange(): ArrayLike<number> | undefined;
  loadTensor(bytes: Uint8Array): void;
  /** loadTensor without first copying the whole tensor into the wasm heap (WebGPU: piece by
   *  piece on to GPU buffers). */
  loadTensorFrom(bytes: Uint8Array): void;
  totalBytes(): number;
  loadedBytes(): number;
  finish(): WasmEngine;
  free(): void;
}

/** What the generated `wasm_chord_web.js` exports (the parts this package uses). Method syntax on
 *  purpose: the generated init functions accept more argument shapes than we pass. */
/** The multi-threaded build (src/wasm-threads/) also starts its rayon pool of Web Workers. */
export interface WasmThreadedBindings extends WasmBindings {
  initThreadPool(numThreads: number): Promise<unknown>;
}

export interface WasmBindings {
  default(arg: { module_or_path: URL }): Promise<unknown>;
  initSync(arg: { module: BufferSource }): unknown;
  ggufHeaderBytesNeeded(prefix: Uint8Array): number;
  /** Checks the SIMD kernels against the portable ones (throws on a difference); names them. */
  kernelSelfCheck(): string;
  /** Opens the WebGPU device of this realm; rejects with BACKEND_UNAVAILABLE. */
  openWebGpu(adapterName: string, isSoftware: boolean): Promise<WasmWebGpu>;
  /** With `gpu` the model runs on WebGPU (the device is consumed), else on the CPU. */
  ModelLoader: new (
    header: Uint8Array,
    fileSize: number,
    options: WasmLoadOptions,
    gpu?: WasmWebGpu | null,
  ) => WasmModelLoader;
}
