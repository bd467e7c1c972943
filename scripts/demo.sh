#!/usr/bin/env bash
# `npm run demo`: builds whatever is missing (npm packages, the wasm core, the npm package),
# fetches the test model and serves the chat demo on 127.0.0.1, printing its URL.
# Extra arguments go to the server (e.g. `npm run demo -- --port 9000`).
#
# On a tree built before, every step finds its work done and the server starts within seconds:
# npm install runs only when the manifests or the installed tree changed (a content stamp, see
# scripts/lib/fresh.sh), cargo rebuilds nothing, wasm-bindgen/wasm-opt (scripts/build-wasm.sh)
# and the package build (scripts/build-package.sh) are skipped by their stamps.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/fresh.sh
# The whole script is one { … } block, read by bash before it runs: editing this file while it
# runs (a shared checkout) cannot make the running copy execute a shifted line.
{

# npm install when package.json / package-lock.json (or the installed tree, which npm describes
# in node_modules/.package-lock.json) differ from what the last install here saw.
npm_desc() {
  fresh_files package.json package-lock.json packages/*/package.json
  echo "node $(node --version)"
}
desc="$(npm_desc)"
if [ "${WASM_CHORD_FORCE:-0}" != 1 ] && fresh_check npm-install "$desc" node_modules/.package-lock.json; then
  echo "== npm install: node_modules is up to date" >&2
else
  echo "== npm install" >&2
  fresh_forget npm-install
  npm install --no-audit --no-fund --loglevel=error >&2
  # npm may rewrite package-lock.json itself (a package.json edited by hand): stamp what is there now.
  fresh_stamp npm-install "$(npm_desc)" node_modules/.package-lock.json
fi
echo "== test model" >&2
bash scripts/test-model.sh >/dev/null
bash scripts/build-wasm.sh
bash scripts/build-package.sh
exec node scripts/serve.mjs "$@"
exit
}
