#!/usr/bin/env node
// The browser half of `npm run bench`: our npm package (wasm-chord) against wllama (llama.cpp
// compiled to wasm) in one headless Chromium, same page, same GGUF file, same thread count:
// prompt processing (ppP) and generation (tgN) tokens/s, mean ± stdev over R repetitions.
//
//   node scripts/bench-browser.mjs                      # Gemma 3 270M + TinyLlama-shaped, both Q4_K_M
//   node scripts/bench-browser.mjs --threads 4 -r 5 --json
//   node scripts/bench-browser.mjs --models gemma       # or: --model /path/a.gguf --model /path/b.gguf
//
// Options: --threads N (2)  -r/--repetitions N (3)  -p/--n-prompt N (128)  -n/--n-gen N (64)
//          --models gemma,tinyllama  --model PATH (repeatable)  --engines ours,wllama
//          --ctx N (1024)  --json  --json-file PATH (also write the JSON there)  --timeout-min M (20)
//
// It installs what it needs: wllama (pinned in scripts/bench-browser/package.json), Chromium and
// playwright-core (scripts/install-browser.sh), the package build if dist/ is missing, the models
// (scripts/test-model.sh; scripts/bench-browser/make_tinyllama.py). Progress goes to stderr; the
// table (or with --json one JSON object) to stdout.
//
// How it measures (details in scripts/bench-browser/page/bench.js): wall clock on the page's main
// thread around one non-streaming completion per test — pp: P prompt token ids and 1 generated
// token; tg: 1 prompt token and N generated — the same requests and clock for both engines.
// No request reuses a cached prefix of an earlier one (checked: each engine must report 0 cached
// tokens), and both must report the prompt and completion lengths asked for. Engines run alternately within each
// repetition (order flipped every repetition), so load from other processes on a shared machine
// hits both alike. One untimed warm-up request per engine and test comes first (wasm tier-up,
// allocations), as llama-bench does.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from './serve.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HERE = path.join(REPO, 'scripts', 'bench-browser');
const WLLAMA_DIR = path.join(HERE, 'node_modules', '@wllama', 'wllama');
const DIST = path.join(REPO, 'packages', 'wasm-chord', 'dist');
const ENGINE_LABEL = { ours: 'wasm-chord', wllama: 'wllama' };

const log = (...a) => console.error('bench-browser:', ...a);

function parseArgs(argv) {
  const o = {
    threads: 2, reps: 3, nPrompt: 128, nGen: 64, ctx: 1024, json: false, timeoutMin: 20,
    models: ['gemma', 'tinyllama'], modelPaths: [], engines: ['ours', 'wllama'],
  };
  const int = (flag, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag}: expected a positive integer, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--threads' || a === '-t') o.threads = int(a, next());
    else if (a === '-r' || a === '--repetitions') o.reps = int(a, next());
    else if (a === '-p' || a === '--n-prompt') o.nPrompt = int(a, next());
    else if (a === '-n' || a === '--n-gen') o.nGen = int(a, next());
    else if (a === '--ctx') o.ctx = int(a, next());
    else if (a === '--timeout-min') o.timeoutMin = int(a, next());
    else if (a === '--json') o.json = true;
    else if (a === '--json-file') o.jsonFile = path.resolve(next());
    else if (a === '--models') o.models = next().split(',').filter(Boolean);
    else if (a === '--model') o.modelPaths.push(path.resolve(next()));
    else if (a === '--engines') o.engines = next().split(',').filter(Boolean);
    else if (a === '-h' || a === '--help') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 13)
        .map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  for (const e of o.engines) if (!ENGINE_LABEL[e]) throw new Error(`--engines: unknown engine ${e}`);
  // wasm-chord's tokenizer builds the prompts (wllama 3 has no tokenize), so it loads first.
  if (!o.engines.includes('ours')) throw new Error('--engines must include ours (its tokenizer builds the prompts)');
  o.engines = ['ours', ...o.engines.filter((e) => e !== 'ours')];
  for (const m of o.models) if (!['gemma', 'tinyllama'].includes(m)) throw new Error(`--models: unknown model ${m}`);
  if (o.modelPaths.length) o.models = [];
  if (o.nPrompt + o.nGen > o.ctx) throw new Error(`-p + -n exceeds --ctx ${o.ctx}`);
  return o;
}

