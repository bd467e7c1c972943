// The consumer apps of playwright/consumers/: each is installed from the `npm pack` tarball of
// packages/wasm-chord (what a user gets from the registry, not the workspace link), built with its
// own `npm run build` and served with COOP/COEP, or run under Vite's dev server.
//
// Installs are slow on a cold npm cache and the apps rarely change, so each app's copy is kept in
// ${WASM_CHORD_CACHE:-~/.cache/wasm-chord}/consumers/<app>-<key>/, key = hash of the tarball and
// of the app's package.json: `npm install` runs only when either changed (then all but the most
// recently used other copy of the app are removed). The app's own files are copied in afresh on
// every run, so editing main.js or a config needs no reinstall. Outside the repository on
// purpose: nothing there can resolve a module from the repository's node_modules (where
// `wasm-chord` is the workspace link). Several test runs may share a machine (and this cache):
// withConsumer holds a lock on the copy while it is installed, built and served.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer } from '../../scripts/serve.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CONSUMERS = path.join(REPO, 'playwright', 'consumers');
const PACKAGE = path.join(REPO, 'packages', 'wasm-chord');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

export function cacheDir() {
  const cache = process.env.WASM_CHORD_CACHE || path.join(os.homedir(), '.cache', 'wasm-chord');
  return path.join(cache, 'consumers');
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

/**
 * `npm pack` of packages/wasm-chord (its dist/ must be built) into a new temporary folder.
 * Returns { tarball, hash, files, dir } (files: the paths inside the package, from npm's report).
 */
export function packPackage() {
  if (!fs.existsSync(path.join(PACKAGE, 'dist', 'index.js'))) {
    throw new Error('packages/wasm-chord/dist is missing: bash scripts/build-wasm.sh && npm run build -w packages/wasm-chord');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wasm-chord-pack-'));
  const out = execFileSync(NPM, ['pack', '--json', '--pack-destination', dir], {
    cwd: PACKAGE,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [report] = JSON.parse(out);
  const tarball = path.join(dir, report.filename);
  return { tarball, hash: sha256(fs.readFileSync(tarball)), files: report.files.map((f) => f.path), dir };
}

function copyAppFiles(app, dest) {
  const src = path.join(CONSUMERS, app);
  for (const name of fs.readdirSync(src)) {
    if (name === 'node_modules' || name === 'dist') continue;
    fs.cpSync(path.join(src, name), path.join(dest, name), { recursive: true });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** A lock folder holding the owner's pid; one left by a dead process is taken over. */
async function lock(dir, timeoutMs = 10 * 60_000) {
  const lockDir = `${dir}.lock`;
  const t0 = Date.now();
  for (;;) {
    try {
      fs.mkdirSync(lockDir);
      fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid));
      return () => fs.rmSync(lockDir, { recursive: true, force: true });
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let pid = NaN;
    try {
      pid = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    } catch {
      // being created or removed: look again
    }
    if (Number.isInteger(pid) && pid > 0 && !pidAlive(pid)) fs.rmSync(lockDir, { recursive: true, force: true });
    else if (Date.now() - t0 > timeoutMs) throw new Error(`${lockDir} is held by process ${pid}`);
    else await sleep(250);
  }
}

/** Older copies of `app`: the most recently used one is kept (another tarball, maybe another
 *  run's), and none that is locked. */
function prune(root, app, keep) {
  const copies = fs
    .readdirSync(root)
    .filter((n) => n.startsWith(`${app}-`) && !n.endsWith('.lock') && path.join(root, n) !== keep)
    .map((n) => {
      const marker = path.join(root, n, '.wasm-chord-installed');
      return { dir: path.join(root, n), used: fs.existsSync(marker) ? fs.statSync(marker).mtimeMs : 0 };
    })
    .sort((a, b) => b.used - a.used);
  for (const { dir } of copies.slice(1)) {
    if (!fs.existsSync(`${dir}.lock`)) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `fn({ dir, installed, ms })` on the app's install from the tarball (made when missing),
 * holding its lock; `installed`: npm install ran now, `ms`: time to get the install.
 */
export async function withConsumer(app, pack, fn) {
  const appPackageJson = fs.readFileSync(path.join(CONSUMERS, app, 'package.json'));
  const key = sha256(pack.hash + sha256(appPackageJson)).slice(0, 16);
  const root = cacheDir();
  fs.mkdirSync(root, { recursive: true });
  const dir = path.join(root, `${app}-${key}`);
  const unlock = await lock(dir);
  try {
    return await fn(installConsumer(app, pack, dir));
  } finally {
    unlock();
  }
}

function installConsumer(app, pack, dir) {
  const t0 = Date.now();
  const marker = path.join(dir, '.wasm-chord-installed');
  let installed = false;
  if (!fs.existsSync(marker)) {
    fs.rmSync(dir, { recursive: true, force: true }); // a half-made install
    prune(path.dirname(dir), app, dir);
    fs.mkdirSync(dir, { recursive: true });
    copyAppFiles(app, dir);
    execFileSync(
      NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', pack.tarball],
      { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    fs.writeFileSync(marker, `${pack.hash}\n`);
    installed = true;
  }
  fs.utimesSync(marker, new Date(), new Date()); // "recently used", for prune
  // The app's own files every time (npm install above added the tarball to the copy's
  // package.json; the fresh copy drops that line again, which changes nothing once installed).
  copyAppFiles(app, dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', 'wasm-chord', 'package.json'), 'utf8'));
  if (!fs.existsSync(path.join(dir, 'node_modules', 'wasm-chord', 'dist', 'worker.js')) || pkg.name !== 'wasm-chord') {
    throw new Error(`${dir}: node_modules/wasm-chord is not the packed package`);
  }
  if (fs.lstatSync(path.join(dir, 'node_modules', 'wasm-chord')).isSymbolicLink()) {
    throw new Error(`${dir}: node_modules/wasm-chord is a link, not an install of the tarball`);
  }
  return { dir, installed, ms: Date.now() - t0 };
}

/** `npm run build` in the app's copy; its output (stdout and stderr) is returned for the log. */
export function buildConsumer(dir) {
  const t0 = Date.now();
  try {
    const out = execFileSync(NPM, ['run', '--silent', 'build'], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { out, ms: Date.now() - t0 };
  } catch (e) {
    throw new Error(`npm run build in ${dir} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

/** Serves `dir` at / with the repository's server (COOP/COEP, MIME types, /models/). */
export function serveOutput(dir) {
  return startServer({ port: 0, quiet: !process.env.PW_DEBUG, mounts: [['/', dir]] });
}

/**
 * Vite's dev server on the app's copy, through Vite's API with the app's vite.config.js (the same
 * as `npm run dev`), plus, for the test only, a proxy of /models/ to `modelsOrigin` (the model is
 * not part of the app). Returns { url, close() }.
 */
export async function startViteDev(dir, modelsOrigin) {
  const require = createRequire(path.join(dir, 'package.json'));
  const { createServer } = await import(pathToFileURL(require.resolve('vite')).href);
  const server = await createServer({
    root: dir,
    configFile: path.join(dir, 'vite.config.js'),
    logLevel: process.env.PW_DEBUG ? 'info' : 'warn',
    clearScreen: false,
    server: { host: '127.0.0.1', port: 0, proxy: { '/models': modelsOrigin } },
  });
  await server.listen();
  const url = server.resolvedUrls?.local?.[0];
  if (!url) {
    await server.close();
    throw new Error('the Vite dev server did not report its URL');
  }
  return { url: url.replace(/\/$/, ''), server, close: () => server.close() };
}

/** Every file under `dir` (relative paths). */
export function listFiles(dir) {
  return fs.readdirSync(dir, { recursive: true }).map(String).filter((f) => fs.statSync(path.join(dir, f)).isFile());
}

/** sha256 of each .wasm file under `dir` → its relative path. */
export function wasmByHash(dir) {
  const byHash = new Map();
  for (const f of listFiles(dir)) {
    if (f.endsWith('.wasm')) byHash.set(sha256(fs.readFileSync(path.join(dir, f))), f);
  }
  return byHash;
}
