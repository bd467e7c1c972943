// The browser half of `npm run bench`: wasm-chord (our npm package, public API) and wllama
// (llama.cpp compiled to wasm) in the same page, driven by scripts/bench-browser.mjs through
// `window.bench`. Every function returns plain data, since page.evaluate carries only what
// structured clone can.
//
// What is timed, the same way for both engines: the wall clock on this (main) thread around one
// non-streaming completion request, so worker messaging is included for both and neither engine's
// own bookkeeping decides the result.
//   pp: a text prompt of exactly P tokens (BOS included), max_tokens 1  -> P / seconds
//   tg: a text prompt of 2 tokens (BOS and one word),     max_tokens N  -> N / seconds
//       (N forward passes from an empty cache: the prompt yields token 1, token k-1 yields token
//       k — what llama-bench's tgN counts)
// Prompts are text because wllama 3 takes only text (token ids in `prompt` crash its worker); they
// are built with wasm-chord's tokenizer (equal to llama.cpp's on the same GGUF) and the driver
// checks that wllama reports the same prompt length.
// Each engine's self-reported speeds are returned too, as a cross-check.
import { createEngine } from '/packages/wasm-chord/dist/index.js';
import { Wllama } from '/wllama/index.js';

const plainError = (e) => ({ name: e?.name, code: e?.code ?? e?.type, message: e?.message ?? String(e) });

// Plain words that every SentencePiece-style vocabulary splits into a few tokens each.
const WORDS = (
  'the quick brown fox jumps over a lazy dog while seven small birds sing in the old oak tree near ' +
  'river bank where children play games and their parents read books about history science music ' +
  'art travel food weather sports cities mountains oceans forests deserts islands planets stars ' +
  'light water stone wood metal glass paper cloth bread milk honey apple orange lemon garden house ' +
  'window door table chair kitchen market street bridge tower castle village harbor train engine'
).split(' ');

/** A text that wasm-chord's tokenizer turns into exactly `n` tokens (BOS included); `salt` picks
 *  where in the word list it starts, so repetitions do not send the same text. */
async function promptText(n, salt) {
  const count = async (t) => (await engines.ours.engine.tokenize(t)).length;
  const words = [];
  for (let i = 0; (await count(words.join(' '))) < n; i++) words.push(WORDS[(salt * 7 + i) % WORDS.length]);
  // Overshot (the last word was several tokens): drop it and top up with one-token words.
  while ((await count(words.join(' '))) > n) {
    words.pop();
    while ((await count([...words, 'a'].join(' '))) <= n && (await count(words.join(' '))) < n) words.push('a');
  }
  const text = words.join(' ');
  if ((await count(text)) !== n) throw new Error(`could not build a prompt of exactly ${n} tokens`);
  return text;
}

const engines = {
  // ---- wasm-chord ---------------------------------------------------------------------------
  ours: {
    engine: null,
    async load({ url, threads, nCtx }) {
      this.engine = await createEngine({
        model: url,
        backend: 'cpu',
        cache: false, // OPFS caching is not what is measured; load straight into memory
        nCtx,
        // More than 1 uses the multi-threaded wasm build (worker of a cross-origin-isolated page).
        threads,
      });
      const ids = await this.engine.tokenize('a');
      this.nonBos = ids[ids.length - 1];
      // engine.threads: what the engine really runs on (1 = the single-threaded build). Packages
      // from before the threaded build have no such property and only that build.
      const used = this.engine.threads ?? 1;
      return {
        nVocab: this.engine.info.nVocab,
        architecture: this.engine.info.architecture,
        backend: this.engine.backend,
        threads: used,
        build:
          (used > 1 ? 'wasm-threads (multi-threaded)' : 'wasm (single-threaded)') +
          (this.engine.cpuKernels ? `, ${this.engine.cpuKernels}` : ''),
      };
    },
    async complete(prompt, maxTokens) {
      const t0 = performance.now();
      const res = await this.engine.completions.create({
        prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true,
      });
      const ms = performance.now() - t0;
      const u = res.usage;
      return {
        ms,
        promptTokens: u.prompt_tokens,
        cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0,
        completionTokens: u.completion_tokens,
        reportedPp: u.timings?.prefill_tokens_per_second ?? null,
        reportedTg: u.timings?.decode_tokens_per_second ?? null,
      };
    },
    // Empties the reusable prefix: our engine keeps the last sequence in its KV cache and reuses
    // the longest common prefix, and every text prompt starts with BOS. One untimed token that is
    // not BOS makes the next prompt start from an empty cache (checked: cached_tokens must be 0).
    async flush() {
      await this.engine.completions.create({ prompt: [this.nonBos], max_tokens: 1, temperature: 0 });
    },
    async unload() {
      await this.engine?.unload();
      this.engine = null;
    },
  },

  // ---- wllama -------------------------------------------------------------------------------
  wllama: {
    engine: null,
    async load({ url, threads, nCtx }) {
      // Fetched here into a Blob and handed to loadModel, so wllama's own download cache
      // (Cache Storage / OPFS) is bypassed, as ours is with cache: false.
      const resp = await fetch(url);
      if (!resp.ok) throw new Error(`GET ${url}: HTTP ${resp.status}`);
      const blob = await resp.blob();
      this.engine = new Wllama({ default: '/wllama/wasm/wllama.wasm' }, { suppressNativeLog: true });
      await this.engine.loadModel([blob], {
        n_threads: threads,
        n_ctx: nCtx,
        n_gpu_layers: 0, // CPU only (also keeps it off WebGPU if the browser offers one)
      });
      const meta = this.engine.getModelMetadata();
      return {
        nVocab: meta.hparams.nVocab,
        architecture: meta.meta['general.architecture'] ?? null,
        backend: 'cpu',
        threads: this.engine.getNumThreads(),
        build: `${this.engine.isMultithread() ? 'multi-thread' : 'single-thread'}, llama.cpp ${Wllama.getLibllamaVersion()}`,
      };
    },
    // cache_prompt: false already keeps a request from reusing the previous one's KV cache.
    async flush() {},
    async complete(prompt, maxTokens) {
      const t0 = performance.now();
      const res = await this.engine.createCompletion({
        prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true, cache_prompt: false,
      });
      const ms = performance.now() - t0;
      const u = res.usage ?? {};
      const t = res.timings ?? {};
      return {
        ms,
        promptTokens: u.prompt_tokens ?? t.prompt_n ?? null,
        cachedTokens: u.prompt_tokens_details?.cached_tokens ?? t.cache_n ?? 0,
        completionTokens: u.completion_tokens ?? t.predicted_n ?? null,
        reportedPp: t.prompt_per_second ?? null,
        reportedTg: t.predicted_per_second ?? null,
      };
    },
    async unload() {
      await this.engine?.exit();
      this.engine = null;
    },
  },
};

async function guarded(fn) {
  try {
    return await fn();
  } catch (e) {
    return { error: plainError(e) };
  }
}

window.bench = {
  env: () => ({
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent,
  }),
  load: (name, options) => guarded(() => engines[name].load(options)),
  unload: (name) => guarded(() => engines[name].unload()),
  /** One timed request; `kind` 'pp' (n prompt tokens, 1 generated) or 'tg' (2 prompt tokens, n generated). */
  run: (name, kind, n, salt) =>
    guarded(async () => {
      const e = engines[name];
      const prompt = await promptText(kind === 'pp' ? n : 2, salt);
      await e.flush();
      return e.complete(prompt, kind === 'pp' ? 1 : n);
    }),
};
window.benchReady = true;
