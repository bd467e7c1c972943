#!/bin/bash
# The CUDA backend's checks and benchmarks on a GPU machine (the device tool: H100/H200, CUDA 13,
# Python, no Rust, no network). Two halves:
#
#   [NO_LLAMA=1] bash scripts/cuda-test.sh prepare
#                                            HERE: builds what the GPU machine cannot (the release
#                                            CLI, the kernel test binaries, llama.cpp's source and
#                                            quantizer, gguf-py) into .devcarry/ (git-ignored)
#   bash scripts/cuda-test.sh PHASE...       THERE, from the repository root, carrying .devcarry
#
# Phases (in one call, in this order; state is kept in /tmp/cudatest while the machine is warm):
#   start    finds NVRTC/cuBLAS (pip's nvidia-* wheels or the toolkit), starts llama.cpp's CUDA
#            build in the background, makes the TinyLlama-shaped and Gemma-3-270M-shaped models
#   kernels  the kernel tests (rust/cuda/tests/*.rs) with WASM_CHORD_REQUIRE_CUDA=1
#   kl       perplexity --kl-base against the CPU on both models: prompt batches (-b 512, GEMMs),
#            a few rows (-b 4, matvecs) and one token at a time (-b 1: decode, CUDA graphs);
#            greedy text with graphs on and off must be identical
#   bench    wasm-chord bench --backend cuda -p 512 -n 128 -r 3 and per-kernel profiles
#   peers    waits for the llama.cpp build, then llama-bench -fa 1 -p 512 -n 128 -r 3 -ngl 99
#   bigstart starts making the Llama-3-8B-shaped Q4_K_M in the background (~16 GB of F16 first)
#   big      waits for it, then benches it with both engines; and the card's copy bandwidth
#   archs    KL against the CPU on every small random test model (tests/models/make_llama.py:
#            llama spm/bpe, qwen2, qwen3, phi3, phi2, gemma, gemma2, mixtral, qwen3moe, qwen2moe; f32 and q8_0) at
#            -b 512, -b 4 and -b 1, and greedy text with graphs on/off; one line each in summary.txt
#   exactref the q8_0 test models' CPU and CUDA runs against the exact result of their weights
#            (the CPU's F32 run of a dequantized twin): who rounds more, not only how far apart
#   shapes   KL against the CPU, as archs, on real models' shapes with random weights
#            (make_tinyllama.py, Q8_0 quantized by gguf-py: no llama.cpp needed); SHAPES picks
#            them (default phi-3.5-mini: LongRoPE factors and attn_factor, 4 of 32 layers)
#   diag     the two old q8_0 bug cases under each launch knob, and compute-sanitizer memcheck
#   ab       the previous CLI (.devcarry/wasm-chord-old, by hand) against this one, and this one
#            with the old zeroing of new buffers (WASM_CHORD_CUDA_LEGACY_MEMSET=1)
#   ncu      Nsight Compute: every kernel of a few decode steps of both engines on TinyLlama
#            (time, DRAM bytes, grid), summed per kernel; and the full sections of a few of ours
#   ncupeer  the same for llama.cpp (after its build)
#   mvsplit  decode with each matvec threads-per-row split (WASM_CHORD_CUDA_MV_THREADS), and
#            with programmatic dependent launch off (WASM_CHORD_CUDA_PDL=0)
# Results: $OUT/{env,kernels,kl,bench,peers,big,ncu,mvsplit,summary,diag,ab}.txt (archs: kl.txt); the deadline is $BUDGET s (default 570)
# from this script's start.
set -u
cd "$(dirname "$0")/.."
T0=$(date +%s)
BUDGET=${BUDGET:-570}
W=/tmp/cudatest
OUT=${OUT:-$W/out}
BIN=.devcarry/wasm-chord
TEXT=tests/data/perplexity.txt
TINY=$W/models/bench/tinyllama-1.1b-random-Q4_K_M.gguf
GEMMA=$W/models/bench/gemma3-270m-random-Q4_K_M.gguf
BIG=$W/models/bench/llama3-8b-random-Q4_K_M.gguf
SRC=$W/llama

elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "[cuda-test +$(elapsed)s] $*"; }
left() { echo $(( BUDGET - $(elapsed) )); }

