#!/usr/bin/env bash
# Prepares what the GPU benchmark machine needs and cannot fetch (it has CUDA, CMake and Python
# but no network, no Rust and no Vulkan SDK), into .devcarry/ and .gl/ of the repository (both
# git-ignored locally through .git/info/exclude):
#   .devcarry/wasm-chord       our release CLI (x86-64, built here; stripped)
#   .devcarry/microbench       the wgpu microbenchmarks (rust/gpu/examples/microbench.rs, release)
#   .devcarry/wasm-chord-base  (optional, put there by hand: a previous CLI, benched as "base")
#   .devcarry/llama-src.tgz    llama.cpp from the llama-cpp-python sdist, trimmed (no models, docs,
#                              unused GPU backends; ggml-cuda and ggml-vulkan kept) — built there
#                              twice by run.sh, with CUDA and with Vulkan
#   .devcarry/llama-quantize   llama.cpp's (CPU) quantizer, for make_tinyllama.py there
#   .devcarry/gguf-*.whl       gguf-py, for make_tinyllama.py there
#   .devcarry/vkdev/trixie/    Debian trixie .debs for the Vulkan build: glslc + libshaderc1 (shaderc
#                              2025.2, glslang 15: knows GL_KHR_cooperative_matrix,
#                              GL_NV_cooperative_matrix2 and GL_EXT_integer_dot_product, which
#                              llama.cpp's fast NVIDIA paths need), libvulkan-dev (headers 1.4.309),
#                              spirv-headers, and libc6/libstdc++6/libgcc-s1 to run that glslc
#                              (glibc 2.38+) through its own loader on any host
#   .devcarry/vkdev/bookworm/  the same four from bookworm (shaderc 2023.2, headers 1.3.239): the
#                              fallback, with ggml-vulkan.cpp patched (see vulkan-peer.sh); its
#                              glslc lacks those extensions, so ggml-vulkan builds only its
#                              scalar shaders
#   .gl/*.deb                  the Vulkan loader and glvnd, which that machine's image lacks
# Then run scripts/gpu-bench/run.sh there, carrying .devcarry and .gl (see README.md).
#
# CUDA_ONLY=1 (scripts/cuda-test.sh prepare): only the CLI, llama.cpp's source, llama-quantize and
# gguf-py — no wgpu microbenchmarks, no Vulkan packages.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
target="${CARGO_TARGET_DIR:-target}"
exclude="$(git rev-parse --git-path info/exclude)"   # .git may be a file (a worktree)
for d in .devcarry .gl; do
  grep -qx "/$d/" "$exclude" 2>/dev/null || echo "/$d/" >> "$exclude"
  mkdir -p "$d"
done

cuda_only=${CUDA_ONLY:-0}
cargo build --release -p wasm-chord-cli
# (stripped copies: the symbols are a third of each binary and the carry is capped at 64 MiB)
strip -o .devcarry/wasm-chord "$target/release/wasm-chord"
if [ "$cuda_only" != 1 ]; then
  cargo build --release -p wasm-chord-gpu --example microbench
  strip -o .devcarry/microbench "$target/release/examples/microbench"
fi

bin="$(bash scripts/oracle/build-llama-cpp.sh)"   # builds the CPU llama.cpp once; prints its bin dir
strip -o .devcarry/llama-quantize "$bin/llama-quantize"
src="$(cd "$cache/llama.cpp" && pwd -P)"
tar czf .devcarry/llama-src.tgz -C "$src" \
  --exclude='ggml/src/ggml-sycl' --exclude='ggml/src/ggml-opencl' --exclude='ggml/src/ggml-cann' \
  --exclude='ggml/src/ggml-musa' --exclude='ggml/src/ggml-metal' --exclude='ggml/src/ggml-webgpu' \
  --exclude='ggml/src/ggml-hexagon' --exclude='ggml/src/ggml-openvino' --exclude='ggml/src/ggml-et' \
  --exclude='tools/server/public*' --exclude='tools/server/webui' \
  CMakeLists.txt cmake common ggml include src tools vendor licenses LICENSE app

python3 -m pip download --quiet --no-deps --only-binary=:all: -d .devcarry gguf==0.19.0

if [ "$cuda_only" = 1 ]; then
  du -sh .devcarry
  exit 0
fi

# Debian .debs by name, for amd64, with apt's own lists kept apart from the system's.
download() { # SUITE DIR PACKAGE...
  local suite=$1 dir=$2 lists=/tmp/apt-$1-amd64
  shift 2
  mkdir -p "$lists/partial" "$dir"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    > "$lists.sources.list"
  local o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  o="$o -oDir::Etc::SourceList=$lists.sources.list -oDir::Etc::SourceParts=/nonexistent"
  apt-get $o update -qq
  rm -f "$dir"/*.deb
  (cd "$dir" && apt-get $o download "$@")
}
download bookworm .gl libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2
download trixie .devcarry/vkdev/trixie glslc libshaderc1 libvulkan-dev spirv-headers \
  libc6 libstdc++6 libgcc-s1
download bookworm .devcarry/vkdev/bookworm glslc libshaderc1 libvulkan-dev spirv-headers
du -sh .devcarry .gl
du -sc .devcarry .gl | tail -1 | awk '{ if ($1 > 56 * 1024) { print "prepare: over 56 MiB carried: the tree travels too, 64 MiB in all" > "/dev/stderr"; exit 1 } }'
