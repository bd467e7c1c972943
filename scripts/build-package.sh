#!/usr/bin/env bash
# `npm run build -w packages/wasm-chord` (tsc → dist/, plus the wasm builds and the Jinja engine
# copied in), skipped when dist/ is what that build made from the same inputs: a content stamp
# (scripts/lib/fresh.sh) of everything under packages/wasm-chord/src/ (the TypeScript and the
# wasm-bindgen output of scripts/build-wasm.sh), the package's build script, package.json and
# tsconfigs, the lockfile (the TypeScript and Jinja versions) and Node's version, and of every
# file of dist/ itself (a deleted or changed file there means a rebuild). WASM_CHORD_FORCE=1
# always builds.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/fresh.sh

pkg=packages/wasm-chord
desc="$(fresh_files "$pkg/src" "$pkg/scripts/build.mjs" "$pkg/package.json" "$pkg/tsconfig.json" \
  "$pkg/tsconfig.base.json" package-lock.json; echo "node $(node --version)")"
if [ "${WASM_CHORD_FORCE:-0}" != 1 ] && fresh_check package-dist "$desc" "$pkg/dist"; then
  echo "== $pkg/dist is up to date" >&2
  exit 0
fi
fresh_forget package-dist
echo "== npm run build -w $pkg" >&2
npm run build -w "$pkg" >&2
fresh_stamp package-dist "$desc" "$pkg/dist"