prepare() {
  if [ "${NO_LLAMA:-0}" = 1 ]; then
    # only what the kernels, archs and diag phases need: no llama.cpp (a ~20 min build here)
    # and so no TinyLlama/Gemma-3-shaped models (start, kl, bench, peers, big, ncu)
    local exclude
    exclude="$(git rev-parse --git-path info/exclude)"
    grep -qx "/.devcarry/" "$exclude" 2>/dev/null || echo "/.devcarry/" >> "$exclude"
    mkdir -p .devcarry
    cargo build --release -p wasm-chord-cli
    strip -o .devcarry/wasm-chord "${CARGO_TARGET_DIR:-target}/release/wasm-chord"
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d .devcarry gguf==0.19.0
  else
    CUDA_ONLY=1 bash scripts/gpu-bench/prepare.sh
  fi
  local t
  # the test executables cargo built (one per file of rust/cuda/tests)
  for t in kernels compile; do
    local exe
    exe=$(cargo test -p wasm-chord-cuda --release --test $t --no-run --message-format=json 2>/dev/null |
      python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable"): print(m["executable"])' | tail -1)
    [ -x "$exe" ] || { echo "prepare: no test binary for $t" >&2; exit 1; }
    strip -o .devcarry/cuda-test-$t "$exe"
  done
  du -sh .devcarry
  du -sc .devcarry | tail -1 | awk '{ if ($1 > 56 * 1024) { print "prepare: over 56 MiB carried" > "/dev/stderr"; exit 1 } }'
}

# NVRTC and cuBLAS: the toolkit's, else pip's nvidia-cuda-nvrtc / nvidia-cublas wheels.
cuda_libs() {
  local roots="/usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib"
  roots="$roots $(python3 -c 'import site; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null)"
  for d in $roots; do
    [ -d "$d" ] && find "$d" -maxdepth 5 \( -name 'libnvrtc.so.13*' -o -name 'libcublas.so.13*' \) 2>/dev/null
  done | xargs -r -n1 dirname | sort -u | paste -sd:
}

setup() {
  mkdir -p "$W" "$OUT"
  chmod +x .devcarry/wasm-chord .devcarry/cuda-test-* .devcarry/llama-quantize 2>/dev/null
  export LD_LIBRARY_PATH="$(cuda_libs)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export WASM_CHORD_CACHE=$W
  [ -f $W/.setup ] && return
  # gguf-py for the test models (make_llama.py; numpy is there)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devcarry/*.whl
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
    echo "cores: $(nproc); NVRTC/cuBLAS from: $LD_LIBRARY_PATH"
  } | tee -a "$OUT/env.txt"
  touch $W/.setup
}

phase_start() {
  setup
  if [ ! -f $SRC/.extracted ]; then
    mkdir -p $SRC && tar xzf .devcarry/llama-src.tgz -C $SRC && touch $SRC/.extracted
  fi
  if [ ! -f $W/cuda.exit ] && ! { [ -f $W/cuda.pid ] && kill -0 "$(cat $W/cuda.pid)" 2>/dev/null; }; then
    local common="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release"
    (cd $SRC && setsid nohup nice -n 10 bash -c "echo \$\$ > $W/cuda.pid; s=\$(date +%s);
       cmake -B build-cuda $common -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 &&
       cmake --build build-cuda -j 12 --target llama-bench; r=\$?;
       echo \"BUILD-EXIT \$r after \$(( \$(date +%s) - s )) s\"; echo \$r > $W/cuda.exit" \
       > $W/cuda.log 2>&1 < /dev/null &)
    say "llama.cpp CUDA build started ($W/cuda.log)"
  fi
  make_model scripts/bench-browser/make_tinyllama.py $TINY
  make_model scripts/bench-browser/make_gemma3.py $GEMMA
}

# make_model SCRIPT FILE [ARGS]: the random-weight model, once per machine.
make_model() {
  local script=$1 file=$2
  shift 2
  [ -f "$file" ] && return
  [ -f "$script" ] || { say "$script is missing: $(basename $file) not made"; return 1; }
  say "making $file"
  PYTHONPATH=/tmp/site LLAMA_QUANTIZE=$PWD/.devcarry/llama-quantize \
    python3 "$script" "$@" > $W/model.log 2>&1 || { tail -5 $W/model.log; return 1; }
  say "made $(du -h $file | cut -f1) $file"
}

