// The chat demo: everything goes through the public API of the wasm-chord package.
import { formatBytes, progressText, usageText, modelLabel } from './format.js';

const $ = (id) => document.getElementById(id);
const ui = {
  backend: $('backend'),
  modelName: $('model-name'),
  modelForm: $('model-form'),
  modelUrl: $('model-url'),
  load: $('load'),
  modelFile: $('model-file'),
  progressRow: $('progress-row'),
  progress: $('progress'),
  progressLabel: $('progress-label'),
  cancelLoad: $('cancel-load'),
  cache: $('cache'),
  cacheList: $('cache-list'),
  storage: $('storage'),
  error: $('error'),
  errorTitle: $('error-title'),
  errorMessage: $('error-message'),
  errorClose: $('error-close'),
  messages: $('messages'),
  emptyHint: $('empty-hint'),
  composer: $('composer'),
  prompt: $('prompt'),
  send: $('send'),
  stop: $('stop'),
  stats: $('stats'),
  temperature: $('temperature'),
  temperatureValue: $('temperature-value'),
  topP: $('top-p'),
  topPValue: $('top-p-value'),
  maxTokens: $('max-tokens'),
  system: $('system'),
  newChat: $('new-chat'),
};

// The package is served next to the demo by scripts/serve.mjs. Imported dynamically so that a
// missing build shows a readable message on the page instead of a blank one.
const PACKAGE_URL = '../packages/wasm-chord/dist/index.js';
let api = null;

let engine = null;
let loadController = null;
let genController = null;
/** The conversation sent with every request: [{ role, content }]. */
let history = [];

// ---------------------------------------------------------------------------------------------
// Errors

function showError(err, context) {
  console.error(context, err);
  const code = err?.code ? ` (${err.code})` : '';
  ui.errorTitle.textContent = `${context}${code}:`;
  ui.errorMessage.textContent = err?.message ?? String(err);
  ui.error.hidden = false;
}
function clearError() {
  ui.error.hidden = true;
}
ui.errorClose.addEventListener('click', clearError);

const isAbort = (err) => err?.code === 'ABORTED' || err?.name === 'AbortError';

// ---------------------------------------------------------------------------------------------
// Loading a model

function setLoading(loading) {
  ui.progressRow.hidden = !loading;
  ui.load.disabled = loading;
  ui.modelFile.disabled = loading;
  ui.modelUrl.disabled = loading;
  if (loading) {
    ui.progress.removeAttribute('value'); // indeterminate until the first event
    ui.progressLabel.textContent = 'Starting…';
  }
}

let loadedFromCache = false;
function onProgress(p) {
  if (p.fromCache) loadedFromCache = true;
  if (p.total > 0) {
    ui.progress.max = p.total;
    ui.progress.value = p.loaded;
  } else {
    ui.progress.removeAttribute('value');
  }
  ui.progressLabel.textContent = progressText(p);
}

function setEngineReady(ready) {
  ui.prompt.disabled = !ready;
  ui.send.disabled = !ready;
  ui.backend.classList.toggle('ready', ready);
  if (!ready) {
    ui.backend.textContent = 'no model';
    ui.modelName.textContent = '';
  }
}

async function loadModel(source) {
  clearError();
  if (!api) return;
  genController?.abort();
  loadController?.abort();
  if (engine) {
    const old = engine;
    engine = null;
    setEngineReady(false);
    await old.unload().catch(() => {});
  }
  const controller = (loadController = new AbortController());
  loadedFromCache = false;
  setLoading(true);
  const t0 = performance.now();
  try {
    const e = await api.createEngine({ model: source, backend: 'auto', onProgress, signal: controller.signal });
    if (controller.signal.aborted) {
      await e.unload();
      return;
    }
    engine = e;
    const info = e.info ?? {};
    // e.g. "cpu · 2 threads": threads need the cross-origin isolation scripts/serve.mjs provides.
    ui.backend.textContent = [e.backend ?? 'ready', e.threads > 1 && `${e.threads} threads`].filter(Boolean).join(' · ');
    if (e.backendReason) ui.backend.title = e.backendReason;
    ui.modelName.textContent = [info.name || modelLabel(source), info.architecture, info.nCtx && `ctx ${info.nCtx}`]
      .filter(Boolean)
      .join(' · ');
    setEngineReady(true);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    ui.stats.textContent = `Model ready in ${secs} s${loadedFromCache ? ' (from the browser cache)' : ''}.`;
    ui.prompt.focus();
  } catch (err) {
    if (isAbort(err)) ui.stats.textContent = 'Loading cancelled.';
    else showError(err, 'Could not load the model');
  } finally {
    if (loadController === controller) loadController = null;
    setLoading(false);
    refreshCache();
  }
}

ui.modelForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const url = ui.modelUrl.value.trim();
  if (url) loadModel(url);
});
ui.modelFile.addEventListener('change', () => {
  const file = ui.modelFile.files?.[0];
  if (file) loadModel(file);
  ui.modelFile.value = '';
});
ui.cancelLoad.addEventListener('click', () => loadController?.abort());

// ---------------------------------------------------------------------------------------------
// The cache (OPFS) panel

