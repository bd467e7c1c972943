/** Public types of the package (OpenAI-shaped requests and responses, engine options). */

import type { ModelInfo } from './wasm-api.js';
export type { ModelInfo };

// ---------------------------------------------------------------------------------------------
// Engine creation

export type BackendName = 'cpu' | 'webgpu';
export type BackendRequest = 'auto' | BackendName;

/** Where the model comes from. A string is a URL in browsers; in Node/Deno a string that is not an
 *  http(s)/file URL is a file path. */
export type ModelSource = string | URL | Blob;

export type ProgressPhase =
  /** The backend was chosen (one event, before anything else): `text` says which and why. */
  | 'backend'
  /** Bytes coming over the network (into the OPFS cache, or into memory). */
  | 'download'
  /** Hashing the bytes for the `sha256` option. */
  | 'verify'
  /** Reading tensors from the file / cache / Blob into the engine (WebGPU: straight on to GPU
   *  buffers, tensor by tensor). */
  | 'load'
  /** Compiling GPU pipelines. Reserved: today the WebGPU backend compiles each kernel when the
   *  first request uses it. */
  | 'compile';

export interface LoadProgress {
  phase: ProgressPhase;
  /** Bytes done in this phase. */
  loaded: number;
  /** Bytes in this phase (0 when unknown, e.g. a download without Content-Length). */
  total: number;
  /** true when the model's bytes come from the OPFS cache (no network). */
  fromCache: boolean;
  /** A short human-readable line, e.g. "Downloading 12.0 / 241.4 MB". */
  text: string;
}

export interface CreateEngineOptions {
  /** URL (string or URL), File or Blob; in Node/Deno also a file path. */
  model: ModelSource;
  /**
   * 'auto' (default): WebGPU when the browser offers a hardware GPU adapter, else the CPU
   * (WebAssembly) backend; a software adapter (SwiftShader) counts as none, being slower than the
   * CPU backend. 'webgpu': WebGPU or a BackendUnavailableError that says what to do (Node and
   * Deno have no WebGPU backend). 'cpu': the CPU backend. `engine.backend` and
   * `engine.backendReason` tell what was chosen and why (also the first progress event).
   */
  backend?: BackendRequest;
  onProgress?: (progress: LoadProgress) => void;
  /** Aborts the download / load (rejects with AbortError); a later createEngine starts afresh
   *  (a download resumes from the cached part). */
  signal?: AbortSignal;
  /** Run the engine in a module Web Worker. Default: true in browsers, false in Node/Deno.
   *  Pass your own `Worker` (created from `wasm-chord/worker.js`) for bundler setups. */
  worker?: boolean | Worker;
  /** Browsers: the URL (absolute, or relative to the page) of a folder holding a copy of this
   *  package's `dist/`, from where the worker (`worker.js`) and the wasm modules (`wasm/`,
   *  `wasm-threads/`) are loaded. For bundlers that do not rewrite `new URL(…, import.meta.url)`
   *  (esbuild) or assets served from elsewhere; Vite and webpack need none. See "Bundlers" in
   *  the README. Not used in Node and Deno. */
  assetBase?: string | URL;
  /** Context length in tokens; default min(training context, 4096). */
  nCtx?: number;
  /** CPU threads. More than one needs the multi-threaded wasm build, which runs only in a Web
   *  Worker of a cross-origin-isolated page (COOP/COEP headers); elsewhere the engine uses one
   *  thread. Default: `navigator.hardwareConcurrency` (at most 8) where threads are possible. The
   *  count is fixed for the worker's lifetime (each engine has its own worker by default). The
   *  WebGPU backend always runs one CPU thread (the GPU does the heavy work). */
  threads?: number;
  /** Cache URL models in the Origin Private File System (default true where OPFS exists). */
  cache?: boolean;
  /** Expected SHA-256 of the model file (hex). A mismatch fails with IntegrityError. */
  sha256?: string;
  /** A builtin template name (see BUILTIN_CHAT_TEMPLATES) or a Jinja template string. Default:
   *  the model's own tokenizer.chat_template, else a builtin recognised from the vocabulary. */
  chatTemplate?: string;
}

// ---------------------------------------------------------------------------------------------
// Requests

