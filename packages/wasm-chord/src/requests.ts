/**
 * Request validation (OpenAI field names → the core's options) and the OpenAI-shaped response
 * objects. Pure functions: everything here is unit-tested without the engine.
 *
 * Validation is strict on purpose: a misspelt value (top_p: 5, a stop that is not a string) fails
 * with INVALID_REQUEST naming the field, rather than being passed on or silently ignored.
 */

import { InvalidRequestError } from './errors.js';
import type { TemplateMessage } from './chat-templates.js';
import type { CoreSampling } from './protocol.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatMessage,
  Completion,
  CompletionUsage,
  FinishReason,
  SamplingOptions,
} from './types.js';
import type { WasmUsage } from './wasm-api.js';

const MAX_STOP_STRINGS = 16;

function fail(field: string, message: string): never {
  throw new InvalidRequestError(`${field}: ${message}`);
}

function optNumber(
  req: Record<string, unknown>,
  field: string,
  check: (v: number) => boolean,
  expected: string,
): number | undefined {
  const v = req[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) fail(field, `expected ${expected}, got ${JSON.stringify(v)}`);
  return v;
}

/** Sampling fields and stop strings of a chat or text completion request. */
export function validateSampling(req: SamplingOptions): { sampling: CoreSampling; stop: string[] } {
  if (typeof req !== 'object' || req === null) throw new InvalidRequestError('the request must be an object');
  const r = req as Record<string, unknown>;
  const isInt = Number.isInteger;
  optNumber(r, 'n', (v) => v === 1, '1 (only one choice is supported)');
  const sampling: CoreSampling = {};
  const maxTokens = optNumber(r, 'max_tokens', (v) => isInt(v) && v >= 0, 'an integer >= 0');
  if (maxTokens !== undefined) sampling.maxTokens = maxTokens;
  const temperature = optNumber(r, 'temperature', (v) => v >= 0, 'a number >= 0');
  if (temperature !== undefined) sampling.temperature = temperature;
  const topP = optNumber(r, 'top_p', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
  if (topP !== undefined) sampling.topP = topP;
  const topK = optNumber(r, 'top_k', (v) => isInt(v) && v >= 0, 'an integer >= 0 (0 = off)');
  if (topK !== undefined) sampling.topK = topK;
  const minP = optNumber(r, 'min_p', (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  if (minP !== undefined) sampling.minP = minP;
  const penalty = optNumber(r, 'repetition_penalty', (v) => v > 0, 'a number > 0 (1 = off)');
  if (penalty !== undefined) sampling.repetitionPenalty = penalty;
  const seed = optNumber(r, 'seed', (v) => isInt(v) && v >= 0 && v <= 0xffff_ffff, 'an integer in [0, 2^32)');
  if (seed !== undefined) sampling.seed = seed;
  if (r.ignore_eos !== undefined && r.ignore_eos !== null) {
    if (typeof r.ignore_eos !== 'boolean') fail('ignore_eos', 'expected a boolean');
    sampling.ignoreEos = r.ignore_eos;
  }
  if (r.cache_prompt !== undefined && r.cache_prompt !== null) {
    if (typeof r.cache_prompt !== 'boolean') fail('cache_prompt', 'expected a boolean');
    sampling.cachePrompt = r.cache_prompt;
  }
  for (const field of ['frequency_penalty', 'presence_penalty'] as const) {
    const v = optNumber(r, field, () => true, 'a number');
    if (v !== undefined && v !== 0) fail(field, 'not supported (use repetition_penalty)');
  }
  if (r.logprobs === true) fail('logprobs', 'not supported');
  if (r.signal !== undefined && !(typeof r.signal === 'object' && r.signal !== null && 'aborted' in r.signal)) {
    fail('signal', 'expected an AbortSignal');
  }
  return { sampling, stop: validateStop(r.stop) };
}

function validateStop(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list)) fail('stop', 'expected a string or an array of strings');
  if (list.length > MAX_STOP_STRINGS) fail('stop', `at most ${MAX_STOP_STRINGS} strings`);
  for (const s of list) {
    if (typeof s !== 'string' || s.length === 0) fail('stop', 'every stop sequence must be a non-empty string');
  }
  return list as string[];
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/** Checks chat messages and flattens text content parts into strings for the template. */
export function validateMessages(messages: unknown): TemplateMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) fail('messages', 'expected a non-empty array');
  return (messages as unknown[]).map((m, i) => {
    const field = `messages[${i}]`;
    if (typeof m !== 'object' || m === null) fail(field, 'expected an object');
    const { role, content } = m as ChatMessage;
    if (typeof role !== 'string' || !ROLES.has(role)) fail(`${field}.role`, `expected one of ${[...ROLES].join(', ')}`);
    if (typeof content === 'string') return { role, content };
    if (Array.isArray(content)) {
      const text = content.map((part, j) => {
        if (typeof part !== 'object' || part === null || part.type !== 'text' || typeof part.text !== 'string') {
          fail(`${field}.content[${j}]`, "only { type: 'text', text } parts are supported");
        }
        return part.text;
      });
      return { role, content: text.join('') };
    }
    return fail(`${field}.content`, 'expected a string or an array of text parts');
  });
}

/** A text completion prompt: a non-empty string or an array of token ids. */
export function validatePrompt(prompt: unknown, nVocab: number): string | number[] {
  if (typeof prompt === 'string') {
    if (prompt.length === 0) fail('prompt', 'must not be empty');
    return prompt;
  }
  if (Array.isArray(prompt)) {
    if (prompt.length === 0) fail('prompt', 'must not be empty');
    for (const id of prompt) {
      if (!Number.isInteger(id) || id < 0 || id >= nVocab) fail('prompt', `token id ${String(id)} is not in [0, ${nVocab})`);
    }
    return prompt as number[];
  }
  return fail('prompt', 'expected a string or an array of token ids');
}

export function toUsage(u: WasmUsage): CompletionUsage {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: Math.max(0, u.promptTokens - u.promptEvaluated) },
    timings: {
      prefill_ms: u.prefillMs,
      decode_ms: u.decodeMs,
      prefill_tokens_per_second: u.prefillTokensPerSecond,
      decode_tokens_per_second: u.decodeTokensPerSecond,
    },
  };
}

let idCounter = 0;
export function completionId(prefix: 'chatcmpl' | 'cmpl'): string {
  idCounter = (idCounter + 1) % 1_000_000;
  return `${prefix}-${Date.now().toString(36)}${idCounter.toString(36)}`;
}

/** Common fields of every object of one response. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

export function chatCompletion(meta: ResponseMeta, content: string, finish: FinishReason, usage: CompletionUsage): ChatCompletion {
  return {
    ...meta,
    object: 'chat.completion',
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish, logprobs: null }],
    usage,
  };
}

export function chatChunk(
  meta: ResponseMeta,
  delta: ChatCompletionChunk['choices'][0]['delta'],
  finish: FinishReason | null = null,
  usage?: CompletionUsage,
): ChatCompletionChunk {
  return {
    ...meta,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    ...(usage && { usage }),
  };
}

export function textCompletion(
  meta: ResponseMeta,
  text: string,
  finish: FinishReason | null,
  usage?: CompletionUsage,
): Completion {
  return {
    ...meta,
    object: 'text_completion',
    choices: [{ index: 0, text, finish_reason: finish, logprobs: null }],
    ...(usage && { usage }),
  };
}
