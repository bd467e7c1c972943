// Test harness page: the public API of the package, driven from Playwright through `window.h`.
// Every helper returns plain data (errors as { name, code, message }) because page.evaluate can
// only carry what structured clone can, and a thrown Error would lose its class and code.
import * as wc from '/packages/wasm-chord/dist/index.js';

const plainError = (e) => ({ name: e?.name, code: e?.code, message: e?.message ?? String(e) });

let engine = null;
let loadController = null;

window.wc = wc;
window.h = {
  /** createEngine from a URL (options.backend: default 'auto'); records every progress event. */
  async load(url, options = {}) {
    const progress = [];
    loadController = new AbortController();
    const t0 = performance.now();
    try {
      engine = await wc.createEngine({
        model: url,
        backend: options.backend ?? 'auto',
        signal: loadController.signal,
        onProgress: (p) => {
          progress.push({ phase: p.phase, loaded: p.loaded, total: p.total, fromCache: p.fromCache, text: p.text });
          if (options.abortAtBytes != null && p.phase === 'download' && p.loaded >= options.abortAtBytes) {
            loadController.abort();
          }
        },
        ...(options.sha256 ? { sha256: options.sha256 } : {}),
      });
    } catch (e) {
      return { error: plainError(e), progress, ms: performance.now() - t0 };
    }
    return {
      backend: engine.backend,
      backendReason: engine.backendReason,
      cpuKernels: engine.cpuKernels,
      info: engine.info,
      progress,
      ms: performance.now() - t0,
    };
  },

  /** Non-streaming text completion. */
  async complete(request) {
    try {
      return await engine.completions.create({ ...request, stream: false });
    } catch (e) {
      return { error: plainError(e) };
    }
  },

  /**
   * A streamed request (chat or text), collecting every chunk. With `abortAfterChunks`, aborts
   * the request's signal once that many chunks with text have arrived; with `abortBefore`, the
   * signal is aborted before the call.
   */
  async stream(kind, request, { abortAfterChunks = null, abortBefore = false } = {}) {
    const controller = new AbortController();
    if (abortBefore) controller.abort();
    const chunks = [];
    let text = '';
    let withText = 0;
    const times = [];
    try {
      const api = kind === 'chat' ? engine.chat.completions : engine.completions;
      const stream = await api.create({ ...request, stream: true, signal: controller.signal });
      for await (const chunk of stream) {
        chunks.push(chunk);
        times.push(performance.now());
        const c = chunk.choices[0];
        const piece = kind === 'chat' ? c.delta?.content ?? '' : c.text ?? '';
        text += piece;
        if (piece) withText += 1;
        if (abortAfterChunks != null && withText >= abortAfterChunks && !controller.signal.aborted) {
          controller.abort();
        }
      }
    } catch (e) {
      return { error: plainError(e), chunks, text };
    }
    return { chunks, text, times };
  },

  tokenize: (text, options) => engine.tokenize(text, options),
  detokenize: (ids) => engine.detokenize(ids),
  async unload() {
    await engine?.unload();
    engine = null;
  },
  listCachedModels: () => wc.listCachedModels(),
  deleteCachedModel: (url) => wc.deleteCachedModel(url),
  storageEstimate: () => wc.storageEstimate?.(),
};
window.harnessReady = true;
