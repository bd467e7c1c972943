#!/usr/bin/env bash
# `npm run build`: the native CLI (target/release/wasm-chord), the WebAssembly core, and the npm
# package (packages/wasm-chord/dist/, entry dist/index.js).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo build --release (native CLI)" >&2
cargo build --release -p wasm-chord-cli >&2
bash scripts/build-wasm.sh
echo "== packages/wasm-chord" >&2
bash scripts/build-package.sh >&2