# TESTS picks the test binaries (default both; "kernels" alone skips the ~1 min NVRTC compile
# for two architectures that the kernel tests' own compile already covers for this card).
phase_kernels() {
  setup
  local t
  for t in ${TESTS:-compile kernels}; do
    say "test $t" | tee -a "$OUT/kernels.txt"
    WASM_CHORD_REQUIRE_CUDA=1 .devcarry/cuda-test-$t --nocapture --test-threads 4 >> "$OUT/kernels.txt" 2>&1
    echo "exit $?" >> "$OUT/kernels.txt"
  done
  grep -E "^test |test result|panicked|exit " "$OUT/kernels.txt"
  grep -A4 "panicked" "$OUT/kernels.txt" | head -40
}

# kl_run FILE LABEL BASE BACKEND BATCH: perplexity of FILE on BACKEND at -b BATCH with --kl-base
# BASE; the details go to kl.txt, one line (model, backend, batch, mean KL, top-1) to summary.txt.
kl_run() {
  local m=$1 label=$2 base=$3 be=$4 b=$5 r
  say "kl $label: $be -b $b" >> "$OUT/kl.txt"
  r=$($BIN perplexity -m $m -f $TEXT -c 512 --chunks ${KL_CHUNKS:-4} -b $b --backend $be --kl-base $base 2>&1)
  echo "$r" | grep -A6 "^KL divergence" >> "$OUT/kl.txt"
  printf '%-18s %-4s -b %-3s %s\n' "$label" "$be" "$b" "$(echo "$r" | awk '
    /mean KL/ { kl = $NF == "" ? "?" : $(NF-2) } /top-1 agreement/ { t = $4 " %" }
    END { if (kl == "") print "FAILED"; else print "KL " kl "  top-1 " t }')" | tee -a "$OUT/summary.txt"
  echo "$r" | grep -m2 -i "error" | tee -a "$OUT/summary.txt"
}

# kl_model FILE LABEL [floor]: CPU base once (-b 512), then the CUDA backend at three batch
# sizes; with "floor", also the CPU itself at -b 1 against that base (the spread the CPU's own
# batch shapes make, the floor any backend is judged against).
kl_model() {
  local m=$1 label=$2 floor=${3:-} base=$W/$2.logits
  [ -f "$m" ] || { say "kl: $m missing"; return; }
  local args="-m $m -f $TEXT -c 512 --chunks ${KL_CHUNKS:-4}"
  if [ ! -f $base ]; then
    say "kl $label: CPU base" | tee -a "$OUT/kl.txt"
    $BIN perplexity $args --backend cpu --save-logits $base 2>&1 | tail -3 | tee -a "$OUT/kl.txt"
  fi
  local be
  for be in "cuda 512" "cuda 4" "cuda 1" ${floor:+"cpu 1"}; do
    kl_run "$m" "$label" $base $be
  done
  # graphs change how the step is launched, never what it computes
  local on off run="run -m $m -p The_capital_of_France_is -n 48 --temp 0 --backend cuda --ignore-eos"
  on=$($BIN $run 2>/dev/null)
  off=$(WASM_CHORD_CUDA_GRAPHS=0 $BIN $run 2>/dev/null)
  if [ -n "$on" ] && [ "$on" = "$off" ]; then
    echo "$label: greedy text with and without CUDA graphs: identical" | tee -a "$OUT/kl.txt" >> "$OUT/summary.txt"
  else
    { echo "$label: greedy text DIFFERS with graphs on/off"; echo "on:  $on"; echo "off: $off"; } | tee -a "$OUT/kl.txt" >> "$OUT/summary.txt"
  fi
}

# Every architecture of the small random test models, f32 and q8_0.
ARCHS_ALL="llama-spm-f32 llama-spm-q8_0 llama-bpe-f32 llama-bpe-q8_0 qwen2-bpe-f32 qwen2-bpe-q8_0
  qwen3-bpe-f32 qwen3-bpe-q8_0 phi3-spm-f32 phi3-spm-q8_0 phi2-bpe-f32 phi2-bpe-q8_0
  gemma-spm-f32 gemma-spm-q8_0 gemma2-spm-f32 gemma2-spm-q8_0 mixtral-spm-f32 mixtral-spm-q8_0 qwen3moe-bpe-f32 qwen3moe-bpe-q8_0
  qwen2moe-bpe-f32 qwen2moe-bpe-q8_0"

