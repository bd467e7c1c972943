#!/usr/bin/env bash
# Regenerates every committed golden (tokenize + generate) and checks the quant encoders.
#   scripts/oracle/make-goldens.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
bin="$(bash "$root/scripts/oracle/build-llama-cpp.sh")"
test_dir="$cache/models/test"

python3 "$root/tests/models/make_llama.py" --out "$test_dir" --verify --check

tok() { python3 "$root/scripts/oracle/make-tokenize-goldens.py" --bin "$bin" --model "$1" --cases "$2" --out "$root/tests/golden/tokenize/$2.jsonl"; }
tok "$(bash "$root/scripts/test-model.sh")" gemma3
tok "$test_dir/llama-spm-f32.gguf" llama-spm
tok "$test_dir/llama-bpe-f32.gguf" llama-bpe
tok "$test_dir/qwen2-bpe-f32.gguf" qwen2-bpe
tok "$test_dir/qwen3-bpe-f32.gguf" qwen3-bpe
tok "$test_dir/phi3-spm-f32.gguf" phi3-spm
tok "$test_dir/gemma-spm-f32.gguf" gemma-spm
tok "$test_dir/gemma2-spm-f32.gguf" gemma2-spm
tok "$test_dir/phi2-bpe-f32.gguf" phi2-bpe

bash "$root/scripts/oracle/make-generate-goldens.sh"
python3 "$root/scripts/oracle/check-quants.py" --bin "$bin" --models "$test_dir"