/** Runs a command with its output on stderr (stdout stays for the results); returns its stdout. */
function run(cmd, args, { capture = false, env = process.env } = {}) {
  const r = spawnSync(cmd, args, { cwd: REPO, env, stdio: ['ignore', capture ? 'pipe' : 2, 2], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
  return capture ? r.stdout.trim() : '';
}

function installDeps(o) {
  if (!fs.existsSync(path.join(WLLAMA_DIR, 'package.json'))) {
    log('installing @wllama/wllama (npm, into scripts/bench-browser/node_modules)');
    const lock = fs.existsSync(path.join(HERE, 'package-lock.json'));
    run('npm', [lock ? 'ci' : 'install', '--prefix', HERE, '--no-audit', '--no-fund', '--loglevel=error']);
  }
  run('bash', ['scripts/install-browser.sh']);
  if (o.engines.includes('ours') && !fs.existsSync(path.join(DIST, 'index.js'))) {
    log('building the npm package (dist/ is missing)');
    run('bash', ['scripts/build-wasm.sh']);
    run('npm', ['run', 'build', '-w', 'packages/wasm-chord']);
  }
}

function resolveModels(o) {
  const models = o.modelPaths.map((p) => ({ name: path.basename(p, '.gguf'), path: p }));
  for (const m of o.models) {
    if (m === 'gemma') {
      models.push({ name: 'gemma-3-270m Q4_K_M', path: run('bash', ['scripts/test-model.sh'], { capture: true }) });
    } else {
      const env = { ...process.env };
      const made = run('python3', [path.join(HERE, 'make_tinyllama.py'), '--print-path'], { capture: true });
      if (!fs.existsSync(made)) {
        // The generator quantizes with llama.cpp's llama-quantize (built once, also used by bench.sh).
        log('TinyLlama-shaped model: building it once (llama.cpp first if needed; several minutes)');
        env.LLAMA_QUANTIZE = path.join(run('bash', ['scripts/oracle/build-llama-cpp.sh'], { capture: true }), 'llama-quantize');
      }
      const p = run('python3', [path.join(HERE, 'make_tinyllama.py')], { capture: true, env });
      models.push({ name: 'tinyllama-1.1b (random) Q4_K_M', path: p });
    }
  }
  for (const m of models) if (!fs.existsSync(m.path)) throw new Error(`model not found: ${m.path}`);
  return models;
}

const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const stdev = (v) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0) / (v.length - 1)));
const stats = (v) => ({ mean: mean(v), stdev: stdev(v), samples: v });