test_models() {
  local missing=() m
  for m in "$@"; do [ -f $W/models/test/$m.gguf ] || missing+=("$m"); done
  [ ${#missing[@]} = 0 ] ||
    PYTHONPATH=/tmp/site python3 tests/models/make_llama.py --out $W/models/test --only "${missing[@]}" > /dev/null
}

phase_archs() {
  setup
  local m
  test_models ${ARCH_MODELS:-$ARCHS_ALL}
  for m in ${ARCH_MODELS:-$ARCHS_ALL}; do
    [ "$(left)" -le 30 ] && { say "archs: out of time before $m" | tee -a "$OUT/summary.txt"; break; }
    kl_model $W/models/test/$m.gguf $m
  done
}

# Which backend is nearer the exact result of a quantized model? The base is the CPU's F32 run
# of the model's dequantized twin (scripts/oracle/dequantize-gguf.py), and both the CPU and CUDA
# run the quantized file against it: a backend whose KL to the exact result is no larger than
# the CPU's rounds no worse, whatever their KL to each other. EXACT_MODELS picks the models.
phase_exactref() {
  setup
  local m twin base be
  test_models ${EXACT_MODELS:-qwen3-bpe-q8_0 mixtral-spm-q8_0 qwen3moe-bpe-q8_0 gemma2-spm-q8_0}
  for m in ${EXACT_MODELS:-qwen3-bpe-q8_0 mixtral-spm-q8_0 qwen3moe-bpe-q8_0 gemma2-spm-q8_0}; do
    [ "$(left)" -le 30 ] && { say "exactref: out of time before $m" | tee -a "$OUT/summary.txt"; break; }
    twin=$W/models/test/$m-f32twin.gguf base=$W/$m-exact.logits
    [ -f $twin ] || PYTHONPATH=/tmp/site python3 scripts/oracle/dequantize-gguf.py $W/models/test/$m.gguf $twin
    [ -f $base ] || $BIN perplexity -m $twin -f $TEXT -c 512 --chunks ${KL_CHUNKS:-4} --backend cpu \
      --save-logits $base > /dev/null 2>&1
    for be in "cpu 512" "cpu 1" "cuda 512" "cuda 1"; do
      kl_run $W/models/test/$m.gguf "$m~exact" $base $be
    done
  done
}

phase_shapes() {
  setup
  local s m
  for s in ${SHAPES:-phi-3.5-mini}; do
    [ "$(left)" -le 60 ] && { say "shapes: out of time before $s" | tee -a "$OUT/summary.txt"; break; }
    m=$(PYTHONPATH=/tmp/site python3 scripts/bench-browser/make_tinyllama.py --shape $s --type Q8_0 --quantizer gguf-py)
    kl_model $m real-$s-q8_0
  done
}

# The two q8_0 bugs of the 2026-12-07 run (gemma at -b 1, gemma2 at -b 512) under each knob
# that changes how the work is launched: graphs off, PDL off, no split-K attention, a wait
# after every flush; then compute-sanitizer's memcheck on a short run of each.
phase_diag() {
  setup
  test_models gemma-spm-q8_0 gemma2-spm-q8_0
  local m b knob r
  for mb in "gemma-spm-q8_0 1" "gemma2-spm-q8_0 512"; do
    set -- $mb
    m=$1 b=$2
    [ -f $W/$m.logits ] || $BIN perplexity -m $W/models/test/$m.gguf -f $TEXT -c 512 --chunks 4 \
      --backend cpu --save-logits $W/$m.logits > /dev/null 2>&1
    for knob in WASM_CHORD_CUDA_GRAPHS=1 WASM_CHORD_CUDA_GRAPHS=0 WASM_CHORD_CUDA_PDL=0 \
      WASM_CHORD_CUDA_ATT_SPLITS=1 WASM_CHORD_CUDA_SYNC=1; do
      r=$(env $knob $BIN perplexity -m $W/models/test/$m.gguf -f $TEXT -c 512 --chunks 4 -b $b \
        --backend cuda --kl-base $W/$m.logits 2>&1 | grep -E "mean KL|top-1" | tr -s ' ' | paste -sd' ')
      echo "diag $m -b $b $knob: $r" | tee -a "$OUT/diag.txt"
    done
  done
  local cs
  cs=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null | head -1)
  [ -n "$cs" ] || { echo "no compute-sanitizer" | tee -a "$OUT/diag.txt"; return; }
  for mb in "gemma-spm-q8_0 1" "gemma2-spm-q8_0 512"; do
    set -- $mb
    timeout 120 "$cs" --tool memcheck --print-limit 5 $BIN perplexity -m $W/models/test/$1.gguf \
      -f $TEXT -c 512 --chunks 1 -b $2 --backend cuda > $W/cs-$1.txt 2>&1
    echo "memcheck $1 -b $2 (exit $?): $(grep -E "ERROR SUMMARY|Invalid|out of bounds" $W/cs-$1.txt | head -4)" | tee -a "$OUT/diag.txt"
  done
}

# KL_MODELS picks the models (default both); FLOOR= skips the CPU's own -b 1 run (~2 min).
phase_kl() {
  setup
  case " ${KL_MODELS:-tinyllama gemma3} " in *" tinyllama "*) kl_model $TINY tinyllama ;; esac
  case " ${KL_MODELS:-tinyllama gemma3} " in *" gemma3 "*) kl_model $GEMMA gemma3 ${FLOOR-floor} ;; esac
}

