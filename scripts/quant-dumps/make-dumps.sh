#!/usr/bin/env bash
# Regenerate tests/golden/quant/*.bin from llama.cpp's ggml (see README.md next to this file).
#
#   LLAMA_CPP_DIR  llama.cpp source tree, already built with cmake into $LLAMA_CPP_DIR/build
#                  (static libs; default: /root/.cache/wasm-chord/llama.cpp)
#   CC             C compiler (default: cc)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
llama="${LLAMA_CPP_DIR:-/root/.cache/wasm-chord/llama.cpp}"
lib="$llama/build/ggml/src"
out="$repo/tests/golden/quant"

for a in libggml-cpu.a libggml-base.a; do
    [[ -f "$lib/$a" ]] || { echo "missing $lib/$a: build llama.cpp first (cmake -B build && cmake --build build)" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# -ffp-contract=off: the input generator must not fuse multiply-adds (the Rust copy never does).
# No -march: ggml's own code keeps the flags it was built with; only our generator is compiled here.
"${CC:-cc}" -std=c11 -O2 -ffp-contract=off -Wall -Wextra \
    -I "$llama/ggml/include" \
    "$here/dump.c" \
    "$lib/libggml-cpu.a" "$lib/libggml-base.a" \
    -fopenmp -lstdc++ -lpthread -lm \
    -o "$tmp/quant-dump"

mkdir -p "$out"
"$tmp/quant-dump" "$out"

{
    echo "Made by scripts/quant-dumps/make-dumps.sh; do not edit."
    echo "llama.cpp: $(git -C "$llama" rev-parse HEAD 2>/dev/null || echo unknown)"
    echo "host: $(uname -m), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//')"
    echo "compiler: $("${CC:-cc}" --version | head -1)"
    echo
    (cd "$out" && sha256sum -- *.bin)
} > "$out/MANIFEST.txt"

echo "wrote $(ls "$out"/*.bin | wc -l) files, $(du -cb "$out"/*.bin | tail -1 | cut -f1) bytes, to $out"
