/**
 * wasm-chord: LLM inference for GGUF models in the browser (WebAssembly in a Web Worker), Node and
 * Deno, with an OpenAI-shaped API.
 *
 * ```ts
 * import { createEngine } from 'wasm-chord';
 * const engine = await createEngine({ model: url, onProgress: (p) => console.log(p.text) });
 * const stream = await engine.chat.completions.create({ messages, stream: true, max_tokens: 256 });
 * for await (const chunk of stream) out += chunk.choices[0].delta.content ?? '';
 * ```
 */

export { createEngine } from './create.js';
export { Engine, type ChatCompletions, type Completions } from './engine.js';
export { listCachedModels, deleteCachedModel, storageEstimate } from './cache/index.js';
export {
  BUILTIN_CHAT_TEMPLATES,
  type BuiltinChatTemplate,
  type ChatTemplateChoice,
} from './chat-templates.js';
export {
  WasmChordError,
  AbortError,
  BadGgufError,
  UnsupportedModelError,
  PromptTooLongError,
  InvalidRequestError,
  NetworkError,
  QuotaExceededError,
  IntegrityError,
  BackendUnavailableError,
  EngineUnloadedError,
  InternalError,
  type ErrorCode,
} from './errors.js';
export type * from './types.js';