# bench_ours FILE LABEL FILE_OUT
bench_ours() {
  local m=$1 label=$2 out=$3
  [ -f "$m" ] || return
  say "ours $label" | tee -a "$out"
  $BIN bench -m $m --backend cuda -p 512 -n 128 -r 3 2>&1 | tee -a "$out"
  {
    echo "== $label: WASM_CHORD_CUDA_PROFILE=1 bench -p 0 -n 32 (decode)"
    WASM_CHORD_CUDA_PROFILE=1 $BIN bench -m $m --backend cuda -p 0 -n 32 -r 1 2>&1
    echo "== $label: WASM_CHORD_CUDA_PROFILE=1 bench -p 512 -n 0 (prefill; cuBLAS GEMMs are not in it)"
    WASM_CHORD_CUDA_PROFILE=1 $BIN bench -m $m --backend cuda -p 512 -n 0 -r 1 2>&1
  } >> "$out"
}

phase_bench() {
  setup
  bench_ours $TINY tinyllama "$OUT/bench.txt"
  bench_ours $GEMMA gemma3 "$OUT/bench.txt"
  grep -A12 "decode)" "$OUT/bench.txt" | head -40
}

wait_build() {
  while [ ! -f $W/cuda.exit ]; do
    [ "$(left)" -le "${1:-60}" ] && { say "llama.cpp build not done yet"; return 1; }
    sleep 5
  done
  [ "$(cat $W/cuda.exit)" = 0 ] || { tail -20 $W/cuda.log; return 1; }
}

bench_peer() {
  local m=$1 out=$2
  [ -f "$m" ] || return
  echo "== llama.cpp CUDA ($(tail -1 $W/cuda.log)): $m" | tee -a "$out"
  $SRC/build-cuda/bin/llama-bench -m $m -fa 1 -p 512 -n 128 -r 3 -ngl 99 2>&1 | grep -v '^$' | tee -a "$out"
}

phase_peers() {
  setup
  wait_build 60 || return
  bench_peer $TINY "$OUT/peers.txt"
  bench_peer $GEMMA "$OUT/peers.txt"
}

phase_bigstart() {
  setup
  [ -f $BIG ] || [ -f $W/big.pid ] && return
  (setsid nohup bash -c "echo \$\$ > $W/big.pid; PYTHONPATH=/tmp/site LLAMA_QUANTIZE=$PWD/.devcarry/llama-quantize \
     python3 scripts/bench-browser/make_tinyllama.py --shape llama3-8b; echo \$? > $W/big.exit" \
     > $W/big.log 2>&1 < /dev/null &)
  say "making $BIG in the background ($W/big.log)"
}

