/**
 * The public Engine: OpenAI-shaped chat and text completions over a CoreClient (the core in a
 * worker, or in this thread). This layer owns what is the same wherever the core runs: request
 * validation, chat templates, the one-request-at-a-time lock and assembling the response objects.
 */

import {
  chooseChatTemplate,
  renderChat,
  type ChatTemplateChoice,
  type TemplateTokens,
} from './chat-templates.js';
import { EngineUnloadedError, InvalidRequestError, toWasmChordError } from './errors.js';
import { RequestLock } from './lock.js';
import {
  chatChunk,
  chatCompletion,
  completionId,
  textCompletion,
  toUsage,
  validateMessages,
  validatePrompt,
  validateSampling,
  type ResponseMeta,
} from './requests.js';
import { AsyncQueue } from './stream.js';
import type { CoreClient, CoreFinish, CoreGenerateRequest, CoreLoadResult } from './protocol.js';
import type {
  BackendName,
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatCompletionRequestNonStreaming,
  ChatCompletionRequestStreaming,
  Completion,
  CompletionChunk,
  CompletionRequest,
  CompletionRequestNonStreaming,
  CompletionRequestStreaming,
  ModelInfo,
  SamplingOptions,
  TokenizeOptions,
} from './types.js';

export interface ChatCompletions {
  create(request: ChatCompletionRequestStreaming): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequestNonStreaming): Promise<ChatCompletion>;
  create(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

export interface Completions {
  create(request: CompletionRequestStreaming): Promise<AsyncIterable<CompletionChunk>>;
  create(request: CompletionRequestNonStreaming): Promise<Completion>;
  create(request: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>>;
}

/** What the Engine is built from (createEngine does the loading). */
export interface EngineParts {
  client: CoreClient;
  loaded: CoreLoadResult;
  /** Label for the `model` field of responses. */
  modelLabel: string;
  chatTemplate?: string;
}

export class Engine {
  /** The model, as the GGUF header describes it. */
  readonly info: ModelInfo;
  /** The backend in use: 'cpu' (WebAssembly) or 'webgpu' (`info.gpuAdapter` names the adapter). */
  readonly backend: BackendName;
  /** Why this backend was chosen, e.g. "WebGPU is not available here; using the CPU …" or
   *  "WebGPU adapter found (nvidia ampere); using the WebGPU backend". */
  readonly backendReason: string;
  /** CPU threads the engine runs on: 1 unless the page is cross-origin isolated and the engine
   *  runs in a worker (see CreateEngineOptions.threads). */
  readonly threads: number;
  /** The CPU kernels in use, e.g. "simd128 + relaxed-simd (fused multiply-add)" where the JS engine
   *  has relaxed SIMD (fastest), "simd128 (fused multiply-add emulated)" elsewhere. All give the
   *  same output; they were checked against the portable kernels when the module loaded. */
  readonly cpuKernels: string;
  /** The chat template in use: the model's Jinja template or a builtin. */
  readonly chatTemplate: ChatTemplateChoice;

  readonly chat: { completions: ChatCompletions };
  readonly completions: Completions;

  private readonly client: CoreClient;
  private readonly lock = new RequestLock();
  private readonly modelLabel: string;
  private readonly tokens: TemplateTokens;
  /** Controllers of the running request, so unload() can stop it. */
  private readonly running = new Set<AbortController>();
  private unloaded = false;

  /** Use createEngine(). */
  private constructor(parts: EngineParts, template: ChatTemplateChoice) {
    this.client = parts.client;
    this.info = parts.loaded.info;
    this.backend = parts.loaded.backend;
    this.backendReason = parts.loaded.backendReason;
    this.threads = parts.loaded.threads;
    this.cpuKernels = parts.loaded.cpuKernels;
    this.modelLabel = parts.modelLabel;
    this.chatTemplate = template;
    this.tokens = { bosToken: this.info.bosToken, eosToken: this.info.eosToken, addBos: this.info.addBos };
    // Arrow functions keep `this` when users pass `engine.chat.completions.create` around.
    this.chat = { completions: { create: ((r: ChatCompletionRequest) => this.createChat(r)) as ChatCompletions['create'] } };
    this.completions = { create: ((r: CompletionRequest) => this.createText(r)) as Completions['create'] };
  }

  /** @internal Builds the engine once the core has loaded the model. */
  static async create(parts: EngineParts): Promise<Engine> {
    const { client, loaded } = parts;
    const template = await chooseChatTemplate(
      {
        chatTemplate: loaded.info.chatTemplate,
        tokenizerModel: loaded.info.tokenizerModel,
        isSingleToken: async (text) => (await client.tokenize(text, false, true)).length === 1,
      },
      parts.chatTemplate,
    );
    return new Engine(parts, template);
  }

  /** Token ids of `text`. Defaults: addSpecial true (BOS when the model wants it), parseSpecial false. */
  async tokenize(text: string, options: TokenizeOptions = {}): Promise<number[]> {
    this.checkLoaded();
    if (typeof text !== 'string') throw new InvalidRequestError('tokenize: text must be a string');
    return this.client.tokenize(text, options.addSpecial ?? true, options.parseSpecial ?? false);
  }

  /** Text of token ids, as llama.cpp detokenizes: control tokens (BOS, <end_of_turn>) print nothing. */
  async detokenize(ids: readonly number[] | Uint32Array): Promise<string> {
    this.checkLoaded();
    const list = Array.from(ids);
    for (const id of list) {
      if (!Number.isInteger(id) || id < 0 || id >= this.info.nVocab) {
        throw new InvalidRequestError(`detokenize: token id ${String(id)} is not in [0, ${this.info.nVocab})`);
      }
    }
    return this.client.detokenize(list);
  }

  /** The chat prompt text a conversation renders to (what chat.completions.create tokenizes). */
  formatChat(messages: ChatCompletionRequest['messages']): string {
    return renderChat(this.chatTemplate, validateMessages(messages), this.tokens);
  }

  /**
   * Stops a running request, frees the model and ends the worker. Requests still queued fail with
   * EngineUnloadedError. The engine cannot be used afterwards.
   */
  async unload(): Promise<void> {
    if (this.unloaded) return;
    this.unloaded = true;
    for (const c of this.running) c.abort();
    // Wait for the running request to wind down before freeing what it uses.
    const release = await this.lock.acquire();
    try {
      await this.client.dispose();
    } finally {
      release();
    }
  }

  private checkLoaded(): void {
    if (this.unloaded) throw new EngineUnloadedError();
  }

  private meta(prefix: 'chatcmpl' | 'cmpl'): ResponseMeta {
    return { id: completionId(prefix), created: Math.floor(Date.now() / 1000), model: this.modelLabel };
  }

  private async createChat(request: ChatCompletionRequest): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    this.checkLoaded();
    const { sampling, stop } = validateSampling(request);
    const prompt = renderChat(this.chatTemplate, validateMessages(request?.messages), this.tokens);
    const core: CoreGenerateRequest = { prompt, addSpecial: true, parseSpecial: true, sampling, stop };
    const meta = this.meta('chatcmpl');
    if (request.stream) {
      return this.stream(core, request, (queue) => {
        // OpenAI's first chunk announces the role.
        queue.push(chatChunk(meta, { role: 'assistant', content: '' }));
        return {
          text: (text) => queue.push(chatChunk(meta, { content: text })),
          finish: (f) => queue.push(chatChunk(meta, {}, f.finishReason, toUsage(f.usage))),
        };
      });
    }
    let content = '';
    const finish = await this.run(core, request, (text) => (content += text));
    return chatCompletion(meta, content, finish.finishReason, toUsage(finish.usage));
  }

  private async createText(request: CompletionRequest): Promise<Completion | AsyncIterable<CompletionChunk>> {
    this.checkLoaded();
    const { sampling, stop } = validateSampling(request);
    const prompt = validatePrompt(request?.prompt, this.info.nVocab);
    // parseSpecial: special-token text in a prompt is that token, as in the CLI and llama.cpp.
    const core: CoreGenerateRequest = { prompt, addSpecial: true, parseSpecial: true, sampling, stop };
    const meta = this.meta('cmpl');
    if (request.stream) {
      return this.stream(core, request, (queue) => ({
        text: (text) => queue.push(textCompletion(meta, text, null)),
        finish: (f) => queue.push(textCompletion(meta, '', f.finishReason, toUsage(f.usage))),
      }));
    }
    let text = '';
    const finish = await this.run(core, request, (t) => (text += t));
    return textCompletion(meta, text, finish.finishReason, toUsage(finish.usage));
  }

  /** Non-streaming: waits for the lock, generates, resolves with the finish. */
  private async run(core: CoreGenerateRequest, opts: SamplingOptions, onText: (t: string) => void): Promise<CoreFinish> {
    const release = await this.lock.acquire(opts.signal ?? undefined);
    return this.drive(release, core, opts.signal, onText, new AbortController());
  }

  /**
   * Streaming: waits for the lock (so a request aborted while queued rejects), then returns the
   * chunk iterable at once while the generation runs. Breaking out of the for-await loop aborts it.
   */
  private async stream<T>(
    core: CoreGenerateRequest,
    opts: SamplingOptions,
    sink: (queue: AsyncQueue<T>) => { text: (t: string) => void; finish: (f: CoreFinish) => void },
  ): Promise<AsyncIterable<T>> {
    const release = await this.lock.acquire(opts.signal ?? undefined);
    const controller = new AbortController();
    const queue = new AsyncQueue<T>(() => controller.abort());
    const out = sink(queue);
    this.drive(release, core, opts.signal, out.text, controller).then(
      (f) => {
        out.finish(f);
        queue.end();
      },
      (err: unknown) => queue.fail(err),
    );
    return queue;
  }

  /** Runs one generation holding the lock; the lock is released in this one `finally`. */
  private async drive(
    release: () => void,
    core: CoreGenerateRequest,
    signal: AbortSignal | undefined,
    onText: (t: string) => void,
    controller: AbortController,
  ): Promise<CoreFinish> {
    const onAbort = () => controller.abort();
    this.running.add(controller);
    try {
      if (this.unloaded) throw new EngineUnloadedError();
      if (signal?.aborted) controller.abort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      return await this.client.generate(
        core,
        (e) => {
          if (e.type === 'text') onText(e.text);
        },
        controller.signal,
      );
    } catch (err) {
      throw toWasmChordError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.running.delete(controller);
      release();
    }
  }
}
