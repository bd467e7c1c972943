// A plain webpack 5 configuration: wasm-chord needs nothing in it. webpack bundles the package's
// worker (new Worker(new URL('./worker.js', import.meta.url))) and emits its wasm modules
// (new URL('./wasm/….wasm', import.meta.url)) as assets on its own. (index.html is copied into
// dist/ by the build script.)
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default {
  mode: 'production',
  entry: './main.js',
  output: {
    path: path.join(path.dirname(fileURLToPath(import.meta.url)), 'dist'),
    clean: true,
  },
  // The package's wasm modules are several MB: that is expected, not a warning.
  performance: { hints: false },
};
