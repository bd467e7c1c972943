// The whole Vite configuration wasm-chord needs: none. These headers only make the page
// cross-origin isolated (COOP/COEP), which the engine needs for its multi-threaded build; without
// them it runs single-threaded. (The same headers must come from whatever serves `vite build`'s
// output.)
import { defineConfig } from 'vite';

export default defineConfig({
  server: {
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
});
