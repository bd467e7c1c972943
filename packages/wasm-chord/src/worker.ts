/**
 * The module worker entry (`dist/worker.js`): hosts one EngineCore and serves the messages of
 * protocol.ts. Each call gets its own AbortController, aborted by an `abort` message; the generation
 * loop yields between steps, so that message is handled mid-generation.
 *
 * The same script is also each thread of the multi-threaded build's rayon pool: the engine's
 * worker starts it again from its own URL (wasm.ts: startRayonWorkers, so it works wherever a
 * bundler put this script), and such a thread's first message is wasm-bindgen-rayon's
 * `wasm_bindgen_worker_init`.
 */

import { EngineCore } from './core.js';
import { toPlain } from './errors.js';
import { isRayonWorkerInit, markEngineWorker, runRayonThread } from './wasm.js';
import type { FromWorker, ToWorker } from './protocol.js';

markEngineWorker();

interface WorkerScope {
  postMessage(msg: FromWorker): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent<ToWorker>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
const core = new EngineCore();
const controllers = new Map<number, AbortController>();

function post(msg: FromWorker): void {
  scope.postMessage(msg);
}

async function handle(msg: Exclude<ToWorker, { type: 'abort' }>, signal: AbortSignal): Promise<unknown> {
  switch (msg.type) {
    case 'load':
      return core.load(msg.req, (progress) => post({ type: 'progress', id: msg.id, progress }), signal);
    case 'generate':
      return core.generate(msg.req, (event) => post({ type: 'event', id: msg.id, event }), signal);
    case 'tokenize':
      return core.tokenize(msg.text, msg.addSpecial, msg.parseSpecial);
    case 'detokenize':
      return core.detokenize(msg.ids);
    case 'dispose':
      return core.dispose();
  }
}

scope.addEventListener('message', (ev) => {
  const msg = ev.data;
  if (isRayonWorkerInit(msg)) {
    runRayonThread(msg); // does not return while the pool lives
    return;
  }
  if (msg.type === 'abort') {
    controllers.get(msg.id)?.abort();
    return;
  }
  const controller = new AbortController();
  controllers.set(msg.id, controller);
  handle(msg, controller.signal)
    .then((value) => post({ type: 'result', id: msg.id, value }))
    .catch((err: unknown) => post({ type: 'error', id: msg.id, error: toPlain(err) }))
    .finally(() => controllers.delete(msg.id));
});
