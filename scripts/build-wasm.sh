#!/usr/bin/env bash
# Builds the WebAssembly core (rust/web) twice:
#   packages/wasm-chord/src/wasm/          single-threaded: runs everywhere (stable Rust)
#   packages/wasm-chord/src/wasm-threads/  multi-threaded: shared memory + a rayon pool of Web Workers,
#                                          for cross-origin-isolated pages (nightly Rust, build-std)
# each as wasm_chord_web.js / .d.ts (wasm-bindgen glue, --target web) and wasm_chord_web_bg.wasm
# (optimised with wasm-opt from the npm `binaryen` package), and each again with relaxed SIMD
# (+relaxed-simd: one-instruction byte dot products and fused multiply-adds) as
# wasm_chord_web_relaxed_bg.wasm beside it — the same exports, so the same glue (checked here).
# The package picks one at run time (src/wasm.ts).
# Installs what it needs: the wasm32 rustup target (and a nightly toolchain with rust-src for the
# threaded build), wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock
# (they must match), and the npm packages. WASM_CHORD_THREADS=0 skips the threaded build.
set -euo pipefail
cd "$(dirname "$0")/.."

out=packages/wasm-chord/src/wasm
out_threads=packages/wasm-chord/src/wasm-threads
target_dir="${CARGO_TARGET_DIR:-target}"
nightly="${WASM_CHORD_NIGHTLY:-nightly}"
threads="${WASM_CHORD_THREADS:-1}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "== rustup target add wasm32-unknown-unknown" >&2
  rustup target add wasm32-unknown-unknown >&2
fi

if [ "$threads" = 1 ]; then
  if ! rustup run "$nightly" rustc --version >/dev/null 2>&1; then
    echo "== rustup toolchain install $nightly (for the threaded wasm build)" >&2
    rustup toolchain install "$nightly" --profile minimal >&2
  fi
  rustup component add rust-src --toolchain "$nightly" >&2 2>/dev/null || true
  rustup target add wasm32-unknown-unknown --toolchain "$nightly" >&2 2>/dev/null || true
fi

version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
if [ -z "$version" ]; then
  echo "error: no wasm-bindgen version in Cargo.lock" >&2
  exit 1
fi
if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$version" ]; then
  echo "== cargo install wasm-bindgen-cli $version (once; a few minutes)" >&2
  # Not --locked: the registry mirror here lacks some of its locked dependency versions.
  cargo install wasm-bindgen-cli --version "$version" >&2
fi

if [ ! -x node_modules/.bin/wasm-opt ]; then
  echo "== npm install" >&2
  npm install --no-audit --no-fund >&2
fi

# wasm-bindgen, then wasm-opt with the features rustc enables for wasm32 by default plus SIMD128
# (wasm-opt must know them all or it rejects the module) and, for the threaded build, atomics.
bindgen_and_opt() { # $1 = the cargo output .wasm, $2 = output folder, $3 = extra wasm-opt flags
  rm -rf "$2"
  mkdir -p "$2"
  wasm-bindgen --target web --out-dir "$2" --out-name wasm_chord_web "$1"
  # shellcheck disable=SC2086
  node_modules/.bin/wasm-opt -O3 $3 \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$2/wasm_chord_web_bg.wasm" -o "$2/wasm_chord_web_bg.wasm"
  ls -l "$2" >&2
}

# The relaxed-SIMD twin of a build: its module becomes wasm_chord_web_relaxed_bg.wasm in $2,
# which must already hold the plain build's glue (it is reused: the exports are the same).
relaxed_twin() { # $1 = the cargo output .wasm, $2 = output folder, $3 = extra wasm-opt flags
  local tmp="$2.relaxed-tmp"
  bindgen_and_opt "$1" "$tmp" "--enable-relaxed-simd $3"
  if ! cmp -s "$tmp/wasm_chord_web.js" "$2/wasm_chord_web.js"; then
    echo "error: the relaxed-SIMD build's glue differs from the plain build's ($tmp)" >&2
    exit 1
  fi
  mv "$tmp/wasm_chord_web_bg.wasm" "$2/wasm_chord_web_relaxed_bg.wasm"
  rm -rf "$tmp"
}

echo "== cargo build (wasm32, single-threaded, release)" >&2
# Target flags (SIMD128, getrandom's JS backend) come from .cargo/config.toml.
cargo build --release --target wasm32-unknown-unknown -p wasm-chord-web >&2
bindgen_and_opt "$target_dir/wasm32-unknown-unknown/release/wasm_chord_web.wasm" "$out" ""

echo "== cargo build (wasm32, single-threaded, relaxed SIMD, release)" >&2
# RUSTFLAGS replaces .cargo/config.toml's flags: they are repeated here with +relaxed-simd.
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  CARGO_TARGET_DIR="$target_dir/wasm-relaxed" \
  cargo build --release --target wasm32-unknown-unknown -p wasm-chord-web >&2
relaxed_twin "$target_dir/wasm-relaxed/wasm32-unknown-unknown/release/wasm_chord_web.wasm" "$out" ""

if [ "$threads" = 1 ]; then
  echo "== cargo build (wasm32, threads, release; nightly build-std)" >&2
  # Threads need std rebuilt with atomics, and a shared, imported memory that the Web Workers of
  # the rayon pool all map (up to 4 GiB, wasm32's limit). RUSTFLAGS replaces .cargo/config.toml's
  # flags, so they are all here; the separate target dir keeps the two builds from evicting each
  # other's artefacts.
  threads_flags='--cfg getrandom_backend="wasm_js" -C link-arg=--shared-memory -C link-arg=--max-memory=4294967296 -C link-arg=--import-memory -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base'
  for variant in plain relaxed; do
    features='+atomics,+bulk-memory,+mutable-globals,+simd128'
    dir="$target_dir/wasm-threads"
    if [ "$variant" = relaxed ]; then
      echo "== cargo build (wasm32, threads, relaxed SIMD, release; nightly build-std)" >&2
      features="$features,+relaxed-simd"
      dir="$target_dir/wasm-threads-relaxed"
    fi
    RUSTFLAGS="-C target-feature=$features $threads_flags" CARGO_TARGET_DIR="$dir" \
      cargo "+$nightly" build --release --target wasm32-unknown-unknown -Z build-std=panic_abort,std \
      -p wasm-chord-web --features threads >&2
    built="$dir/wasm32-unknown-unknown/release/wasm_chord_web.wasm"
    if [ "$variant" = plain ]; then
      bindgen_and_opt "$built" "$out_threads" "--enable-threads"
    else
      relaxed_twin "$built" "$out_threads" "--enable-threads"
    fi
  done
fi
