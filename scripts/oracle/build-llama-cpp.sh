#!/usr/bin/env bash
# Builds the llama.cpp reference tools (the "oracle") that produced the committed goldens.
#
#   scripts/oracle/build-llama-cpp.sh          -> prints the bin dir, e.g. ~/.cache/wasm-chord/llama.cpp/build/bin
#   WASM_CHORD_CACHE=/dir scripts/oracle/build-llama-cpp.sh
#
# Source: the llama.cpp tree vendored in the PyPI sdist of llama-cpp-python (pinned below), so the
# exact reference revision comes from a registry we can reach, not from a git host.
# Layout inside the cache dir:
#   sdist/llama_cpp_python-<ver>.tar.gz       the downloaded sdist (sha256-checked)
#   llama_cpp_python-<ver>/                   extracted sdist
#   llama.cpp -> llama_cpp_python-<ver>/vendor/llama.cpp
#   llama.cpp/build/bin/                      llama-completion llama-tokenize llama-bench llama-quantize
#
# Idempotent: each step is skipped when its output is already there; the final `cmake --build` is a
# no-op when nothing changed. Release, CPU only, static libs, no curl. The instruction set is pinned
# to AVX2/FMA/F16C (GGML_NATIVE off): the goldens are llama.cpp's AVX2 build, and a -march=native
# build on a machine with AVX-512 takes other kernels that round differently.
# A full build takes ~20 min on 2 cores.
set -euo pipefail

version=0.3.36
sdist_sha=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
targets=(llama-completion llama-tokenize llama-bench llama-quantize)

cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
sdist_dir="$cache/sdist"
tarball="$sdist_dir/llama_cpp_python-$version.tar.gz"
extracted="$cache/llama_cpp_python-$version"
src="$cache/llama.cpp"
build="$src/build"
jobs="${JOBS:-$(nproc)}"

mkdir -p "$sdist_dir"

# CMake (>= 3.21) for the sdist's metadata step and the build: a fresh machine has none, and
# PyPI's `cmake` wheel is reachable where Debian's may be older.
if ! command -v cmake >/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'cmake>=3.21' >&2
fi

# 1. sdist
if [ ! -f "$tarball" ]; then
  # pip prepares the sdist's metadata even for a download, which needs its build backend.
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore scikit-build-core >&2
  python3 -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation \
    -d "$sdist_dir" "llama-cpp-python==$version" >&2 || \
  python3 -m pip download --quiet --no-deps --no-binary :all: \
    -d "$sdist_dir" "llama-cpp-python==$version" >&2
fi
got_sha="$(sha256sum "$tarball" | cut -d' ' -f1)"
if [ "$got_sha" != "$sdist_sha" ]; then
  echo "error: $tarball sha256 mismatch: expected $sdist_sha, got $got_sha" >&2
  exit 1
fi

# 2. extract
if [ ! -f "$extracted/vendor/llama.cpp/CMakeLists.txt" ]; then
  tmp="$(mktemp -d "$cache/extract.XXXXXX")"
  tar -xzf "$tarball" -C "$tmp"
  rm -rf "$extracted"
  mv "$tmp/llama_cpp_python-$version" "$extracted"
  rmdir "$tmp"
fi
if [ ! -e "$src" ]; then
  ln -s "llama_cpp_python-$version/vendor/llama.cpp" "$src"
fi

# 3. configure (once)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$src" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_SERVER=OFF \
    -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
    -DGGML_AVX512=OFF >&2
fi

# 4. build (no-op when up to date)
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >&2

for t in "${targets[@]}"; do
  if [ ! -x "$build/bin/$t" ]; then
    echo "error: $build/bin/$t was not built" >&2
    exit 1
  fi
done
echo "$build/bin"
