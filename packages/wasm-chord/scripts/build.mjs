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
  // --inlineSources: the source maps carry the TypeScript, which the npm package does not ship
  // (files: dist); without it every tool that reads the maps looks for ../src/*.ts, and Vite's dev
  // server warns "Sourcemap … points to missing source files" once per module.
  execFileSync(process.execPath, [tsc, '-p', path.join(pkg, 'tsconfig.json'), '--outDir', out, '--inlineSources'], {
    stdio: 'inherit',
  });
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

// wasm-bindgen-rayon's `startWorkers` (feature no-bundler: snippets/…/workerHelpers.no-bundler.js)
// starts each thread by fetching its own module as a Blob and importing the glue from the glue's
// `import.meta.url`; once a bundler merges these files into a worker bundle (or webpack replaces
// `import.meta.url` with a file: path) neither points at a usable script. The package's worker
// starts the threads itself (src/wasm.ts: startRayonWorkers, same protocol), so that file becomes a
// re-export of it. Checked, so that a wasm-bindgen-rayon release that changes the contract fails
// here instead of in a browser.
{
  const fail = (why) => {
    console.error(`error: wasm-threads/: ${why} (scripts/build.mjs replaces wasm-bindgen-rayon's startWorkers)`);
    process.exit(1);
  };
  const threads = path.join(out, 'wasm-threads');
  const helpers = fs
    .readdirSync(path.join(threads, 'snippets'), { recursive: true })
    .map(String)
    .filter((f) => path.basename(f) === 'workerHelpers.no-bundler.js');
  if (helpers.length !== 1) fail(`expected one snippets/wasm-bindgen-rayon-*/src/workerHelpers.no-bundler.js, found ${helpers.length}`);
  const helper = path.join(threads, 'snippets', helpers[0]);
  if (!/export async function startWorkers\(module, memory, builder\)/.test(fs.readFileSync(helper, 'utf8'))) {
    fail(`${helpers[0]} no longer exports startWorkers(module, memory, builder)`);
  }
  const glue = fs.readFileSync(path.join(threads, 'wasm_chord_web.js'), 'utf8');
  const imports = [...glue.matchAll(/^import \{([^}]*)\} from '\.\/snippets\/([^']+)';$/gm)];
  if (imports.length !== 1 || imports[0][1].trim() !== 'startWorkers' || imports[0][2] !== helpers[0].split(path.sep).join('/')) {
    fail(`the glue's snippet imports are not just { startWorkers } from ${helpers[0]}: ${imports.map((m) => m[0]).join('; ')}`);
  }
  const wasmJs = path.relative(path.dirname(helper), path.join(out, 'wasm.js')).split(path.sep).join('/');
  fs.writeFileSync(
    helper,
    `// Written by wasm-chord's scripts/build.mjs in place of wasm-bindgen-rayon's no-bundler helper:\n` +
      `// the package's worker starts rayon's threads (see startRayonWorkers in ${wasmJs}).\n` +
      `export { startRayonWorkers as startWorkers } from '${wasmJs}';\n`,
  );
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
