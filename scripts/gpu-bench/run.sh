#!/bin/bash
# Runs ON the GPU machine (device tool), from the repository root, with .devcarry and .gl carried
# (scripts/gpu-bench/prepare.sh makes them here). See README.md for what each phase measures.
#
#   bash scripts/gpu-bench/run.sh [PHASE...]      PHASE: start ours peers sweep kl   (none: start ours peers)
#
#   start  unpacks the Vulkan loader and build tools, starts llama.cpp's CUDA and Vulkan builds in
#          the background (setsid: they outlive this call while the machine stays warm), makes the
#          TinyLlama-shaped Q4_K_M file. Idempotent: builds running or done are left alone.
#   ours   wasm-chord bench --backend gpu -p 512 -n 128 -r 3 and WASM_CHORD_GPU_PROFILE=1 decode
#          and prefill profiles, for .devcarry/wasm-chord-base ("base", if there) then
#          .devcarry/wasm-chord ("new"); then the wgpu microbenchmarks.
#   peers  waits for the builds (until $BUDGET s after this script started, less the benches'
#          time), then llama-bench -fa 1 -p 512 -n 128 -r 3 -ngl 99 with CUDA and with Vulkan.
#   sweep  the tuning knobs: WASM_CHORD_GPU_MATVEC shapes (decode), WASM_CHORD_GPU_MATMUL
#          tiled|wide (prefill), WASM_CHORD_GPU_CHECKED=1 (naga's bounds checks) — bench each.
#   kl     wasm-chord perplexity, CPU base then GPU with --kl-base (if the CLI has the command).
#
# Put all phases of one device call into ONE invocation (run.sh start peers): the deadline counts
# from this script's start (or from $CALL_T0, seconds since the epoch, if set).
# Results: $OUT/{env,ours-bench,ours-profile,microbench,peers,kl}.txt (≤ 8 files, flat).
set -u
cd "$(dirname "$0")/../.."
T0=${CALL_T0:-$(date +%s)}
BUDGET=${BUDGET:-570}      # seconds this call may use (the device tool stops a command at 600)
W=/tmp/gpubench            # builds, logs, state: kept while the machine stays warm
OUT=${OUT:-$W/out}
# The model and shapes (overridable for a check on a small machine, e.g. here on lavapipe with
# MODEL=gemma-3-270m-Q4_K_M.gguf BENCH="-p 32 -n 8 -r 1" PROFILES="-p 0 -n 8 -r 1;-p 32 -n 0 -r 1"
# GGML_VK_VISIBLE_DEVICES=0, which lets llama.cpp use a CPU Vulkan device)
M=${MODEL:-/tmp/wc/models/bench/tinyllama-1.1b-random-Q4_K_M.gguf}
BENCH=${BENCH:--p 512 -n 128 -r 3}
PROFILES=${PROFILES:--p 0 -n 32 -r 1;-p 512 -n 0 -r 1}
SRC=$W/llama               # llama.cpp source, shared by both builds
mkdir -p "$W" "$OUT"
. scripts/gpu-bench/vulkan-peer.sh

elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "[gpu-bench +$(elapsed)s] $*"; }

# Once per machine: the Vulkan loader into / (the only debs that go there), the NVIDIA ICD.
setup() {
  export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
  export __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json}
  chmod +x .devcarry/wasm-chord* .devcarry/microbench .devcarry/llama-quantize 2>/dev/null
  [ -f $W/.setup ] && return
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  {
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    echo "cores: $(nproc); $(uname -r)"
    ldconfig -p | grep libvulkan.so.1
  } | tee -a "$OUT/env.txt"
  touch $W/.setup
}

# The Vulkan build tools into /tmp/vkdev: trixie's glslc (cooperative-matrix and integer-dot
# extensions), or bookworm's with the layer-settings patch where trixie's does not run.
vk_tools() {
  [ -x /tmp/vkdev/glslc ] && return
  if vkdev_unpack .devcarry/vkdev/trixie /tmp/vkdev >$W/vkdev.log 2>&1; then
    echo "vulkan tools: trixie ($(head -1 $W/vkdev.log))"
  else
    echo "vulkan tools: trixie's glslc did not run ($(tail -1 $W/vkdev.log)); bookworm's instead"
    rm -rf /tmp/vkdev
    vkdev_unpack .devcarry/vkdev/bookworm /tmp/vkdev
  fi
  vk_patch_layer_settings "$SRC" /tmp/vkdev
}

