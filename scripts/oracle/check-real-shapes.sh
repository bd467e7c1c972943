#!/usr/bin/env bash
# The CPU backend against llama.cpp on random-weight models in real models' full shapes
# (issue 15: "real shapes, random weights"; full shapes are too slow for `npm test`, so this is
# a script of its own). For each shape: the Q4_K_M file (scripts/bench-browser/make_tinyllama.py,
# F16 → llama-quantize, the mix a user would download), llama.cpp's greedy goldens
# (tests/golden/generate/real-SHAPE.jsonl, committed; remade with --regen), then our CPU
# backend replays them (rust/cpu/tests/golden_generate.rs `real_shapes`, ignored by default).
#
#   scripts/oracle/check-real-shapes.sh                      # every shape, goldens as committed
#   scripts/oracle/check-real-shapes.sh llama3.2-1b          # one
#   scripts/oracle/check-real-shapes.sh --regen qwen2.5-0.5b # remake its goldens with llama.cpp
#
# Shapes: llama3.2-1b (tied head, Llama 3 RoPE scaling through rope_freqs, 128256-token
# vocabulary), qwen2.5-0.5b (qwen2: q/k/v biases, NeoX RoPE, tied, 151936 tokens). Needs ~3 GB
# of disk for each F16 intermediate; minutes per shape on 2 cores.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
regen=0
if [ "${1:-}" = --regen ]; then
  regen=1
  shift
fi
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || shapes=(llama3.2-1b qwen2.5-0.5b)

bin="$(bash "$root/scripts/oracle/build-llama-cpp.sh")"
. "$root/scripts/oracle/lib.sh"
for shape in "${shapes[@]}"; do
  model="$(python3 "$root/scripts/bench-browser/make_tinyllama.py" --shape "$shape")"
  golden="$root/tests/golden/generate/real-$shape.jsonl"
  if [ $regen = 1 ] || [ ! -f "$golden" ]; then
    echo "== $shape: llama.cpp goldens" >&2
    # the synthetic vocabulary is SentencePiece-style: the llama-spm prompts
    python3 "$root/scripts/oracle/make-generate-goldens.py" --greedy "$(build_oracle_program greedy)" \
      --bin "$bin" --model "$model" --prompts llama-spm --out "$golden"
  fi
done
echo "== our CPU backend" >&2
WASM_CHORD_REAL_SHAPES="${shapes[*]}" cargo test --release -p wasm-chord-cpu --test golden_generate \
  real_shapes -- --ignored --nocapture
