#!/usr/bin/env bash
# Prepares what the GPU benchmark machine needs and cannot fetch (it has CUDA, CMake and Python
# but no network and no Rust), into .devcarry/ and .gl/ of the repository (both git-ignored
# locally through .git/info/exclude):
#   .devcarry/wasm-chord       our release CLI (x86-64, built here)
#   .devcarry/llama-src.tgz    llama.cpp from the llama-cpp-python sdist, trimmed (no models, docs,
#                              other GPU backends) — built with CUDA there by run.sh
#   .devcarry/llama-quantize   llama.cpp's (CPU) quantizer, for make_tinyllama.py there
#   .devcarry/gguf-*.whl       gguf-py, for make_tinyllama.py there
#   .gl/*.deb                  the Vulkan loader and glvnd, which that machine's image lacks
# Then run scripts/gpu-bench/run.sh there, carrying .devcarry and .gl (see README.md).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
exclude="$(git rev-parse --git-path info/exclude)"   # .git may be a file (a worktree)
for d in .devcarry .gl; do
  grep -qx "/$d/" "$exclude" 2>/dev/null || echo "/$d/" >> "$exclude"
  mkdir -p "$d"
done

cargo build --release -p wasm-chord-cli
cp "${CARGO_TARGET_DIR:-target}/release/wasm-chord" .devcarry/

bin="$(bash scripts/oracle/build-llama-cpp.sh)"   # builds the CPU llama.cpp once; prints its bin dir
cp "$bin/llama-quantize" .devcarry/
src="$(cd "$cache/llama.cpp" && pwd -P)"
tar czf .devcarry/llama-src.tgz -C "$src" \
  --exclude='ggml/src/ggml-vulkan' --exclude='ggml/src/ggml-sycl' --exclude='ggml/src/ggml-opencl' \
  --exclude='ggml/src/ggml-cann' --exclude='ggml/src/ggml-musa' --exclude='ggml/src/ggml-metal' \
  --exclude='ggml/src/ggml-webgpu' --exclude='tools/server/public*' --exclude='tools/server/webui' \
  CMakeLists.txt cmake common ggml include src tools vendor licenses LICENSE app

python3 -m pip download --quiet --no-deps --only-binary=:all: -d .devcarry gguf==0.19.0

o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
apt-get $o update -qq
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .devcarry .gl
