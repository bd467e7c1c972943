import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as E from '../../src/errors.js';

const classes: Array<[E.ErrorCode, new (m: string) => E.WasmChordError, string]> = [
  ['ABORTED', E.AbortError, 'AbortError'],
  ['BAD_GGUF', E.BadGgufError, 'BadGgufError'],
  ['UNSUPPORTED_MODEL', E.UnsupportedModelError, 'UnsupportedModelError'],
  ['PROMPT_TOO_LONG', E.PromptTooLongError, 'PromptTooLongError'],
  ['INVALID_REQUEST', E.InvalidRequestError, 'InvalidRequestError'],
  ['NETWORK', E.NetworkError, 'NetworkError'],
  ['QUOTA_EXCEEDED', E.QuotaExceededError, 'QuotaExceededError'],
  ['INTEGRITY', E.IntegrityError, 'IntegrityError'],
  ['BACKEND_UNAVAILABLE', E.BackendUnavailableError, 'BackendUnavailableError'],
  ['ENGINE_UNLOADED', E.EngineUnloadedError, 'EngineUnloadedError'],
  ['INTERNAL', E.InternalError, 'InternalError'],
];

test('every class round-trips through {name, message, code} and structured clone', () => {
  for (const [code, Cls, name] of classes) {
    const original = new Cls('something happened');
    assert.equal(original.code, code);
    assert.equal(original.name, name);
    assert.ok(original instanceof E.WasmChordError && original instanceof Error);
    // What crosses postMessage: a plain object (a custom Error class would lose its prototype).
    const wire = structuredClone(E.toPlain(original));
    assert.deepEqual(wire, { name, message: 'something happened', code });
    const rebuilt = E.fromPlain(wire);
    assert.ok(rebuilt instanceof Cls, `${code} rebuilt as ${rebuilt.constructor.name}`);
    assert.equal(rebuilt.message, 'something happened');
    assert.equal(rebuilt.code, code);
  }
});

test("the wasm side's plain error objects become the named classes", () => {
  const e = E.toWasmChordError({ name: 'WasmChordError', code: 'PROMPT_TOO_LONG', message: 'too long: 5000 > 4096' });
  assert.ok(e instanceof E.PromptTooLongError);
  assert.equal(e.message, 'too long: 5000 > 4096');
});

test('unknown codes and foreign errors become INTERNAL; DOM abort and quota errors are mapped', () => {
  assert.ok(E.fromPlain({ name: 'X', code: 'NOPE', message: 'm' }) instanceof E.InternalError);
  assert.ok(E.toWasmChordError(new TypeError('t')) instanceof E.InternalError);
  assert.ok(E.toWasmChordError('a string') instanceof E.InternalError);
  assert.ok(E.toWasmChordError(new DOMException('stop', 'AbortError')) instanceof E.AbortError);
  const q = E.toWasmChordError(new DOMException('full', 'QuotaExceededError'));
  assert.ok(q instanceof E.QuotaExceededError);
  assert.equal(q.code, 'QUOTA_EXCEEDED');
});

test('AbortError is named like the DOM one', () => {
  const e = new E.AbortError();
  assert.equal(e.name, 'AbortError');
  assert.equal(e.code, 'ABORTED');
});
