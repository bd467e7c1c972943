#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every test suite:
#   Rust (unit, kernels, GGUF, tokenizer and generation goldens against llama.cpp, CLI, the wgpu
#   backend's shaders and kernels on a real Vulkan device — lavapipe where there is no GPU),
#   the npm package (TypeScript units, Node and Deno on the real model),
#   the browser (Playwright in Debian Chromium: the public API, OPFS cache, resume, the demo).
# Rust tests fetch the real test model themselves (scripts/test-model.sh) and generate the
# random-weight llama models they compare with llama.cpp goldens (tests/models/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== npm install"
npm install --no-audit --no-fund --loglevel=error

echo "== test model"
bash scripts/test-model.sh

echo "== Vulkan driver for the native GPU tests (Mesa lavapipe when there is no GPU)"
bash scripts/install-vulkan.sh

echo "== rust"
cargo test --workspace 2>&1

echo "== build: native CLI (the reference the JS tests compare with), wasm core, npm package"
cargo build --release -p wasm-chord-cli 2>&1
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export WASM_CHORD_CLI="$target_dir/release/wasm-chord"
bash scripts/build-wasm.sh
bash scripts/build-package.sh

echo "== npm package: TypeScript units, Node, Deno"
npm test -w packages/wasm-chord

echo "== browser (Playwright, Debian Chromium)"
bash scripts/install-browser.sh
npm test --prefix playwright
