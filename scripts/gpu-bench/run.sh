#!/bin/bash
# Runs ON the GPU machine (device tool), from the repository root, with .devcarry and .gl carried
# (scripts/gpu-bench/prepare.sh makes them here). In one call of under 10 minutes: llama.cpp's
# CUDA build (in the background), the TinyLlama-shaped Q4_K_M file, wasm-chord's GPU bench and
# per-kernel profile, then llama-bench on the same card and file. Results also land in $OUT.
for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig
export VK_DRIVER_FILES=${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
mkdir -p /tmp/llama && tar xzf .devcarry/llama-src.tgz -C /tmp/llama
(cd /tmp/llama && setsid nohup bash -c 'cmake -B build -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF -DCMAKE_BUILD_TYPE=Release > /tmp/llama-build.log 2>&1 && cmake --build build -j 14 --target llama-bench >> /tmp/llama-build.log 2>&1; echo BUILD-EXIT $? >> /tmp/llama-build.log' > /dev/null 2>&1 < /dev/null &)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .devcarry/*.whl && export PYTHONPATH=/tmp/site
chmod +x .devcarry/llama-quantize .devcarry/wasm-chord
M=/tmp/wc/models/bench/tinyllama-1.1b-random-Q4_K_M.gguf
[ -f $M ] || WASM_CHORD_CACHE=/tmp/wc LLAMA_QUANTIZE=$PWD/.devcarry/llama-quantize python3 scripts/bench-browser/make_tinyllama.py > /dev/null
./.devcarry/wasm-chord bench -m $M --backend gpu -p 128 -n 128 -r 3 | tee $OUT/wasm-chord-bench.txt
WASM_CHORD_GPU_PROFILE=1 ./.devcarry/wasm-chord bench -m $M --backend gpu -p 0 -n 32 -r 1 2> $OUT/profile-tg.txt; cat $OUT/profile-tg.txt
WASM_CHORD_GPU_PROFILE=1 ./.devcarry/wasm-chord bench -m $M --backend gpu -p 128 -n 0 -r 1 2> $OUT/profile-pp.txt; cat $OUT/profile-pp.txt
while ! grep -q BUILD-EXIT /tmp/llama-build.log 2>/dev/null && [ $SECONDS -lt 560 ]; do sleep 5; done
tail -1 /tmp/llama-build.log
/tmp/llama/build/bin/llama-bench -m $M -p 128 -n 128 -r 3 -fa 1 -ngl 99 | tee $OUT/llama-bench.txt
./.devcarry/wasm-chord bench -m $M --backend gpu -p 128 -n 128 -r 3 | tee -a $OUT/wasm-chord-bench.txt
