#!/usr/bin/env bash
# The CPU backend against llama.cpp on random-weight models in real models' full shapes
# (issue 15: "real shapes, random weights"; full shapes are too slow for `npm test`, so this is
# a script of its own). For each shape (scripts/bench-browser/make_tinyllama.py's table, which
# names the real model each copies): one F16 file of random weights, quantized by llama-quantize
# to Q4_K_M and Q8_0 (the mixes a user would download; the F16 is deleted afterwards), llama.cpp's
# greedy goldens for each (tests/golden/generate/real-SHAPE-TYPE.jsonl, committed; remade with
# --regen or when missing), then our CPU backend replays them (rust/cpu/tests/golden_generate.rs
# `real_shapes`, ignored by default). A per-shape pass/fail table ends the run.
#
#   scripts/oracle/check-real-shapes.sh                        # every shape, cheapest first
#   scripts/oracle/check-real-shapes.sh qwen3-0.6b             # one (or several)
#   scripts/oracle/check-real-shapes.sh --regen qwen3-0.6b     # remake its goldens with llama.cpp
#   scripts/oracle/check-real-shapes.sh --types Q8_0 phi-2     # one weight type
#   scripts/oracle/check-real-shapes.sh --clean ...            # delete each shape's files after it
#
# Shapes (cheapest first): smollm2-135m qwen2.5-0.5b qwen3-0.6b phi-2 phi-3.5-mini gemma-2-2b
# llama3.2-1b gemma-3-1b mixtral-8x7b (`make_tinyllama.py --list`). Disk: the largest F16
# intermediate is ~3.2 GB (mixtral-8x7b's one layer), the kept Q4_K_M + Q8_0 files ~12 GB for
# all shapes (--clean keeps only one shape's at a time).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
gen="$root/scripts/bench-browser/make_tinyllama.py"
regen=0
clean=0
types=(Q4_K_M Q8_0)
while [ $# -gt 0 ]; do
  case "$1" in
    --regen) regen=1; shift ;;
    --clean) clean=1; shift ;;
    --types) IFS=, read -r -a types <<< "$2"; shift 2 ;;
    *) break ;;
  esac
done
shapes=("$@")
[ ${#shapes[@]} -gt 0 ] || mapfile -t shapes < <(python3 "$gen" --list)

bin="$(bash "$root/scripts/oracle/build-llama-cpp.sh")"
. "$root/scripts/oracle/lib.sh"
greedy="$(build_oracle_program greedy)"
echo "== building the test" >&2
(cd "$root" && cargo test --release -p wasm-chord-cpu --test golden_generate --no-run 2>&1 | tail -n 1 >&2)

summary=()
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for shape in "${shapes[@]}"; do
  t0=$SECONDS
  echo "== $shape: model files" >&2
  for t in "${types[@]}"; do python3 "$gen" --shape "$shape" --type "$t" > /dev/null; done
  tgen=$((SECONDS - t0))
  prompts="$(python3 "$gen" --shape "$shape" --prompts)"
  for t in "${types[@]}"; do
    t1=$SECONDS
    model="$(python3 "$gen" --shape "$shape" --type "$t" --print-path)"
    golden="$root/tests/golden/generate/real-$shape-${t,,}.jsonl"
    if [ $regen = 1 ] || [ ! -f "$golden" ]; then
      echo "== $shape $t: llama.cpp goldens (prompts $prompts)" >&2
      if ! python3 "$root/scripts/oracle/make-generate-goldens.py" --greedy "$greedy" --bin "$bin" \
        --model "$model" --prompts "$prompts" --out "$golden"; then
        summary+=("$shape $t: FAIL (no goldens: llama.cpp step failed) | ${tgen}s files")
        continue
      fi
    fi
    tgold=$((SECONDS - t1))
    t2=$SECONDS
    echo "== $shape $t: our CPU backend" >&2
    WASM_CHORD_REAL_SHAPES="$shape:$t" cargo test --release -p wasm-chord-cpu --test golden_generate \
      real_shapes -- --ignored --nocapture > "$log" 2>&1 || true
    grep -E '^RESULT|panicked|error' "$log" >&2 || tail -n 20 "$log" >&2
    result="$(grep -E '^RESULT' "$log" | sed 's/^RESULT //' || true)"
    [ -n "$result" ] || result="$shape $t: FAIL (test did not run: $(grep -m1 -E 'panicked|error' "$log" || echo '?'))"
    summary+=("$result | ${tgen}s files, ${tgold}s goldens, $((SECONDS - t2))s ours")
  done
  if [ $clean = 1 ]; then
    for t in "${types[@]}"; do rm -f "$(python3 "$gen" --shape "$shape" --type "$t" --print-path)"; done
  fi
done
echo
echo "== summary (files: F16 + llama-quantize for both types, counted once per shape)"
status=0
for line in "${summary[@]}"; do
  echo "$line"
  case "$line" in *": PASS "*) ;; *) status=1 ;; esac
done
exit $status