async function refreshCache() {
  if (!api?.listCachedModels) return;
  try {
    const [models, estimate] = await Promise.all([api.listCachedModels(), api.storageEstimate?.()]);
    ui.cacheList.replaceChildren(
      ...models.map((m) => {
        const li = document.createElement('li');
        const code = document.createElement('code');
        code.textContent = m.url;
        const size = document.createElement('span');
        size.className = 'muted';
        // A partial entry is a download that stopped midway; loading the same URL resumes it.
        size.textContent = m.complete === false && m.size
          ? `partial: ${formatBytes(m.bytes)} of ${formatBytes(m.size)}`
          : formatBytes(m.bytes ?? m.size);
        const del = document.createElement('button');
        del.type = 'button';
        del.className = 'secondary';
        del.textContent = 'Delete';
        del.addEventListener('click', async () => {
          try {
            await api.deleteCachedModel(m.url);
          } catch (err) {
            showError(err, 'Could not delete the cached model');
          }
          refreshCache();
        });
        li.append(code, size, del);
        return li;
      }),
    );
    if (models.length === 0) {
      const li = document.createElement('li');
      li.className = 'muted';
      li.textContent = 'none yet: a downloaded model is kept here for the next visit';
      ui.cacheList.replaceChildren(li);
    }
    ui.storage.textContent = estimate
      ? `(${formatBytes(estimate.usage)} used of ${formatBytes(estimate.quota)})`
      : `(${models.length})`;
  } catch (err) {
    ui.storage.textContent = `(unavailable: ${err.message})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Chat

function addMessage(role, text) {
  ui.emptyHint.hidden = true;
  const li = document.createElement('li');
  li.className = `msg ${role}`;
  const who = document.createElement('div');
  who.className = 'role';
  who.textContent = role === 'user' ? 'You' : 'Model';
  const body = document.createElement('div');
  body.className = 'text';
  body.textContent = text;
  const meta = document.createElement('div');
  meta.className = 'meta';
  li.append(who, body, meta);
  ui.messages.append(li);
  li.scrollIntoView({ block: 'end' });
  return { li, body, meta };
}

function settings() {
  const maxTokens = Math.max(1, Math.floor(Number(ui.maxTokens.value) || 256));
  return {
    temperature: Number(ui.temperature.value),
    top_p: Number(ui.topP.value),
    max_tokens: maxTokens,
  };
}

function setGenerating(on) {
  ui.send.hidden = on;
  ui.stop.hidden = !on;
  ui.prompt.disabled = on || !engine;
  ui.load.disabled = on;
}

async function send(text) {
  if (!engine || genController) return;
  clearError();
  history.push({ role: 'user', content: text });
  addMessage('user', text);
  const out = addMessage('assistant', '');
  out.li.classList.add('streaming');
  const controller = (genController = new AbortController());
  setGenerating(true);
  ui.stats.textContent = 'Thinking…';

  const system = ui.system.value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...history] : [...history];
  let answer = '';
  let finish = null;
  let usage = null;
  let tFirst = 0;
  let tokens = 0;
  try {
    const stream = await engine.chat.completions.create({
      messages,
      stream: true,
      ...settings(),
      signal: controller.signal,
    });
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
      const delta = choice?.delta?.content ?? '';
      if (delta) {
        answer += delta;
        out.body.textContent = answer;
        out.li.scrollIntoView({ block: 'end' });
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
      // A live count while streaming (about one chunk per token); the final usage under the
      // answer has the engine's own figures.
      if (delta) {
        tokens += 1;
        if (tokens === 1) tFirst = performance.now();
        const s = (performance.now() - tFirst) / 1000;
        ui.stats.textContent = `Generating… ${tokens} chunks` + (s > 0.5 ? ` · ${((tokens - 1) / s).toFixed(1)}/s` : '');
      }
    }
  } catch (err) {
    if (isAbort(err)) finish = 'abort';
    else {
      finish = 'error';
      showError(err, 'Generation failed');
    }
  } finally {
    genController = null;
    out.li.classList.remove('streaming');
    setGenerating(false);
  }
  // A stopped answer stays in the conversation as far as it got, as in other chat apps.
  history.push({ role: 'assistant', content: answer });
  if (!answer && finish !== 'error') out.body.textContent = finish === 'abort' ? '(stopped)' : '(empty answer)';
  out.meta.textContent = usageText(usage, finish);
  out.li.dataset.finishReason = finish ?? '';
  ui.stats.textContent = ''; // the figures are under the answer now
  ui.prompt.focus();
}

ui.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = ui.prompt.value.trim();
  if (!text || !engine || genController) return;
  ui.prompt.value = '';
  send(text);
});
ui.prompt.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.stop.addEventListener('click', () => genController?.abort());
ui.newChat.addEventListener('click', () => {
  genController?.abort();
  history = [];
  ui.messages.replaceChildren(ui.emptyHint);
  ui.emptyHint.hidden = false;
  ui.stats.textContent = '';
});

for (const [input, output] of [[ui.temperature, ui.temperatureValue], [ui.topP, ui.topPValue]]) {
  input.addEventListener('input', () => { output.textContent = input.value; });
}

// ---------------------------------------------------------------------------------------------
// Start

async function main() {
  const params = new URLSearchParams(location.search);
  if (params.get('model')) ui.modelUrl.value = params.get('model');
  try {
    api = await import(PACKAGE_URL);
  } catch (err) {
    showError(
      new Error(`${err.message}. Build it with: bash scripts/build-wasm.sh && npm run build -w packages/wasm-chord`),
      'The wasm-chord package is not available',
    );
    return;
  }
  // Only now can a click on Load do anything.
  ui.load.disabled = false;
  ui.modelFile.disabled = false;
  refreshCache();
  // ?autoload=1 loads the model at once (what `npm run demo` opens, and the browser tests).
  if (params.get('autoload') === '1') loadModel(ui.modelUrl.value.trim());
}
main();
