// The esbuild build, exactly as the package README ("Bundlers") gives it: bundle as ES module,
// then copy the package's dist/ (worker, wasm modules) next to the bundle, where main.js's
// assetBase points. esbuild leaves `new URL(…, import.meta.url)` alone, so it neither bundles
// the worker nor copies the wasm.
import * as esbuild from 'esbuild';
import fs from 'node:fs';

fs.rmSync('dist', { recursive: true, force: true });
await esbuild.build({ entryPoints: ['main.js'], bundle: true, format: 'esm', outdir: 'dist' });
fs.cpSync('node_modules/wasm-chord/dist', 'dist/wasm-chord', { recursive: true });
fs.copyFileSync('index.html', 'dist/index.html');
