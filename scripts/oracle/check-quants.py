#!/usr/bin/env python3
"""Checks that the test models' quantized tensors (made by gguf-py in tests/models/make_llama.py) are
byte-identical to what llama.cpp's own quantizer makes from the F32 model, and reports what
llama-quantize does with the other types (K-quants etc.) on these shapes.

    python3 scripts/oracle/check-quants.py --bin LLAMA_BIN_DIR --models ~/.cache/wasm-chord/models/test

For each type T in f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1:
    llama-quantize --pure llama-spm-f32.gguf /tmp/x.gguf T   and compare every tensor with llama-spm-T.gguf
Then, informational only, llama-quantize (no --pure) to Q2_K Q3_K_M Q4_K_M Q5_K_M Q6_K, listing the
tensor types it chose (K-quants need rows that are multiples of 256; dim 128 rows fall back).
Exit status 1 if any compared tensor differs.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import Counter

from gguf import GGUFReader

PURE = ["f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"]
INFO = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K"]


def quantize(bin_dir: str, src: str, dst: str, qtype: str, pure: bool) -> None:
    cmd = [os.path.join(bin_dir, "llama-quantize")] + (["--pure"] if pure else []) + [src, dst, qtype.upper(), "2"]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        sys.stderr.write(r.stdout.decode("utf-8", "replace")[-3000:])
        raise SystemExit(f"llama-quantize failed: {cmd}")


def tensors(path: str) -> dict:
    return {t.name: (t.tensor_type.name, bytes(t.data.tobytes())) for t in GGUFReader(path).tensors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--tok", default="spm")
    args = ap.parse_args()

    src = os.path.join(args.models, f"llama-{args.tok}-f32.gguf")
    bad = 0
    with tempfile.TemporaryDirectory() as d:
        for qt in PURE:
            dst = os.path.join(d, f"{qt}.gguf")
            quantize(args.bin, src, dst, qt, pure=True)
            ref = tensors(dst)
            ours = tensors(os.path.join(args.models, f"llama-{args.tok}-{qt}.gguf"))
            same = diff = 0
            for name, (ty, data) in ours.items():
                rty, rdata = ref[name]
                if ty != rty:
                    print(f"  {qt}: {name}: type {ty} (ours) vs {rty} (llama-quantize)")
                    diff += 1
                elif data != rdata:
                    n = sum(a != b for a, b in zip(data, rdata))
                    print(f"  {qt}: {name} ({ty}): {n} of {len(data)} bytes differ")
                    diff += 1
                else:
                    same += 1
            bad += diff
            print(f"{qt}: {same} tensors identical, {diff} differ")
        for qt in INFO:
            dst = os.path.join(d, f"{qt}.gguf")
            quantize(args.bin, src, dst, qt, pure=False)
            c = Counter(ty for ty, _ in tensors(dst).values())
            print(f"llama-quantize {qt} on dim-128 shapes -> tensor types {dict(sorted(c.items()))}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
