// Test doubles: a scripted wasm Engine (step events) and a CoreClient built on it with the real
// generation loop, so Engine-level tests exercise stop strings, abort and the lock without wasm.

import { runGeneration } from '../../src/generation.js';
import { InvalidRequestError } from '../../src/errors.js';
import type { CoreClient, CoreEvent, CoreFinish, CoreGenerateRequest, CoreLoadResult } from '../../src/protocol.js';
import type { ModelInfo, WasmStepEvent, WasmUsage } from '../../src/wasm-api.js';

export const usage = (completionTokens: number): WasmUsage => ({
  promptTokens: 3,
  promptEvaluated: 3,
  completionTokens,
  prefillMs: 1,
  decodeMs: 2,
  prefillTokensPerSecond: 3000,
  decodeTokensPerSecond: 500,
});

/** step() returns a prefill, then one token per piece, then finish ('length'); cancel() makes the
 *  next step() finish with 'abort', as the Rust engine does. */
export class ScriptedEngine {
  private i = -1;
  private cancelled = false;
  steps = 0;
  cancels = 0;
  constructor(private readonly pieces: string[]) {}
  step(): WasmStepEvent {
    this.steps++;
    if (this.i === -1) {
      this.i = 0;
      return { type: 'prefill', evaluated: 3, total: 3 };
    }
    if (this.cancelled) return { type: 'finish', text: '', finishReason: 'abort', usage: usage(this.i) };
    if (this.i < this.pieces.length) {
      const text = this.pieces[this.i++]!;
      return { type: 'token', token: this.i, text };
    }
    return { type: 'finish', text: '', finishReason: 'length', usage: usage(this.i) };
  }
  cancel(): void {
    this.cancels++;
    this.cancelled = true;
  }
}

export const fakeInfo: ModelInfo = {
  architecture: 'gemma3',
  name: 'Fake',
  fileSize: 1,
  nParams: 1,
  nCtxTrain: 32,
  nCtx: 32,
  nVocab: 100,
  nLayer: 1,
  nEmbd: 1,
  tensorTypes: ['F32'],
  tokenizerModel: 'llama',
  chatTemplate: null,
  bosToken: '<bos>',
  eosToken: '<eos>',
  addBos: true,
  backend: 'cpu',
  gpuAdapter: null,
};

export class FakeClient implements CoreClient {
  requests: CoreGenerateRequest[] = [];
  disposed = false;
  /** Called with each request; returns the pieces to generate. */
  constructor(private readonly script: (req: CoreGenerateRequest) => string[], private readonly delayMs = 0) {}

  async load(): Promise<CoreLoadResult> {
    return { info: fakeInfo, backend: 'cpu', backendReason: 'test', threads: 1, cpuKernels: 'portable' };
  }
  async generate(req: CoreGenerateRequest, onEvent: (e: CoreEvent) => void, signal?: AbortSignal): Promise<CoreFinish> {
    if (this.disposed) throw new InvalidRequestError('no model is loaded');
    this.requests.push(req);
    const engine = new ScriptedEngine(this.script(req));
    const step = () => {
      // Optionally slow, like a real decode step, so a test can abort in the middle.
      const until = Date.now() + this.delayMs;
      while (Date.now() < until) {
        /* busy */
      }
      return engine.step();
    };
    return runGeneration({ step, cancel: () => engine.cancel() }, req.stop, onEvent, signal);
  }
  async tokenize(text: string): Promise<number[]> {
    // Gemma's turn marker is one special token; everything else one token per character.
    return text === '<start_of_turn>' ? [105] : Array.from(text, (c) => c.charCodeAt(0) % 100);
  }
  async detokenize(ids: number[]): Promise<string> {
    return ids.map((i) => String.fromCharCode(i)).join('');
  }
  async dispose(): Promise<void> {
    this.disposed = true;
  }
}
