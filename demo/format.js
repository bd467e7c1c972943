// Small pure helpers for the demo's text (kept apart from the DOM code so they are easy to read).

export function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1024;
    i += 1;
  } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

const PHASES = {
  download: 'Downloading',
  verify: 'Checking sha256',
  load: 'Loading weights',
  compile: 'Compiling shaders',
};

/** "Downloading 120 MB / 253 MB (47%)" from a progress event. */
export function progressText(p) {
  // The package's own line when it gives one ("Downloading 12.0 / 241.4 MB"), else ours.
  if (p.text) return p.fromCache ? `${p.text} (from the browser cache)` : p.text;
  let phase = PHASES[p.phase] ?? p.phase ?? 'Loading';
  if (p.fromCache && p.phase === 'load') phase += ' from the browser cache';
  if (p.total > 0) {
    const pct = Math.floor((100 * p.loaded) / p.total);
    return `${phase} ${formatBytes(p.loaded)} / ${formatBytes(p.total)} (${pct}%)`;
  }
  if (p.loaded > 0) return `${phase} ${formatBytes(p.loaded)}`;
  return `${phase}…`;
}

/** "32 tokens · 9.8 tok/s · prompt 14 tokens in 0.4 s · length", from the final chunk's usage. */
export function usageText(usage, finishReason) {
  if (!usage) return finishReason ?? '';
  const parts = [`${usage.completion_tokens} tokens`];
  const t = usage.timings ?? {};
  const tps = t.decode_tokens_per_second;
  if (Number.isFinite(tps) && tps > 0) parts.push(`${tps.toFixed(1)} tok/s`);
  if (Number.isFinite(usage.prompt_tokens)) {
    const ms = t.prefill_ms;
    parts.push(`prompt ${usage.prompt_tokens} tokens` + (Number.isFinite(ms) ? ` in ${(ms / 1000).toFixed(1)} s` : ''));
  }
  if (finishReason) parts.push(finishReason === 'abort' ? 'stopped' : finishReason);
  return parts.join(' · ');
}

/** A short, readable label of a file or URL. */
export function modelLabel(source) {
  if (typeof source === 'string') {
    try {
      return decodeURIComponent(new URL(source, location.href).pathname.split('/').pop() || source);
    } catch {
      return source;
    }
  }
  return source?.name ?? 'model';
}

/** The chat template an engine uses (engine.chatTemplate), in words: "the builtin gemma". */
export function templateLabel(choice) {
  if (choice?.type === 'builtin') return `the builtin ${choice.name}`;
  if (choice?.type === 'jinja') return "the file's own";
  return 'a builtin';
}