function withTimeout(promise, minutes, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${minutes} min`)), minutes * 60e3);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

/** Calls window.bench[fn](...args) in the page; throws on an error result. */
async function call(page, o, what, fn, ...args) {
  const r = await withTimeout(
    page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]),
    o.timeoutMin, what,
  );
  if (r?.error) throw new Error(`${what}: ${r.error.name ?? 'Error'}: ${r.error.message}`);
  return r;
}

/** One model: load every engine in the page, warm up, then R alternating repetitions. */
async function benchModel(page, o, model, url) {
  const loaded = {};
  for (const e of o.engines) {
    log(`${model.name}: loading ${ENGINE_LABEL[e]}`);
    const t0 = Date.now();
    loaded[e] = await call(page, o, `${e} load`, 'load', e, { url, threads: o.threads, nCtx: o.ctx });
    loaded[e].loadSeconds = (Date.now() - t0) / 1000;
    log(`  ${ENGINE_LABEL[e]}: ${loaded[e].build}, ${loaded[e].threads} thread(s), loaded in ${loaded[e].loadSeconds.toFixed(1)} s`);
  }
  const samples = Object.fromEntries(o.engines.map((e) => [e, { pp: [], tg: [], reportedPp: [], reportedTg: [] }]));
  let salt = 1;

  // One timed request; checks that the engine did exactly the work asked (no cache reuse, no early stop).
  async function once(e, kind, n, timed) {
    const r = await call(page, o, `${e} ${kind}`, 'run', e, kind, n, salt++);
    const [wantPrompt, wantGen] = kind === 'pp' ? [n, 1] : [2, n];
    if (r.cachedTokens > 0) throw new Error(`${e} ${kind}: ${r.cachedTokens} prompt tokens came from a cache`);
    // Both engines must have done the same work: a different prompt length would mean the two
    // tokenizers disagree on the prompt text.
    if (r.promptTokens !== wantPrompt) throw new Error(`${e} ${kind}: prompt_tokens ${r.promptTokens}, expected ${wantPrompt}`);
    if (r.completionTokens !== wantGen) throw new Error(`${e} ${kind}: completion_tokens ${r.completionTokens}, expected ${wantGen}`);
    if (!timed) return;
    const tps = n / (r.ms / 1000);
    samples[e][kind].push(tps);
    const reported = kind === 'pp' ? r.reportedPp : r.reportedTg;
    if (reported != null) samples[e][kind === 'pp' ? 'reportedPp' : 'reportedTg'].push(reported);
    log(`  ${ENGINE_LABEL[e].padEnd(10)} ${kind}${n}: ${tps.toFixed(2)} tok/s (${(r.ms / 1000).toFixed(1)} s)`);
  }

  log(`${model.name}: warm-up`);
  for (const e of o.engines) {
    await once(e, 'pp', Math.min(16, o.nPrompt), false);
    await once(e, 'tg', Math.min(4, o.nGen), false);
  }
  for (let rep = 0; rep < o.reps; rep++) {
    log(`${model.name}: repetition ${rep + 1}/${o.reps}`);
    const order = rep % 2 === 0 ? o.engines : [...o.engines].reverse();
    for (const kind of ['pp', 'tg']) {
      for (const e of order) await once(e, kind, kind === 'pp' ? o.nPrompt : o.nGen, true);
    }
  }
  for (const e of o.engines) await call(page, o, `${e} unload`, 'unload', e);

  return o.engines.map((e) => ({
    model: model.name,
    path: model.path,
    engine: ENGINE_LABEL[e],
    build: loaded[e].build,
    threads: loaded[e].threads,
    loadSeconds: loaded[e].loadSeconds,
    pp: stats(samples[e].pp),
    tg: stats(samples[e].tg),
    // Each engine's own timing of the same requests (ours: usage.timings; wllama: llama.cpp's
    // server timings); prefill/predict only, so a little above the wall-clock numbers.
    reported: {
      pp: samples[e].reportedPp.length ? mean(samples[e].reportedPp) : null,
      tg: samples[e].reportedTg.length ? mean(samples[e].reportedTg) : null,
    },
  }));
}

function machine() {
  const cpus = os.cpus();
  return { cpu: cpus[0]?.model ?? 'unknown', cores: cpus.length, arch: os.arch(), loadavg: os.loadavg().map((x) => +x.toFixed(2)) };
}

function printTable(out, o) {
  const f = (s) => `${s.mean.toFixed(2)} ± ${s.stdev.toFixed(2)}`;
  const m = out.machine;
  console.log(`machine: ${m.cpu}, ${m.cores} cores (${m.arch}); load average at start ${m.loadavg.join(' ')}, at end ${m.loadavgEnd.join(' ')}`);
  console.log(`browser: ${out.browser}, crossOriginIsolated ${out.crossOriginIsolated}`);
  console.log(`threads requested: ${o.threads}; repetitions: ${o.reps}; wall clock per request on the page's main thread\n`);
  const pp = `pp${o.nPrompt} tok/s`;
  const tg = `tg${o.nGen} tok/s`;
  console.log(`| model | engine | build | threads | ${pp} | ${tg} |`);
  console.log('|---|---|---|--:|--:|--:|');
  for (const r of out.results) console.log(`| ${r.model} | ${r.engine} | ${r.build} | ${r.threads} | ${f(r.pp)} | ${f(r.tg)} |`);
  if (out.ratios.length) {
    console.log(`\n| model | ${pp.replace(' tok/s', '')} wasm-chord / wllama | ${tg.replace(' tok/s', '')} wasm-chord / wllama |`);
    console.log('|---|--:|--:|');
    for (const r of out.ratios) console.log(`| ${r.model} | ${r.pp.toFixed(2)}× | ${r.tg.toFixed(2)}× |`);
  }
  console.log('\nengine-reported speeds (same requests; ours: usage.timings, wllama: llama.cpp server timings):');
  for (const r of out.results) {
    const v = (x) => (x == null ? 'n/a' : x.toFixed(2));
    console.log(`  ${r.model} / ${r.engine}: pp ${v(r.reported.pp)}, tg ${v(r.reported.tg)} tok/s; load ${r.loadSeconds.toFixed(1)} s`);
  }
  const threadNote = out.results.filter((r) => r.threads !== o.threads);
  for (const r of threadNote) console.log(`note: ${r.model}: ${r.engine} ran ${r.threads} thread(s), not ${o.threads} (${r.build})`);
  console.log(`\ntotal time ${out.elapsedSeconds.toFixed(0)} s`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const started = Date.now();
  installDeps(o);
  const models = resolveModels(o);
  // The browser tests' launcher settings (imported once playwright-core is installed). No WebGPU
  // flags: both engines are asked for their CPU (wasm) path.
  const { CHROMIUM, CHROMIUM_BASE_ARGS: CHROMIUM_ARGS } = await import('../playwright/lib/browser.mjs');
  const { chromium } = await import(pathToFileURL(path.join(REPO, 'playwright', 'node_modules', 'playwright-core', 'index.mjs')).href);

  // Every model's folder gets its own mount, so any path works; serve.mjs adds COOP/COEP (wasm
  // threads need crossOriginIsolated) and serves on 127.0.0.1.
  const mounts = [
    ['/bench/', path.join(HERE, 'page')],
    ['/wllama/', path.join(WLLAMA_DIR, 'esm')],
    ...models.map((m, i) => [`/bench-models/${i}/`, path.dirname(m.path)]),
  ];
  const server = await startServer({ port: 0, quiet: true, mounts });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const consoleLines = [];
  const out = { machine: machine(), browser: `Chromium ${browser.version()}`, threads: o.threads, repetitions: o.reps,
    nPrompt: o.nPrompt, nGen: o.nGen, nCtx: o.ctx, method: 'wall clock per request, page main thread', results: [], ratios: [] };
  try {
    for (const [i, model] of models.entries()) {
      // A fresh page per model: the previous model's memory goes with it.
      const page = await browser.newPage();
      page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${e.message}`));
      await page.goto(`${server.url}/bench/`);
      await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60e3 });
      const env = await page.evaluate(() => window.bench.env());
      out.crossOriginIsolated = env.crossOriginIsolated;
      const url = `${server.url}/bench-models/${i}/${encodeURIComponent(path.basename(model.path))}`;
      out.results.push(...(await benchModel(page, o, model, url)));
      await page.close();
    }
  } catch (err) {
    if (consoleLines.length) log('browser console (last 30 lines):\n' + consoleLines.slice(-30).join('\n'));
    throw err;
  } finally {
    await browser.close().catch(() => {});
    await server.close();
  }
  for (const model of models) {
    const a = out.results.find((r) => r.model === model.name && r.engine === 'wasm-chord');
    const b = out.results.find((r) => r.model === model.name && r.engine === 'wllama');
    if (a && b) out.ratios.push({ model: model.name, pp: a.pp.mean / b.pp.mean, tg: a.tg.mean / b.tg.mean });
  }
  out.elapsedSeconds = (Date.now() - started) / 1000;
  out.machine.loadavgEnd = os.loadavg().map((x) => +x.toFixed(2));
  if (o.jsonFile) fs.writeFileSync(o.jsonFile, JSON.stringify(out, null, 1) + '\n');
  if (o.json) console.log(JSON.stringify(out, null, 1));
  else printTable(out, o);
}

main().catch((err) => {
  console.error(`error: ${err.message}`);
  process.exit(1);
});
