"""What the random-weight benchmark models share (make_tinyllama.py, make_gemma3.py): where they
go, and the F16 → llama-quantize Q4_K_M build that only ever leaves a complete file behind.

Why F16 first and llama-quantize after: gguf-py 0.19.0 cannot quantize K-quants, and the Q4_K_M
mix (which tensors get Q6_K, Q4_K, Q5_0, ...) is llama-quantize's decision; using it gives the
file layout a user would download.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import Callable

CACHE = os.environ.get("WASM_CHORD_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "wasm-chord")
QUANTIZE = os.environ.get("LLAMA_QUANTIZE") or os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-quantize")


def bench_path(name: str) -> str:
    return os.path.join(CACHE, "models", "bench", name)


def build_q4_k_m(out: str, write_f16: Callable[[str], None]) -> None:
    """Writes the model as F16 with `write_f16(path)`, quantizes it to `out`, deletes the F16."""
    if not os.access(QUANTIZE, os.X_OK):
        sys.exit(f"error: {QUANTIZE} is missing: build llama.cpp first (scripts/oracle/build-llama-cpp.sh) "
                 "or set LLAMA_QUANTIZE")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    f16 = out + ".f16.tmp"
    tmp = out + ".tmp"
    try:
        print(f"writing {f16} (random weights, F16)", file=sys.stderr)
        write_f16(f16)
        print("llama-quantize -> Q4_K_M", file=sys.stderr)
        # Its per-tensor log is long: shown only when it fails.
        q = subprocess.run([QUANTIZE, f16, tmp, "Q4_K_M", str(os.cpu_count() or 2)],
                           capture_output=True, text=True)
        if q.returncode != 0:
            sys.exit(f"error: llama-quantize failed (exit {q.returncode}):\n{q.stdout}{q.stderr}")
        os.replace(tmp, out)  # only a complete file ever has the final name
    finally:
        for p in (f16, tmp):
            if os.path.exists(p):
                os.remove(p)


def main(doc: str, shapes: dict[str, tuple[str, Callable[[str], None]]]) -> None:
    """The generators' command line: `shapes` maps a shape name to (file name, write_f16); the
    first is the default, and `--shape` appears when there is more than one. Prints the path,
    building the file first unless it exists (or `--force`)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    if len(shapes) > 1:
        ap.add_argument("--shape", choices=sorted(shapes), default=next(iter(shapes)))
    ap.add_argument("--out", help="default: <cache>/models/bench/<the shape's file name>")
    ap.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    ap.add_argument("--print-path", action="store_true", help="only print where the file is (or would be)")
    a = ap.parse_args()
    name, write_f16 = shapes[getattr(a, "shape", next(iter(shapes)))]
    out = a.out or bench_path(name)
    if not a.print_path and (a.force or not os.path.exists(out)):
        build_q4_k_m(out, write_f16)
    print(out)
