/**
 * The generation loop over a wasm Engine that has had begin() called: one step() at a time, turning
 * step events into core events (stop strings applied) until the 'finish' event.
 */

import { StopMatcher } from './stream.js';
import { yieldToEventLoop } from './platform.js';
import type { CoreEvent, CoreFinish } from './protocol.js';
import type { WasmEngine } from './wasm-api.js';

/**
 * Yields to the event loop between steps, so an abort (a message from the main thread, or the
 * caller's signal in-thread) is seen between two tokens. Abort and stop strings both cancel() and
 * then keep stepping to the 'finish' event: that leaves the KV cache consistent, so the engine is
 * immediately usable for the next request (API.md).
 */
export async function runGeneration(
  engine: Pick<WasmEngine, 'step' | 'cancel'> & Partial<Pick<WasmEngine, 'ready'>>,
  stops: readonly string[],
  onEvent: (e: CoreEvent) => void,
  signal?: AbortSignal,
): Promise<CoreFinish> {
  const matcher = new StopMatcher(stops);
  let cancelled = false;
  for (;;) {
    if (!cancelled && signal?.aborted) {
      engine.cancel();
      cancelled = true;
    }
    const ev = engine.step();
    if (ev.type === 'pending') {
      // WebGPU: the GPU is computing and its result is on its way back. Await it (or an abort:
      // then the next step ends the request and the read in flight is abandoned).
      if (!cancelled) await untilReadyOrAborted(engine, signal);
      else await yieldToEventLoop();
      continue;
    }
    if (ev.type === 'prefill') {
      onEvent({ type: 'prefill', evaluated: ev.evaluated, total: ev.total });
    } else if (ev.type === 'token') {
      const text = matcher.push(ev.text);
      if (text) onEvent({ type: 'text', text });
      if (matcher.stopped && !cancelled) {
        engine.cancel();
        cancelled = true;
      }
    } else {
      const tail = matcher.push(ev.text) + matcher.flush();
      if (tail) onEvent({ type: 'text', text: tail });
      // A stop string ends the text like an end-of-turn token does: 'stop', not 'abort'.
      return { finishReason: matcher.stopped ? 'stop' : ev.finishReason, usage: ev.usage };
    }
    await yieldToEventLoop();
  }
}

/** engine.ready(), or the signal's abort, whichever comes first. */
async function untilReadyOrAborted(engine: Partial<Pick<WasmEngine, 'ready'>>, signal?: AbortSignal): Promise<void> {
  const ready = engine.ready?.() ?? Promise.resolve();
  if (!signal) {
    await ready;
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    onAbort = resolve;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([ready, aborted]);
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}
