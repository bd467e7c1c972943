#!/usr/bin/env bash
# `npm run demo`: builds whatever is missing (npm packages, the wasm core, the npm package),
# fetches the test model and serves the chat demo on 127.0.0.1, printing its URL.
# Extra arguments go to the server (e.g. `npm run demo -- --port 9000`).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== npm install" >&2
npm install --no-audit --no-fund --loglevel=error >&2
echo "== test model" >&2
bash scripts/test-model.sh >/dev/null
# Cargo and tsc rebuild only what changed, so this is quick after the first run.
bash scripts/build-wasm.sh
npm run build -w packages/wasm-chord >&2
exec node scripts/serve.mjs "$@"
