#!/usr/bin/env bash
# Builds the WebAssembly core (rust/web) into packages/wasm-chord/src/wasm/:
#   wasm_chord_web.js, wasm_chord_web.d.ts  (wasm-bindgen glue, --target web)
#   wasm_chord_web_bg.wasm                  (optimised with wasm-opt from the npm `binaryen` package)
# Installs what it needs: the wasm32 rustup target, wasm-bindgen-cli at exactly the version of the
# wasm-bindgen crate in Cargo.lock (they must match), and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."

out=packages/wasm-chord/src/wasm
target_dir="${CARGO_TARGET_DIR:-target}"

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "== rustup target add wasm32-unknown-unknown" >&2
  rustup target add wasm32-unknown-unknown >&2
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

echo "== cargo build (wasm32, release)" >&2
# Target flags (SIMD128, getrandom's JS backend) come from .cargo/config.toml.
cargo build --release --target wasm32-unknown-unknown -p wasm-chord-web >&2

echo "== wasm-bindgen" >&2
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --out-name wasm_chord_web \
  "$target_dir/wasm32-unknown-unknown/release/wasm_chord_web.wasm"

echo "== wasm-opt" >&2
# The features rustc enables for wasm32 by default, plus SIMD128 (.cargo/config.toml); wasm-opt
# must know them all or it rejects the module.
node_modules/.bin/wasm-opt -O3 \
  --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
  --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$out/wasm_chord_web_bg.wasm" -o "$out/wasm_chord_web_bg.wasm"
ls -l "$out" >&2