# start_build NAME JOBS CMAKE_ARGS...: configure and build llama-bench in $SRC/build-NAME, in the
# background, niced (our benches keep priority); $W/NAME.log, $W/NAME.exit when it ends.
start_build() {
  local name=$1 jobs=$2
  shift 2
  if [ -f $W/$name.exit ] && [ "$(cat $W/$name.exit)" = 0 ]; then
    say "$name build: already done"; return
  fi
  if [ -f $W/$name.pid ] && kill -0 "$(cat $W/$name.pid)" 2>/dev/null; then
    say "$name build: still running"; return
  fi
  rm -f $W/$name.exit
  local common="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release"
  (cd "$SRC" && setsid nohup nice -n 10 bash -c "echo \$\$ > $W/$name.pid; s=\$(date +%s);
     cmake -B build-$name $common $* && cmake --build build-$name -j $jobs --target llama-bench;
     r=\$?; echo \"BUILD-EXIT \$r after \$(( \$(date +%s) - s )) s\"; echo \$r > $W/$name.exit" \
     > $W/$name.log 2>&1 < /dev/null &)
  say "$name build: started (log $W/$name.log)"
}

make_model() {
  [ -f $M ] && return
  say "making $M"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devcarry/*.whl
  PYTHONPATH=/tmp/site WASM_CHORD_CACHE=/tmp/wc LLAMA_QUANTIZE=$PWD/.devcarry/llama-quantize \
    python3 scripts/bench-browser/make_tinyllama.py > $W/model.log 2>&1 || { tail -5 $W/model.log; return 1; }
  say "model ready: $(du -h $M | cut -f1)"
}

phase_start() {
  setup
  if [ ! -f $SRC/.extracted ]; then
    mkdir -p $SRC && tar xzf .devcarry/llama-src.tgz -C $SRC && touch $SRC/.extracted
  fi
  vk_tools | tee -a "$OUT/env.txt"
  # CUDA: sm_90 only (H100/H200). Vulkan: each vulkan-shaders-gen run compiles with up to 16
  # glslc threads of its own, so few make jobs keep the cores busy.
  start_build cuda 16 -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
  start_build vulkan 6 $(vk_cmake_args /tmp/vkdev)
  make_model
}

# bench_ours LABEL BINARY: the end-to-end bench and the two per-kernel profiles of one CLI build.
bench_ours() {
  local label=$1 bin=$2
  say "ours ($label): $bin" | tee -a "$OUT/ours-bench.txt"
  "$bin" bench -m $M --backend gpu $BENCH 2>&1 | tee -a "$OUT/ours-bench.txt"
  local shape
  IFS=';' read -ra shapes <<< "$PROFILES"
  for shape in "${shapes[@]}"; do
    echo "== $label: WASM_CHORD_GPU_PROFILE=1 bench $shape" >> "$OUT/ours-profile.txt"
    WASM_CHORD_GPU_PROFILE=1 "$bin" bench -m $M --backend gpu $shape >> "$OUT/ours-profile.txt" 2>&1
  done
}

phase_ours() {
  setup
  make_model || return
  [ -x .devcarry/wasm-chord-base ] && bench_ours base .devcarry/wasm-chord-base
  bench_ours new .devcarry/wasm-chord
  cat "$OUT/ours-profile.txt"
  say "microbench"
  ./.devcarry/microbench 2>&1 | grep --line-buffered -v XDG_RUNTIME_DIR | tee "$OUT/microbench.txt"
}

# bench_peer NAME: llama-bench of build NAME on the file, with the device it found.
bench_peer() {
  local name=$1 b=$SRC/build-$1/bin/llama-bench
  {
    echo "== llama.cpp $name ($(tail -1 $W/$name.log))"
    [ $name = vulkan ] && { head -1 $W/vkdev.log; grep 'supported by glslc' $W/$name.log; }
    $b --list-devices 2>&1 | grep -v '^$'
    $b -m $M -fa 1 $BENCH -ngl 99 2>&1 | grep -v '^load_backend\|^$'
  } | tee -a "$OUT/peers.txt"
}

phase_peers() {
  setup
  [ -f $W/cuda.log ] || phase_start   # (a fresh machine: the builds start now)
  make_model || return
  # leave the two llama-benches (~1 min together, model loads included) inside the budget
  local deadline=$((BUDGET - 75)) name waiting
  while :; do
    waiting=""
    for name in cuda vulkan; do [ -f $W/$name.exit ] || waiting="$waiting $name"; done
    [ -z "$waiting" ] && break
    if [ "$(elapsed)" -ge $deadline ]; then
      say "deadline: still building:$waiting (run 'run.sh peers' again on the warm machine)"
      break
    fi
    sleep 5
  done
  for name in cuda vulkan; do
    if [ -f $W/$name.exit ] && [ "$(cat $W/$name.exit)" = 0 ]; then
      bench_peer $name
    else
      { echo "== llama.cpp $name: not built yet or failed"; tail -15 $W/$name.log; } | tee -a "$OUT/peers.txt"
    fi
  done
}

# The tuning knobs, one bench each on the new CLI: matvec_rows' workgroup shape (decode) and the
# prompt kernel (prefill). Results: $OUT/sweep.txt.
phase_sweep() {
  setup
  make_model || return
  local bin=.devcarry/wasm-chord shape kernel
  for shape in ${SWEEP_MATVEC:-32x2 64x2 64x4 128x4 128x8 256x8}; do
    echo "== WASM_CHORD_GPU_MATVEC=$shape bench -p 0 -n 64" | tee -a "$OUT/sweep.txt"
    WASM_CHORD_GPU_MATVEC=$shape "$bin" bench -m $M --backend gpu -p 0 -n 64 -r 2 2>&1 | grep tg | tee -a "$OUT/sweep.txt"
  done
  for kernel in tiled wide; do
    echo "== WASM_CHORD_GPU_MATMUL=$kernel bench -p 512 -n 0" | tee -a "$OUT/sweep.txt"
    WASM_CHORD_GPU_MATMUL=$kernel "$bin" bench -m $M --backend gpu -p 512 -n 0 -r 2 2>&1 | grep pp | tee -a "$OUT/sweep.txt"
  done
  echo "== WASM_CHORD_GPU_CHECKED=1 (naga's bounds checks back on) bench -p 512 -n 64" | tee -a "$OUT/sweep.txt"
  WASM_CHORD_GPU_CHECKED=1 "$bin" bench -m $M --backend gpu -p 512 -n 64 -r 2 2>&1 | grep 'pp\|tg' | tee -a "$OUT/sweep.txt"
}

phase_kl() {
  setup
  make_model || return
  local bin=.devcarry/wasm-chord text=tests/data/perplexity.txt base=$W/kl-base.logits
  if ! "$bin" perplexity --help 2>&1 | grep -q -- --kl-base || [ ! -f $text ]; then
    say "kl: this CLI has no 'perplexity --kl-base' (or $text is missing): skipped" | tee -a "$OUT/kl.txt"
    return
  fi
  local args="-m $M -f $text -c 512 --chunks ${KL_CHUNKS:-8}"
  if [ ! -f $base ]; then
    say "kl: CPU base" | tee -a "$OUT/kl.txt"
    "$bin" perplexity $args --backend cpu --save-logits $base 2>&1 | tee -a "$OUT/kl.txt"
  fi
  say "kl: GPU against the CPU base" | tee -a "$OUT/kl.txt"
  "$bin" perplexity $args --backend gpu --kl-base $base 2>&1 | tee -a "$OUT/kl.txt"
}

[ $# -eq 0 ] && set -- start ours peers
for phase in "$@"; do
  case $phase in
    start | ours | peers | sweep | kl) say "phase $phase"; phase_$phase ;;
    *) echo "run.sh: unknown phase '$phase' (start ours peers sweep kl)" >&2; exit 2 ;;
  esac
done
say "done"