phase_big() {
  setup
  python3 - <<'EOF' 2>&1 | tee -a "$OUT/big.txt"
import torch
n = 4 << 30
a = torch.empty(n, dtype=torch.uint8, device="cuda"); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
torch.cuda.synchronize()
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(10): b.copy_(a)
e.record(); torch.cuda.synchronize()
print(f"device copy bandwidth (read + write): {2 * n * 10 / (s.elapsed_time(e) / 1e3) / 1e9:.0f} GB/s")
EOF
  phase_bigstart
  while [ ! -f $W/big.exit ]; do
    [ "$(left)" -le 120 ] && { say "the 8B model is not ready yet"; tail -2 $W/big.log; return 1; }
    sleep 5
  done
  [ -f $BIG ] || { tail -5 $W/big.log; return 1; }
  bench_ours $BIG llama3-8b "$OUT/big.txt"
  wait_build 40 && bench_peer $BIG "$OUT/big.txt"
}

ncu_bin() {
  command -v ncu || ls /usr/local/cuda/bin/ncu /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1
}

# ncu_summary CSV: per kernel name (templates cut) and launch shape: launches, mean µs, MB read
# from DRAM, the share of the total time.
ncu_summary() {
  python3 - "$1" <<'EOF'
import csv, sys, collections
rows = {}
with open(sys.argv[1]) as f:
    lines = [l for l in f if l.startswith('"')]
for r in csv.DictReader(lines):
    k = rows.setdefault(r["ID"], {"name": r["Kernel Name"].replace("void ", "").split("(")[0].split("<")[0],
                                   "grid": r.get("Grid Size", ""), "block": r.get("Block Size", "")})
    v = r["Metric Value"].replace(",", "")
    try: v = float(v)
    except ValueError: continue
    unit = r["Metric Unit"]
    if r["Metric Name"] == "gpu__time_duration.sum":
        k["us"] = v / 1e3 if unit in ("ns", "nsecond") else v if unit in ("us", "usecond") else v * 1e3
    elif r["Metric Name"] == "dram__bytes_read.sum":
        k["mb"] = v / {"byte": 1e6, "Kbyte": 1e3, "KB": 1e3, "Mbyte": 1, "MB": 1, "Gbyte": 1e-3, "GB": 1e-3}.get(unit, 1e6)
g = collections.defaultdict(lambda: [0, 0.0, 0.0])
for k in rows.values():
    e = g[(k["name"], k["grid"], k["block"])]
    e[0] += 1; e[1] += k.get("us", 0); e[2] += k.get("mb", 0)
total = sum(e[1] for e in g.values()) or 1
print(f"{len(rows)} kernels, {total:.0f} µs in all")
print(f"{'kernel':40} {'grid':>16} {'block':>12} {'n':>5} {'µs each':>8} {'MB each':>8} {'GB/s':>6} {'share':>6}")
for (name, grid, block), (n, us, mb) in sorted(g.items(), key=lambda x: -x[1][1]):
    print(f"{name[:40]:40} {grid:>16} {block:>12} {n:5} {us/n:8.2f} {mb/n:8.2f} {mb/us*1e3 if us else 0:6.0f} {100*us/total:5.1f}%")
EOF
}

# ncu_run LABEL SKIP COUNT CMD...: times COUNT kernels after the first SKIP.
ncu_run() {
  local label=$1 skip=$2 count=$3 ncu
  shift 3
  ncu=$(ncu_bin) || { say "no ncu"; return 1; }
  say "ncu $label" | tee -a "$OUT/ncu.txt"
  timeout 150 "$ncu" --clock-control none --cache-control none --csv --launch-skip $skip --launch-count $count \
    --metrics gpu__time_duration.sum,dram__bytes_read.sum "$@" > $W/ncu-$label.csv 2> $W/ncu-$label.err
  echo "exit $?" >> "$OUT/ncu.txt"
  ncu_summary $W/ncu-$label.csv 2>&1 | tee -a "$OUT/ncu.txt" | head -25
  tail -3 $W/ncu-$label.err >> "$OUT/ncu.txt"
}

