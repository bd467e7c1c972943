#!/usr/bin/env bash
# `npm run bench`: our engine and its peer side by side, in one run, on the same model files and
# thread count: prompt processing (pp) and generation (tg) tokens/s and their ratios.
#   native:  `wasm-chord bench` vs llama.cpp's `llama-bench`
#   browser: the npm package vs wllama in one headless Chromium (scripts/bench-browser.mjs)
# on Gemma 3 270M Q4_K_M and a TinyLlama-1.1B-shaped Q4_K_M with random weights.
#
#   npm run bench                          # both models, pp128 / tg64, 2 threads, 3 reps
#   THREADS=4 REPS=5 npm run bench
#   MODEL=/path/model.gguf npm run bench   # one model only
#   BROWSER=0 npm run bench                # native half only
#
# llama.cpp is built from the llama-cpp-python sdist on first use (~20 min on 2 cores); the
# TinyLlama-shaped file is generated once (~5 min) into ~/.cache/wasm-chord/models/bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="${THREADS:-2}"
reps="${REPS:-3}"
n_prompt="${N_PROMPT:-128}"
n_gen="${N_GEN:-64}"

bash scripts/setup.sh
cargo build --release -p wasm-chord-cli >&2
llama_bin="$(bash scripts/oracle/build-llama-cpp.sh)"
if [ -n "${MODEL:-}" ]; then
  models=("$MODEL")
else
  models=("$(bash scripts/test-model.sh)" "$(python3 scripts/bench-browser/make_tinyllama.py)")
fi
target_dir="${CARGO_TARGET_DIR:-target}"

native_bench() { # $1 = model file
local model="$1"
local load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
local ours theirs load_after cpu
echo "== native: $model"
ours="$("$target_dir/release/wasm-chord" bench -m "$model" -p "$n_prompt" -n "$n_gen" -r "$reps" -t "$threads" --json)"
theirs="$("$llama_bin/llama-bench" -m "$model" -p "$n_prompt" -n "$n_gen" -r "$reps" -t "$threads" -o json 2>/dev/null)"

load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
cpu="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo '?')"

python3 - "$ours" "$theirs" "$model" "$threads" "$cpu" "$load_before" "$load_after" <<'PY'
import json, sys
ours, theirs, model, threads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
cpu, load_before, load_after = sys.argv[5], sys.argv[6], sys.argv[7]
ref = {("pp" if r["n_gen"] == 0 else "tg"): r["avg_ts"] for r in theirs}
rows = [("pp%d" % ours["n_prompt"], ours["pp_tps"], ref.get("pp", 0.0)),
        ("tg%d" % ours["n_gen"], ours["tg_tps"], ref.get("tg", 0.0))]
print(f"model: {model}\nthreads: {threads}\ncpu: {cpu}")
# A busy machine skews both sides (llama.cpp's spinning threads suffer most): say how busy it was.
print(f"load average before / after: {load_before} / {load_after}\n")
print(f"| test   | wasm-chord tok/s | llama.cpp tok/s | ratio |")
print(f"|--------|-----------------:|----------------:|------:|")
for name, a, b in rows:
    print(f"| {name:6} | {a:16.2f} | {b:15.2f} | {a / b if b else float('nan'):5.2f} |")
PY
}

for model in "${models[@]}"; do
  native_bench "$model"
done

if [ "${BROWSER:-1}" != 0 ]; then
  echo "== browser: the npm package vs wllama, one headless Chromium"
  node scripts/bench-browser.mjs --threads "$threads" -r "$reps" -p "$n_prompt" -n "$n_gen" \
    ${MODEL:+--model "$MODEL"}
fi
