// A user's app: the package imported by name. esbuild does not rewrite
// `new URL('./worker.js', import.meta.url)` (nor copy what it points at), so build.mjs copies the
// package's dist/ next to the bundle as wasm-chord/ and every createEngine says where it is.
// playwright/tests/bundlers.test.mjs calls window.generate / window.probe.
import { createEngine } from 'wasm-chord';

const assetBase = new URL('./wasm-chord/', import.meta.url);

const status = document.getElementById('status');
const plain = (e) => ({ name: e?.name, code: e?.code, message: String(e?.message ?? e) });

/** Loads `model`, answers `prompt` greedily, unloads. */
window.generate = async ({ model, prompt, max_tokens, ...options }) => {
  try {
    const engine = await createEngine({ model, backend: 'cpu', assetBase, ...options });
    try {
      const res = await engine.completions.create({ prompt, max_tokens, temperature: 0 });
      return { text: res.choices[0].text, threads: engine.threads, cpuKernels: engine.cpuKernels, crossOriginIsolated };
    } finally {
      await engine.unload();
    }
  } catch (e) {
    return { error: plain(e) };
  }
};

/** createEngine on a file that is not a GGUF: the engine (worker, wasm) starts, then the file is refused. */
window.probe = async (options) => {
  try {
    await createEngine({ model: new Blob([new Uint8Array(4096).fill(7)]), backend: 'cpu', assetBase, ...options });
    return { error: null };
  } catch (e) {
    return { error: plain(e) };
  }
};

status.textContent = 'ready';
window.ready = true;
