// The demo: chat and text completion, everything through the public API of the wasm-chord package.
import { formatBytes, progressText, usageText, modelLabel, templateLabel } from './format.js';

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
  modeRadios: [...document.querySelectorAll('input[name="mode"]')],
  templateInfo: $('template-info'),
  notice: $('model-notice'),
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
  systemNote: $('system-note'),
  newChat: $('new-chat'),
};

// The package is served next to the demo by scripts/serve.mjs. Imported dynamically so that a
// missing build shows a readable message on the page instead of a blank one.
const PACKAGE_URL = '../packages/wasm-chord/dist/index.js';
let api = null;

let engine = null;
let loadController = null;
let genController = null;
/** The conversation sent with every chat request: [{ role, content }]. */
let history = [];

// ---------------------------------------------------------------------------------------------
// Mode: chat or text completion
//
// How the mode is chosen: when a model loads, a file that carries its own chat template
// (GGUF key tokenizer.chat_template, seen as engine.info.chatTemplate) is an instruction-tuned
// model, and the demo starts in chat mode. A file without one is treated as a base (pretrained)
// model: it only continues text, so chat answers would be nonsense even though the package can
// still chat with it through a builtin template guessed from the vocabulary (engine.chatTemplate).
// The demo then starts in text-completion mode (engine.completions.create with the prompt as
// written), prefills a starter prompt and shows a notice above the output. Some older
// instruction-tuned conversions lack the template too: the toggle switches to chat at any time.

/** A prompt that a base model continues sensibly (prefilled in text-completion mode). */
const STARTER_PROMPT = 'Once upon a time';

const MODES = {
  chat: {
    empty: 'Load a model, then say something.',
    placeholder: 'Message (Enter to send, Shift+Enter for a new line)',
    send: 'Send',
    clear: 'New chat',
  },
  completion: {
    empty: 'Write the beginning of a text: the model writes on from there.',
    placeholder: 'The beginning of a text (Enter to continue it, Shift+Enter for a new line)',
    send: 'Generate',
    clear: 'Clear',
  },
};
let mode = 'chat';
/** True when the loaded model has no chat template of its own (a base model, as far as we know). */
let baseModel = false;

function setMode(next) {
  mode = next;
  for (const r of ui.modeRadios) r.checked = r.value === next;
  const m = MODES[next];
  ui.emptyHint.textContent = m.empty;
  ui.prompt.placeholder = m.placeholder;
  ui.send.textContent = m.send;
  ui.newChat.textContent = m.clear;
  // The system prompt is part of the chat template; a completion is the prompt alone.
  ui.system.disabled = next !== 'chat';
  ui.systemNote.hidden = next === 'chat';
  // Completion mode starts from a prompt a base model can continue; leaving it drops that
  // prompt again unless it was edited.
  if (next === 'completion' && !ui.prompt.value.trim()) ui.prompt.value = STARTER_PROMPT;
  if (next === 'chat' && ui.prompt.value === STARTER_PROMPT) ui.prompt.value = '';
  updateNotice();
}

function updateNotice() {
  ui.notice.hidden = !(engine && baseModel);
  if (ui.notice.hidden) return;
  const what = 'Base model: it continues text rather than answering (this file has no chat template). ' +
    'Load an instruction-tuned GGUF to chat.';
  const how = mode === 'completion'
    ? ' Text completion is on: write the start of a text and the model writes on.'
    : ` Chat mode wraps your messages in ${templateLabel(engine.chatTemplate)} template, ` +
      'guessed from the vocabulary: expect answers that make little sense.';
  ui.notice.textContent = what + how;
}

for (const r of ui.modeRadios) {
  r.addEventListener('change', () => {
    if (r.checked) setMode(r.value);
    ui.prompt.focus();
  });
}

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
    ui.templateInfo.textContent = '';
    baseModel = false;
  }
  updateNotice();
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
    // The default mode follows the model (see "Mode" above).
    baseModel = !(typeof info.chatTemplate === 'string' && info.chatTemplate.trim() !== '');
    ui.templateInfo.textContent = baseModel
      ? `chat template: ${templateLabel(e.chatTemplate)} (none in the file; guessed from the vocabulary)`
      : "chat template: the file's own";
    setEngineReady(true);
    setMode(baseModel ? 'completion' : 'chat');
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
// Chat and text completion

