/**
 * The main-thread side of the worker: each CoreClient call becomes a message with an id; progress
 * and events for that id go to the call's callbacks, and `result`/`error` settles it. An AbortSignal
 * becomes an `abort` message for the id. Errors arrive as `{name, message, code}` and are rebuilt
 * into the named classes here.
 */

import { AbortError, InternalError, fromPlain } from './errors.js';
import type { CoreClient, CoreEvent, CoreFinish, CoreLoadResult, FromWorker, ToWorker } from './protocol.js';
import type { LoadProgress } from './types.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  onProgress?: (p: LoadProgress) => void;
  onEvent?: (e: CoreEvent) => void;
}

export class WorkerClient implements CoreClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private broken: Error | null = null;

  /** `scriptUrl`: where the worker was started from, where known (for the error message). */
  constructor(
    private readonly worker: Worker,
    private readonly scriptUrl?: string,
  ) {
    worker.addEventListener('message', (ev: MessageEvent<FromWorker>) => this.onMessage(ev.data));
    // A worker that fails to start (bad URL, syntax error, no module worker support) or crashes
    // fails every call instead of leaving them hanging. A script that cannot be fetched gives an
    // event without a message; the usual cause is a bundler that did not emit worker.js.
    worker.addEventListener('error', (ev: ErrorEvent) => {
      ev.preventDefault?.();
      this.failAll(new InternalError(`the wasm-chord worker failed: ${ev.message || this.startFailure()}`));
    });
    worker.addEventListener('messageerror', () => {
      this.failAll(new InternalError('a message from the wasm-chord worker could not be deserialised'));
    });
  }

  load(req: Parameters<CoreClient['load']>[0], onProgress: (p: LoadProgress) => void, signal?: AbortSignal) {
    return this.call<CoreLoadResult>({ type: 'load', req }, signal, { onProgress });
  }

  generate(req: Parameters<CoreClient['generate']>[0], onEvent: (e: CoreEvent) => void, signal?: AbortSignal) {
    return this.call<CoreFinish>({ type: 'generate', req }, signal, { onEvent });
  }

  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean) {
    return this.call<number[]>({ type: 'tokenize', text, addSpecial, parseSpecial });
  }

  detokenize(ids: number[]) {
    return this.call<string>({ type: 'detokenize', ids });
  }

  async dispose(): Promise<void> {
    try {
      if (!this.broken) await this.call<void>({ type: 'dispose' });
    } finally {
      this.worker.terminate();
      this.failAll(new AbortError('the engine was unloaded'));
    }
  }

  private call<T>(
    msg: DistributiveOmit<ToWorker, 'id'>,
    signal?: AbortSignal,
    callbacks: Pick<Pending, 'onProgress' | 'onEvent'> = {},
  ): Promise<T> {
    if (this.broken) return Promise.reject(this.broken);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => this.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      this.pending.set(id, {
        resolve: (v) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(v as T);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
        ...callbacks,
      });
      this.worker.postMessage({ ...msg, id } as ToWorker);
      // The worker decides what an abort means for the call (an AbortError while loading, an early
      // 'abort' finish while generating); sending it after the call keeps the order on the wire.
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private onMessage(msg: FromWorker): void {
    const p = this.pending.get(msg.id);
    if (!p) return; // a late message for a call that was already settled
    switch (msg.type) {
      case 'progress':
        p.onProgress?.(msg.progress);
        break;
      case 'event':
        p.onEvent?.(msg.event);
        break;
      case 'result':
        this.pending.delete(msg.id);
        p.resolve(msg.value);
        break;
      case 'error':
        this.pending.delete(msg.id);
        p.reject(fromPlain(msg.error));
        break;
    }
  }

  private startFailure(): string {
    const at = this.scriptUrl ? ` ${this.scriptUrl}` : '';
    return (
      `could not start the worker script${at}. Is it served (with a JavaScript MIME type, and the page's ` +
      `COEP header where the page has one)? With a bundler that does not rewrite ` +
      `new URL('./worker.js', import.meta.url) (esbuild), copy the package's dist/ into your output and ` +
      `pass its URL as createEngine's assetBase; see "Bundlers" in the wasm-chord README`
    );
  }

  private failAll(err: Error): void {
    this.broken ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
