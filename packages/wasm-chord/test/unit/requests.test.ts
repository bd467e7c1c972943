import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toUsage, validateMessages, validatePrompt, validateSampling } from '../../src/requests.js';
import { InvalidRequestError } from '../../src/errors.js';

const bad = (fn: () => unknown, field: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof InvalidRequestError && e.code === 'INVALID_REQUEST' && field.test(e.message));

test('sampling: OpenAI names map to the core options; nulls mean default', () => {
  const r = validateSampling({
    max_tokens: 16,
    temperature: 0,
    top_p: 0.9,
    top_k: 40,
    min_p: 0.05,
    repetition_penalty: 1.1,
    seed: 42,
    ignore_eos: true,
    cache_prompt: false,
    stop: 'END',
    model: 'whatever',
  });
  assert.deepEqual(r.sampling, {
    maxTokens: 16,
    temperature: 0,
    topP: 0.9,
    topK: 40,
    minP: 0.05,
    repetitionPenalty: 1.1,
    seed: 42,
    ignoreEos: true,
    cachePrompt: false,
  });
  assert.deepEqual(r.stop, ['END']);
  assert.deepEqual(validateSampling({ temperature: null, stop: null }), { sampling: {}, stop: [] });
});

test('sampling: out-of-range values name the field', () => {
  bad(() => validateSampling({ max_tokens: -1 }), /^max_tokens/);
  bad(() => validateSampling({ max_tokens: 1.5 }), /^max_tokens/);
  bad(() => validateSampling({ temperature: -0.1 }), /^temperature/);
  bad(() => validateSampling({ temperature: NaN }), /^temperature/);
  bad(() => validateSampling({ top_p: 0 }), /^top_p/);
  bad(() => validateSampling({ top_p: 1.5 }), /^top_p/);
  bad(() => validateSampling({ top_k: -1 }), /^top_k/);
  bad(() => validateSampling({ min_p: 2 }), /^min_p/);
  bad(() => validateSampling({ repetition_penalty: 0 }), /^repetition_penalty/);
  bad(() => validateSampling({ seed: 2 ** 32 }), /^seed/);
  bad(() => validateSampling({ n: 2 }), /^n:/);
  bad(() => validateSampling({ stop: [''] }), /^stop/);
  bad(() => validateSampling({ stop: 5 as unknown as string }), /^stop/);
  bad(() => validateSampling({ stop: Array(17).fill('x') }), /^stop/);
  bad(() => validateSampling({ ignore_eos: 'yes' as unknown as boolean }), /^ignore_eos/);
  bad(() => validateSampling({ cache_prompt: 1 as unknown as boolean }), /^cache_prompt/);
  bad(() => validateSampling({ frequency_penalty: 0.5 } as object), /^frequency_penalty/);
  bad(() => validateSampling({ temperature: '0.5' as unknown as number }), /^temperature/);
});

test('messages: roles checked, text parts joined', () => {
  assert.deepEqual(
    validateMessages([
      { role: 'system', content: 'S' },
      { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
    ]),
    [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'ab' },
    ],
  );
  bad(() => validateMessages([]), /^messages/);
  bad(() => validateMessages(undefined), /^messages/);
  bad(() => validateMessages([{ role: 'robot', content: 'x' }]), /messages\[0\]\.role/);
  bad(() => validateMessages([{ role: 'user', content: 3 }]), /messages\[0\]\.content/);
  bad(() => validateMessages([{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }]), /content\[0\]/);
});

test('prompt: text or token ids within the vocabulary', () => {
  assert.equal(validatePrompt('hi', 10), 'hi');
  assert.deepEqual(validatePrompt([1, 2, 9], 10), [1, 2, 9]);
  bad(() => validatePrompt('', 10), /^prompt/);
  bad(() => validatePrompt([], 10), /^prompt/);
  bad(() => validatePrompt([10], 10), /^prompt/);
  bad(() => validatePrompt([1.5], 10), /^prompt/);
  bad(() => validatePrompt(undefined, 10), /^prompt/);
});

test('usage: totals, cached prompt tokens and timings', () => {
  assert.deepEqual(
    toUsage({
      promptTokens: 10,
      promptEvaluated: 4,
      completionTokens: 5,
      prefillMs: 100,
      decodeMs: 500,
      prefillTokensPerSecond: 40,
      decodeTokensPerSecond: 10,
    }),
    {
      prompt_tokens: 10,
      completion_tokens: 5,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 6 },
      timings: { prefill_ms: 100, decode_ms: 500, prefill_tokens_per_second: 40, decode_tokens_per_second: 10 },
    },
  );
});