/** Sampling options shared by chat and text completions (OpenAI names, llama.cpp extras). */
export interface SamplingOptions {
  /** Upper bound of generated tokens; default: until end of turn or the context is full. */
  max_tokens?: number | null;
  /** Default 0.8 (llama.cpp's); 0 = greedy. */
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repetition_penalty?: number | null;
  /** u32; fixed seed = reproducible sampling. Default: random. */
  seed?: number | null;
  /** Up to 16 strings; the text ends before the first one (which is not included). */
  stop?: string | string[] | null;
  ignore_eos?: boolean | null;
  /** Reuse the longest prefix of this prompt that the engine's KV cache already holds (default
   *  true, as llama-server's `cache_prompt`): turn N of a chat evaluates only its new tokens.
   *  false: only whole 512-token chunks that a fresh run computes identically are reused, so the
   *  output equals a fresh engine's bit for bit (with reuse it can differ in the last bits: the
   *  cached keys were computed in other batches; llama.cpp's server behaves the same). */
  cache_prompt?: boolean | null;
  /** Aborting ends the generation early with finish_reason 'abort' (the text so far is kept);
   *  aborting before the generation started (while queued) rejects with AbortError. */
  signal?: AbortSignal;
  /** Accepted for OpenAI compatibility and ignored (the engine has one model). */
  model?: string | null;
  /** Only 1 is supported. */
  n?: number | null;
}

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatContentPartText {
  type: 'text';
  text: string;
}

export interface ChatMessage {
  role: ChatRole;
  content: string | ChatContentPartText[];
  name?: string;
}

export interface ChatCompletionRequestBase extends SamplingOptions {
  messages: ChatMessage[];
}
export interface ChatCompletionRequestStreaming extends ChatCompletionRequestBase {
  stream: true;
}
export interface ChatCompletionRequestNonStreaming extends ChatCompletionRequestBase {
  stream?: false | null;
}
export type ChatCompletionRequest = ChatCompletionRequestStreaming | ChatCompletionRequestNonStreaming;

export interface CompletionRequestBase extends SamplingOptions {
  /** Text (special-token text such as `<start_of_turn>` is parsed as that token, as the CLI does)
   *  or token ids. BOS is prepended when the model wants it. */
  prompt: string | number[];
}
export interface CompletionRequestStreaming extends CompletionRequestBase {
  stream: true;
}
export interface CompletionRequestNonStreaming extends CompletionRequestBase {
  stream?: false | null;
}
export type CompletionRequest = CompletionRequestStreaming | CompletionRequestNonStreaming;

// ---------------------------------------------------------------------------------------------
// Responses

export type FinishReason = 'stop' | 'length' | 'abort';

export interface Timings {
  prefill_ms: number;
  decode_ms: number;
  prefill_tokens_per_second: number;
  decode_tokens_per_second: number;
}

export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** cached_tokens: prompt tokens reused from the KV cache (no forward pass needed). */
  prompt_tokens_details: { cached_tokens: number };
  timings: Timings;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    message: { role: 'assistant'; content: string };
    finish_reason: FinishReason;
    logprobs: null;
  }>;
  usage: CompletionUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: 0;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
    logprobs: null;
  }>;
  /** Only on the last chunk. */
  usage?: CompletionUsage;
}

export interface Completion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ index: 0; text: string; finish_reason: FinishReason | null; logprobs: null }>;
  /** On the whole completion, and on the last streamed chunk only. */
  usage?: CompletionUsage;
}

/** Streamed text completions reuse the `text_completion` object, as OpenAI does. */
export type CompletionChunk = Completion;

export interface TokenizeOptions {
  /** Prepend BOS (when the model wants it). Default true. */
  addSpecial?: boolean;
  /** Recognise special-token text such as `<start_of_turn>`. Default false. */
  parseSpecial?: boolean;
}

/** One cached model in the OPFS cache. */
export interface CachedModel {
  url: string;
  /** Bytes on disk. */
  bytes: number;
  /** Full size, when known. */
  size: number | null;
  complete: boolean;
  /** Hex SHA-256 when it was verified. */
  sha256: string | null;
  etag: string | null;
  lastModified: string | null;
  /** ms since epoch. */
  updatedAt: number;
}

export interface StorageInfo {
  /** Bytes this origin uses. */
  usage: number;
  /** Bytes this origin may use. */
  quota: number;
  /** Bytes held by the wasm-chord model cache. */
  modelCacheBytes: number;
}
