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
#
# Cargo runs every time (it rebuilds only what changed: a second or two each when nothing did);
# wasm-bindgen and wasm-opt, which take most of a minute per build, run only when their inputs
# changed: each of the four builds keeps a content stamp (scripts/lib/fresh.sh) of the cargo
# output .wasm, the wasm-bindgen and binaryen versions, the commands and flags below, and the
# files it produced; it is skipped while all of those are as they were. WASM_CHORD_FORCE=1 redoes
# every step anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/fresh.sh
# The whole script is one { … } block, read by bash before it runs: editing this file while it
# runs (a shared checkout) cannot make the running copy execute a shifted line.
{

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

# What a bindgen + wasm-opt step depends on, as text for its stamp: the cargo output, the tools'
# versions, and this script's commands and flags (the function bodies, so editing a flag above
# invalidates every stamp).
bindgen_inputs() { # $1 = the cargo output .wasm, $2 = extra wasm-opt flags
  fresh_files "$1" node_modules/binaryen/package.json
  echo "wasm-bindgen $(wasm-bindgen --version)"
  echo "wasm-opt flags: $2"
  declare -f bindgen_and_opt plain_build relaxed_twin | sha256sum
}

# The plain build of a folder: glue (.js/.d.ts, snippets/) and wasm_chord_web_bg.wasm in $2.
# Built beside it and swapped in; the relaxed twin's module, if there, is kept (its own stamp
# says whether it still fits this glue).
plain_build() { # $1 = the cargo output .wasm, $2 = output folder, $3 = extra wasm-opt flags, $4 = stamp name
  local desc tmp="$target_dir/bindgen-tmp/$4" # outside src/, where tsc would see its .d.ts
  desc="$(bindgen_inputs "$1" "$3")"
  if [ "${WASM_CHORD_FORCE:-0}" != 1 ] && fresh_check "$4" "$desc" $(plain_outputs "$2"); then
    echo "== wasm-bindgen + wasm-opt: $2 (plain) is up to date" >&2
    return
  fi
  fresh_forget "$4"
  bindgen_and_opt "$1" "$tmp" "$3"
  if [ -f "$2/wasm_chord_web_relaxed_bg.wasm" ]; then
    mv "$2/wasm_chord_web_relaxed_bg.wasm" "$tmp/"
  fi
  rm -rf "$2"
  mv "$tmp" "$2"
  fresh_stamp "$4" "$desc" $(plain_outputs "$2")
}
# The files of the plain build: all of the folder but the relaxed module. A file missing since
# the stamp was written shortens this list, so the stamp no longer matches.
plain_outputs() { find "$1" -type f ! -name wasm_chord_web_relaxed_bg.wasm 2>/dev/null | LC_ALL=C sort; }

# The relaxed-SIMD twin of a build: its module becomes wasm_chord_web_relaxed_bg.wasm in $2,
# which must already hold the plain build's glue (it is reused: the exports are the same).
relaxed_twin() { # $1 = the cargo output .wasm, $2 = output folder, $3 = extra wasm-opt flags, $4 = stamp name
  local desc
  # The plain glue is an input: the check below compared the relaxed glue with exactly that file.
  desc="$(bindgen_inputs "$1" "--enable-relaxed-simd $3"; fresh_files "$2/wasm_chord_web.js")"
  if [ "${WASM_CHORD_FORCE:-0}" != 1 ] && fresh_check "$4" "$desc" "$2/wasm_chord_web_relaxed_bg.wasm"; then
    echo "== wasm-bindgen + wasm-opt: $2 (relaxed SIMD) is up to date" >&2
    return
  fi
  fresh_forget "$4"
  local tmp="$target_dir/bindgen-tmp/$4"
  bindgen_and_opt "$1" "$tmp" "--enable-relaxed-simd $3"
  if ! cmp -s "$tmp/wasm_chord_web.js" "$2/wasm_chord_web.js"; then
    echo "error: the relaxed-SIMD build's glue differs from the plain build's ($tmp)" >&2
    exit 1
  fi
  mv "$tmp/wasm_chord_web_bg.wasm" "$2/wasm_chord_web_relaxed_bg.wasm"
  rm -rf "$tmp"
  fresh_stamp "$4" "$desc" "$2/wasm_chord_web_relaxed_bg.wasm"
}

echo "== cargo build (wasm32, single-threaded, release)" >&2
# Target flags (SIMD128, getrandom's JS backend) come from .cargo/config.toml.
cargo build --release --target wasm32-unknown-unknown -p wasm-chord-web >&2
plain_build "$target_dir/wasm32-unknown-unknown/release/wasm_chord_web.wasm" "$out" "" wasm

echo "== cargo build (wasm32, single-threaded, relaxed SIMD, release)" >&2
# RUSTFLAGS replaces .cargo/config.toml's flags: they are repeated here with +relaxed-simd.
RUSTFLAGS='-C target-feature=+simd128,+relaxed-simd --cfg getrandom_backend="wasm_js"' \
  CARGO_TARGET_DIR="$target_dir/wasm-relaxed" \
  cargo build --release --target wasm32-unknown-unknown -p wasm-chord-web >&2
relaxed_twin "$target_dir/wasm-relaxed/wasm32-unknown-unknown/release/wasm_chord_web.wasm" "$out" "" wasm-relaxed

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
      plain_build "$built" "$out_threads" "--enable-threads" wasm-threads
    else
      relaxed_twin "$built" "$out_threads" "--enable-threads" wasm-threads-relaxed
    fi
  done
fi
exit
}