/** One entry of the transcript: a user message, an answer, or a completion (prompt + continuation). */
function addEntry(kind, text = '') {
  ui.emptyHint.hidden = true;
  const li = document.createElement('li');
  li.className = `msg ${kind}`;
  const who = document.createElement('div');
  who.className = 'role';
  who.textContent = { user: 'You', assistant: 'Model', completion: 'Text completion' }[kind];
  const body = document.createElement('div');
  body.className = 'text';
  // Where streamed text goes: the whole body for a chat answer, the part after the prompt for a
  // completion (the page shows the prompt and its continuation as one text).
  let out = body;
  if (kind === 'completion') {
    const prompt = document.createElement('span');
    prompt.className = 'prompt-text';
    prompt.textContent = text;
    out = document.createElement('span');
    out.className = 'continuation';
    body.append(prompt, out);
  } else {
    body.textContent = text;
  }
  const meta = document.createElement('div');
  meta.className = 'meta';
  li.append(who, body, meta);
  ui.messages.append(li);
  li.scrollIntoView({ block: 'end' });
  return { li, body, out, meta };
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
  for (const r of ui.modeRadios) r.disabled = on;
}

/**
 * Streams one request into `entry` (Stop aborts it; a live chunks/s line while it runs, the
 * engine's usage under it at the end). `start(signal)` makes the request and resolves to the
 * chunk stream; `deltaOf(choice)` is the new text of a chunk. Returns the text generated.
 */
async function streamInto(entry, start, deltaOf) {
  entry.li.classList.add('streaming');
  const controller = (genController = new AbortController());
  setGenerating(true);
  ui.stats.textContent = 'Thinking…';
  let text = '';
  let finish = null;
  let usage = null;
  let tFirst = 0;
  let chunks = 0;
  try {
    const stream = await start(controller.signal);
    for await (const chunk of stream) {
      const choice = chunk.choices?.[0];
      const delta = (choice && deltaOf(choice)) ?? '';
      if (delta) {
        text += delta;
        entry.out.textContent = text;
        entry.li.scrollIntoView({ block: 'end' });
        // A live count while streaming (about one chunk per token); the final usage under the
        // entry has the engine's own figures.
        chunks += 1;
        entry.li.dataset.chunks = String(chunks);
        if (chunks === 1) tFirst = performance.now();
        const s = (performance.now() - tFirst) / 1000;
        ui.stats.textContent = `Generating… ${chunks} chunks` + (s > 0.5 ? ` · ${((chunks - 1) / s).toFixed(1)}/s` : '');
      }
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
  } catch (err) {
    if (isAbort(err)) finish = 'abort';
    else {
      finish = 'error';
      showError(err, 'Generation failed');
    }
  } finally {
    genController = null;
    entry.li.classList.remove('streaming');
    setGenerating(false);
  }
  if (!text && finish !== 'error') {
    const note = finish === 'abort' ? '(stopped)' : '(nothing generated)';
    entry.out.textContent = entry.out === entry.body ? note : ` ${note}`;
  }
  entry.meta.textContent = usageText(usage, finish);
  entry.li.dataset.finishReason = finish ?? '';
  ui.stats.textContent = ''; // the figures are under the entry now
  ui.prompt.focus();
  return text;
}

async function sendChat(text) {
  history.push({ role: 'user', content: text });
  addEntry('user', text);
  const system = ui.system.value.trim();
  const messages = system ? [{ role: 'system', content: system }, ...history] : [...history];
  const answer = await streamInto(
    addEntry('assistant'),
    (signal) => engine.chat.completions.create({ messages, stream: true, ...settings(), signal }),
    (choice) => choice.delta?.content,
  );
  // A stopped answer stays in the conversation as far as it got, as in other chat apps.
  history.push({ role: 'assistant', content: answer });
}

async function sendCompletion(prompt) {
  // The prompt goes to the model exactly as written (no template, no trimming): a base model
  // continues it, and the page shows the prompt followed by the continuation.
  await streamInto(
    addEntry('completion', prompt),
    (signal) => engine.completions.create({ prompt, stream: true, ...settings(), signal }),
    (choice) => choice.text,
  );
}

ui.composer.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!engine || genController) return;
  clearError();
  if (mode === 'chat') {
    const text = ui.prompt.value.trim();
    if (!text) return;
    ui.prompt.value = '';
    sendChat(text);
  } else {
    // The prompt stays in the box, to be edited and run again (e.g. at another temperature).
    const prompt = ui.prompt.value;
    if (!prompt.trim()) return;
    sendCompletion(prompt);
  }
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
