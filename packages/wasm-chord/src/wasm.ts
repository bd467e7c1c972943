/**
 * Loads and initialises the wasm module once per realm (page, worker or Node/Deno process).
 *
 * Browsers stream-compile it from its URL next to this file (`dist/wasm/`). Node's and Deno's fetch
 * cannot read file: URLs the same way everywhere, so there the bytes are read with fs and handed to
 * `initSync`.
 */

import { isServerRuntime, nodeFs } from './platform.js';
import { InternalError } from './errors.js';
import type { WasmBindings } from './wasm-api.js';

let ready: Promise<WasmBindings> | null = null;

export function loadWasm(): Promise<WasmBindings> {
  ready ??= (async () => {
    const wasmUrl = new URL('./wasm/wasm_chord_web_bg.wasm', import.meta.url);
    let bindings: WasmBindings;
    try {
      // A literal specifier so bundlers see (and copy) the glue; its types are checked against the
      // contract in wasm-contract-check.ts.
      bindings = (await import('./wasm/wasm_chord_web.js')) as unknown as WasmBindings;
      if (isServerRuntime()) {
        const bytes = await (await nodeFs()).readFile(wasmUrl);
        bindings.initSync({ module: bytes as Uint8Array<ArrayBuffer> });
      } else {
        await bindings.default({ module_or_path: wasmUrl });
      }
    } catch (err) {
      ready = null;
      throw new InternalError(`could not load the wasm module (${wasmUrl.href}): ${(err as Error).message}`, {
        cause: err,
      });
    }
    return bindings;
  })();
  return ready;
}
