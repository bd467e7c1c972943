#!/usr/bin/env bash
# Regenerates tests/golden/generate/*.jsonl with llama.cpp (see tests/golden/README.md).
#
#   scripts/oracle/make-generate-goldens.sh             # all sets
#   scripts/oracle/make-generate-goldens.sh gemma3      # or any make_llama.py --list name
#
# Needs: cmake + a C++ compiler (for llama.cpp), python3 with scripts/oracle/requirements.txt.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
bin="$(bash "$root/scripts/oracle/build-llama-cpp.sh")"
. "$root/scripts/oracle/lib.sh"
greedy="$(build_oracle_program greedy)"

llama_models="$(python3 "$root/tests/models/make_llama.py" --list)"
sets=("$@")
if [ ${#sets[@]} -eq 0 ]; then
  sets=(gemma3 $llama_models)
fi

test_dir="$cache/models/test"
for set in "${sets[@]}"; do
  if [ "$set" = gemma3 ]; then
    model="$(bash "$root/scripts/test-model.sh")"
    prompts=gemma3
  else
    model="$test_dir/$set.gguf"
    python3 "$root/tests/models/make_llama.py" --out "$test_dir" --only "$set" --check >/dev/null
    prompts="${set%-*}"   # llama-spm / llama-bpe / qwen2-bpe / qwen{3,3moe,2moe}-bpe / phi3-spm / gemma{,2}-spm / phi2-bpe / mixtral-spm
  fi
  echo "== $set" >&2
  python3 "$root/scripts/oracle/make-generate-goldens.py" --greedy "$greedy" --bin "$bin" \
    --model "$model" --prompts "$prompts" --out "$root/tests/golden/generate/$set.jsonl"
done
