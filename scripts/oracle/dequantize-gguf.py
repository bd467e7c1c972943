#!/usr/bin/env python3
"""Writes an F32 twin of a GGUF: the same metadata, every tensor dequantized to F32.

    python3 scripts/oracle/dequantize-gguf.py IN.gguf OUT.gguf

Why: a quantized model's logits differ between backends partly because each one rounds its
*activations* differently (the CPU quantizes them to Q8 for ggml's integer dot products, a GPU
GEMM widens them to f16). The twin's F32 run on the CPU is the exact result of the quantized
weights, so "which backend is nearer the exact result" can be measured
(scripts/cuda-test.sh `exactref`) instead of only "how far apart are two of them".
Dequantization is gguf-py's (ggml's formulas).
"""
from __future__ import annotations

import sys

import numpy as np
import gguf


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[2].strip())
    src, dst = sys.argv[1:]
    r = gguf.GGUFReader(src)
    arch = str(r.fields["general.architecture"].contents())
    w = gguf.GGUFWriter(dst, arch)
    for name, f in r.fields.items():
        # the writer makes the header fields and the architecture itself
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        if name == "general.file_type":
            w.add_file_type(gguf.LlamaFileType.ALL_F32)
            continue
        vtype = f.types[0]
        sub = f.types[1] if vtype == gguf.GGUFValueType.ARRAY and len(f.types) > 1 else None
        w.add_key_value(name, f.contents(), vtype, sub)
    for t in r.tensors:
        # ggml's shape is (ne0, ne1, ...); numpy's is the reverse
        shape = tuple(int(n) for n in reversed(t.shape))
        a = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
        w.add_tensor(t.name, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