# ncu_sections REGEX SKIP COUNT SECTIONS: the full sections of a few of our kernels.
ncu_sections() {
  local re=$1 skip=$2 count=$3 ncu s args=()
  ncu=$(ncu_bin) || return 1
  for s in $4; do args+=(--section $s); done
  echo "== ours: sections of $re" >> "$OUT/ncu.txt"
  timeout 100 "$ncu" --clock-control none --cache-control none -k "regex:$re" --launch-skip $skip \
    --launch-count $count "${args[@]}" $BIN bench -m $TINY --backend cuda -p 0 -n 8 -r 1 >> "$OUT/ncu.txt" 2>&1
}

phase_ncu() {
  setup
  # a decode step is ~223 launches; skip the load, the prompt and the first steps
  ncu_run ours 1500 446 $BIN bench -m $TINY --backend cuda -p 0 -n 16 -r 1
  ncu_sections matvec 400 5 "SpeedOfLight MemoryWorkloadAnalysis Occupancy WarpStateStats LaunchStats"
  ncu_sections "rms_norm|attention" 200 4 "SpeedOfLight WarpStateStats LaunchStats"
}

phase_ncupeer() {
  setup
  wait_build 60 || return
  ncu_run llama.cpp 1500 700 $SRC/build-cuda/bin/llama-bench -m $TINY -fa 1 -p 0 -n 16 -r 1 -ngl 99
}

# Decode speed with each threads-per-row split of the matvecs, and without programmatic
# dependent launch.
phase_mvsplit() {
  setup
  local t
  for t in auto 32 64 128 "auto WASM_CHORD_CUDA_PDL=0"; do
    echo "== WASM_CHORD_CUDA_MV_THREADS=$t" | tee -a "$OUT/mvsplit.txt"
    env WASM_CHORD_CUDA_MV_THREADS=$t $BIN bench -m $TINY --backend cuda -p 0 -n 128 -r 3 2>&1 |
      grep -E "tg|decode" | tee -a "$OUT/mvsplit.txt"
  done
}

# Attribution of the old q8_0 bugs: the previous CLI (.devcarry/wasm-chord-old, put there by
# hand), this one, and this one zeroing new buffers on the legacy stream again
# (WASM_CHORD_CUDA_LEGACY_MEMSET=1), three times each.
phase_ab() {
  setup
  test_models gemma-spm-q8_0 gemma2-spm-q8_0
  local mb m b v i r bin
  for mb in "gemma-spm-q8_0 1" "gemma2-spm-q8_0 512"; do
    set -- $mb
    m=$1 b=$2
    [ -f $W/$m.logits ] || $BIN perplexity -m $W/models/test/$m.gguf -f $TEXT -c 512 --chunks 4 \
      --backend cpu --save-logits $W/$m.logits > /dev/null 2>&1
    for v in old new legacy; do
      bin=$BIN; [ $v = old ] && bin=.devcarry/wasm-chord-old
      [ -x $bin ] || continue
      for i in 1 2 3; do
        r=$(env WASM_CHORD_CUDA_LEGACY_MEMSET=$([ $v = legacy ] && echo 1 || echo 0) $bin perplexity \
          -m $W/models/test/$m.gguf -f $TEXT -c 512 --chunks 4 -b $b --backend cuda \
          --kl-base $W/$m.logits 2>&1 | grep -E "mean KL|top-1" | awk '/mean KL/ { print $6 } /top-1/ { print $4 }' | paste -sd' ')
        echo "ab $m -b $b $v #$i: KL top-1 = $r" | tee -a "$OUT/ab.txt"
      done
    done
  done
}

if [ "${1:-}" = prepare ]; then
  prepare
  exit
fi
for phase in "$@"; do
  case $phase in
    start | kernels | kl | bench | peers | bigstart | big | ncu | ncupeer | mvsplit | archs | exactref | shapes | diag | ab) say "phase $phase"; phase_$phase ;;
    *) echo "cuda-test.sh: unknown phase '$phase' (prepare | start kernels kl bench peers bigstart big ncu ncupeer mvsplit archs exactref shapes diag ab)" >&2; exit 2 ;;
  esac
done
say "done"
[ -f "$OUT/summary.txt" ] && { echo "== summary"; cat "$OUT/summary.txt"; }
