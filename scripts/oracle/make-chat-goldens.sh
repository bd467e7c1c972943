#!/usr/bin/env bash
# Regenerates tests/golden/chat/*.jsonl: scripted conversations played by llama.cpp with prompt
# caching (scripts/oracle/chat.cpp: each turn evaluates only the tokens not already in its KV cache,
# as llama-server with cache_prompt). rust/cpu/tests/golden_chat.rs replays them.
#
#   scripts/oracle/make-chat-goldens.sh
#
# Needs what scripts/oracle/build-llama-cpp.sh needs (cmake, a C++ compiler).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
bash "$root/scripts/oracle/build-llama-cpp.sh" >/dev/null
. "$root/scripts/oracle/lib.sh"
chat="$(build_oracle_program chat)"
python3 "$root/scripts/oracle/make-chat-goldens.py" --chat "$chat" \
  --model "$(bash "$root/scripts/test-model.sh")" --out "$root/tests/golden/chat/gemma3.jsonl"
