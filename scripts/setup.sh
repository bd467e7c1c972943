#!/usr/bin/env bash
# Installs the tools the build and tests use, when missing. Idempotent; quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null; then
  echo "error: cargo (Rust) is required: install it with rustup (https://rustup.rs)" >&2
  exit 1
fi
# Python packages for the random-weight test models (numpy, gguf), pinned.
# (pip is a no-op when the pinned versions are already there.)
python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r scripts/oracle/requirements.txt
