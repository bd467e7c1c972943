#!/usr/bin/env bash
# `npm test`: installs what the tests need, then runs every test suite.
# Rust tests fetch the real test model themselves (scripts/test-model.sh) and generate the
# random-weight llama models they compare with llama.cpp goldens (tests/models/).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

echo "== test model"
bash scripts/test-model.sh

echo "== rust"
cargo test --workspace 2>&1
