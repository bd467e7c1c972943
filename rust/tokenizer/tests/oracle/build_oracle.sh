#!/usr/bin/env bash
# Builds llama_oracle against a llama.cpp build tree (static libs), printing the binary's path.
#   LLAMA_CPP=/root/.cache/wasm-chord/llama.cpp rust/tokenizer/tests/oracle/build_oracle.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
llama="${LLAMA_CPP:-$HOME/.cache/wasm-chord/llama.cpp}"
out="${ORACLE_OUT:-/tmp/wasm-chord-oracle}"
mkdir -p "$out"
b="$llama/build"
g++ -std=c++17 -O2 -o "$out/llama_oracle" "$here/llama_oracle.cpp" \
  -I"$llama/include" -I"$llama/ggml/include" \
  "$b/src/libllama.a" "$b/ggml/src/libggml.a" "$b/ggml/src/libggml-cpu.a" "$b/ggml/src/libggml-base.a" \
  -fopenmp -lpthread -ldl >&2
echo "$out/llama_oracle"
