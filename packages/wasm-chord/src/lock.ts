/**
 * A FIFO lock: one request at a time per engine. Waiting requests are queued (not rejected), so a
 * caller that aborts a running request and immediately starts a new one just waits for the abort to
 * finish. A waiter whose signal aborts leaves the queue with AbortError.
 */

import { AbortError } from './errors.js';

export type Release = () => void;

export class RequestLock {
  private held = false;
  private readonly waiters: Array<{ grant: () => void }> = [];

  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(new AbortError('aborted before the request started'));
    if (!this.held) {
      this.held = true;
      return Promise.resolve(this.makeRelease());
    }
    return new Promise<Release>((resolve, reject) => {
      const waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(this.makeRelease());
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(new AbortError('aborted while waiting for the previous request to finish'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** Requests waiting behind the current one. */
  get queued(): number {
    return this.waiters.length;
  }

  private makeRelease(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.grant();
      else this.held = false;
    };
  }
}
