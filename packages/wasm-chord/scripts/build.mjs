#!/usr/bin/env node
// npm run build: tsc (src/ → dist/), then copy the wasm-bindgen output (src/wasm/ → dist/wasm/) and
// the Jinja engine (→ dist/vendor/jinja.js), so dist/ is complete and self-contained: it imports
// nothing by bare specifier and loads in a browser straight from a static server.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(pkg, 'package.json'));
const dist = path.join(pkg, 'dist');
// Built beside dist/ and swapped in at the end, so a page or test using dist/ during a rebuild never
// finds it half-written.
const out = path.join(pkg, '.dist-build');
const WASM_FILES = [
  'wasm_chord_web.js',
  'wasm_chord_web.d.ts',
  'wasm_chord_web_bg.wasm',
  'wasm_chord_web_relaxed_bg.wasm',
].flatMap((f) => [
  `wasm/${f}`,
  `wasm-threads/${f}`,
]);

const missing = WASM_FILES.filter((f) => !fs.existsSync(path.join(pkg, 'src', f)));
if (missing.length > 0) {
  console.error(
    `error: packages/wasm-chord/src/ lacks ${missing.join(', ')}.\n` +
      `The WebAssembly module is built from the Rust crate: run bash scripts/build-wasm.sh ` +
      `(from the repository root), then npm run build again.`,
  );
  process.exit(1);
}

fs.rmSync(out, { recursive: true, force: true });
const tsc = require.resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(pkg, 'tsconfig.json'), '--outDir', out], { stdio: 'inherit' });
} catch {
  console.error('error: tsc failed (see above)');
  process.exit(1);
}

// Deno takes the types of a local .js module only from a @ts-self-types directive (it does not look
// for the sibling .d.ts as tsc does). Put it on the first line of every compiled module (same line,
// so source maps stay aligned); other tools read it as a plain comment.
for (const file of fs.readdirSync(out, { recursive: true })) {
  const js = path.join(out, String(file));
  if (!js.endsWith('.js') || !fs.existsSync(js.replace(/\.js$/, '.d.ts'))) continue;
  const text = fs.readFileSync(js, 'utf8');
  fs.writeFileSync(js, `/* @ts-self-types="./${path.basename(js, '.js')}.d.ts" */ ${text}`);
}

// Both wasm builds, whole: the threaded one has wasm-bindgen-rayon's worker script under snippets/.
for (const dir of ['wasm', 'wasm-threads']) {
  fs.cpSync(path.join(pkg, 'src', dir), path.join(out, dir), { recursive: true });
}

// Replace the compiled re-export (`export { Template } from '@huggingface/jinja'`) with the
// package's own single-file ESM build, and keep its license next to it.
// (Its exports map hides package.json; its main entry lives in dist/.)
const jinjaDir = path.resolve(path.dirname(require.resolve('@huggingface/jinja')), '..');
fs.copyFileSync(path.join(jinjaDir, 'dist', 'index.js'), path.join(out, 'vendor', 'jinja.js'));
fs.copyFileSync(path.join(jinjaDir, 'LICENSE'), path.join(out, 'vendor', 'jinja.LICENSE'));
fs.rmSync(path.join(out, 'vendor', 'jinja.js.map'), { force: true });

fs.rmSync(dist, { recursive: true, force: true });
fs.renameSync(out, dist);

console.log(`built ${path.relative(process.cwd(), dist) || dist}`);
