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

# A real model's full shape (SmolLM2-135M: 30 layers, 576 wide, vocab 49152, BPE `smollm`) with
# random weights, Q8_0 quantized by gguf-py (byte-identical to llama-quantize's; npm test builds no
# llama.cpp), replayed against llama.cpp's committed goldens. The other shapes and Q4_K_M are
# scripts/oracle/check-real-shapes.sh (they need llama.cpp and GBs of files).
echo "== real shape: SmolLM2-135M Q8_0 against llama.cpp's goldens (CPU backend)"
python3 scripts/bench-browser/make_tinyllama.py --shape smollm2-135m --type Q8_0 --quantizer gguf-py > /dev/null
WASM_CHORD_REAL_SHAPES="smollm2-135m:Q8_0" cargo test --release -p wasm-chord-cpu --test golden_generate \
  real_shapes -- --ignored --nocapture 2>&1 | grep -E "^RESULT|panicked|test result|error"

echo "== npm package: TypeScript units, Node, Deno"
npm test -w packages/wasm-chord

echo "== browser (Playwright, Debian Chromium)"
bash scripts/install-browser.sh
npm test --prefix playwright
