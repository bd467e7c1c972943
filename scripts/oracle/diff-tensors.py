#!/usr/bin/env python3
"""Find the first tensor where our CPU backend and llama.cpp part, bit for bit (investigation tool).

    python3 scripts/oracle/diff-tensors.py OURS.bin THEIRS.bin

OURS.bin from rust/cpu/tests/trace_dump.rs, THEIRS.bin from scripts/oracle/dump-tensors.cpp (same
prompt). Prints, layer by layer in graph order, each of our tensors with its llama.cpp twin: the
number of differing elements, the largest difference, and the first differing row.
"""
import struct
import sys

import numpy as np

# our trace name -> llama.cpp "NAME OP", or several where it depends on the architecture (the
# first one present is used; the -{layer} suffix is added to both)
TWINS = {
    "attn_norm": "attn_norm MUL",
    "k_rope": "Kcur ROPE",
    "v": ["Vcur ADD", "Vcur MUL_MAT"],  # after the bias where there is one (qwen2)
    "kqv": "kqv_out RESHAPE",
    "attn_out": "attn_post_norm MUL",
    "attn_wo": "attn_out MUL_MAT",
    "ffn_inp": ["sa_out ADD", "ffn_inp ADD"],
    "ffn_norm": "ffn_norm MUL",
    "ffn_gate": "ffn_gate MUL_MAT",
    "ffn_up": "ffn_up MUL_MAT",
    "ffn_act": ["ffn_geglu GEGLU", "ffn_swiglu SWIGLU"],
    "ffn_down": "ffn_out MUL_MAT",
    "ffn_out": "ffn_post_norm MUL",
    "l_out": "l_out ADD",
    # mixture of experts (llama.cpp's build_moe_ffn; ours in forward.rs moe_ffn, same names)
    "ffn_moe_logits": "ffn_moe_logits MUL_MAT",
    "ffn_moe_weights_norm": ["ffn_moe_weights_norm DIV", "ffn_moe_weights GET_ROWS"],
    "ffn_moe_up": "ffn_moe_up MUL_MAT_ID",
    "ffn_moe_gate": "ffn_moe_gate MUL_MAT_ID",
    "ffn_moe_swiglu": "ffn_moe_swiglu SWIGLU",
    "ffn_moe_down": "ffn_moe_down MUL_MAT_ID",
    "ffn_moe_out": ["ffn_moe_out ADD", "ffn_moe_out VIEW"],
}


def read(path):
    data = open(path, "rb").read()
    i, out = 0, []
    while i < len(data):
        (kl,) = struct.unpack_from("<I", data, i)
        key = data[i + 4 : i + 4 + kl].decode()
        i += 4 + kl + 4
        ne = struct.unpack_from("<4q", data, i)
        i += 32
        n = ne[0] * ne[1] * ne[2] * ne[3]
        out.append((key, ne, np.frombuffer(data, np.float32, n, i)))
        i += 4 * n
    return out


def main():
    ours, theirs = read(sys.argv[1]), read(sys.argv[2])
    by_key = {}
    for key, ne, a in theirs:
        by_key.setdefault(key, (ne, a))  # first occurrence (the prompt's ubatch)
    for key, ne, a in ours:
        name, _, layer = key.rpartition("-")
        twins = TWINS.get(name)
        if twins is None or not layer.isdigit():
            continue
        if isinstance(twins, str):
            twins = [twins]
        keys = [f"{tname}-{layer} {op}" for tname, op in (t.split(" ") for t in twins)]
        found = [by_key[k] for k in keys if k in by_key]
        if not found:
            continue
        b = found[0][1]
        note = ""
        if a.size > b.size and a.size % b.size == 0:
            # llama.cpp's last layer keeps only the output rows (inp_out_ids: the last token)
            # from the attention on; ours keeps every row until the head
            a, note = a[a.size - b.size:], " (our last rows)"
        if a.size != b.size:
            print(f"{key}: size {a.size} vs {b.size}")
            continue
        diff = a.view(np.uint32) != b.view(np.uint32)
        if not diff.any():
            print(f"{key}: identical{note}")
            continue
        row = int(np.argmax(diff)) // ne[0]
        print(f"{key}: {int(diff.sum())} of {a.size} differ, max |d| {float(np.abs(a - b).max()):.3g}, "
              f"first row {row}{note}")


if __name__ == "__main__":
    main()
