#!/usr/bin/env bash
# `npm run demo`. The browser chat page arrives with the npm package (WebAssembly build, Web Worker,
# OPFS cache); until then this builds the native CLI, fetches the test model and opens the same
# conversation in the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "note: the browser demo is not built yet; starting the terminal chat with the test model instead." >&2
cargo build --release -p wasm-chord-cli >&2
model="$(bash scripts/test-model.sh)"
exec target/release/wasm-chord chat -m "$model" "$@"
