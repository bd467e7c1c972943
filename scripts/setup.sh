#!/usr/bin/env bash
# Installs the tools the build and tests use, when missing. Idempotent; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "error: cargo (Rust) is required: install it with rustup (https://rustup.rs)" >&2
  exit 1
fi
# Python packages for the random-weight test models (numpy, gguf), pinned.
if ! python3 -c "import numpy, gguf" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
fi
