#!/usr/bin/env python3
"""A random-weight GGUF in TinyLlama-1.1B's exact shape, Q4_K_M, for the benchmarks.

    python3 scripts/bench-browser/make_tinyllama.py            # prints the path (builds it once)
    python3 scripts/bench-browser/make_tinyllama.py --force    # rebuild
    python3 scripts/bench-browser/make_tinyllama.py --print-path   # where it is, without building
    python3 scripts/bench-browser/make_tinyllama.py --shape llama3-8b   # Llama-3-8B's shapes (GPU benches)

Output: ${WASM_CHORD_CACHE:-~/.cache/wasm-chord}/models/bench/tinyllama-1.1b-random-Q4_K_M.gguf
(~670 MB). Speed depends only on shapes and tensor types, so random weights measure what a real
TinyLlama would; no real weights are reachable here anyway.

Why F16 first and llama-quantize after: gguf-py 0.19.0 cannot quantize K-quants, and the Q4_K_M
*mix* (which tensors get Q6_K, Q4_K, ...) is llama-quantize's decision; using it gives the same file
layout a user would download. The F16 intermediate (~2.2 GB) is deleted afterwards.

Shape (TinyLlama-1.1B-Chat-v1.0's config): architecture `llama`, dim 2048, 22 layers, 32 heads
(head_dim 64), 4 KV heads (GQA 8:1), FFN 5632 (SwiGLU), vocab 32000 (SentencePiece layout),
context 2048, RoPE theta 10000, RMSNorm eps 1e-5, untied output. Numpy shapes (rows, cols) = (out, in):
    token_embd.weight        (32000, 2048)
    blk.N.attn_norm.weight   (2048,)
    blk.N.attn_q.weight      (2048, 2048)
    blk.N.attn_k.weight      (256, 2048)        n_kv_heads*head_dim = 4*64
    blk.N.attn_v.weight      (256, 2048)
    blk.N.attn_output.weight (2048, 2048)
    blk.N.ffn_norm.weight    (2048,)
    blk.N.ffn_gate.weight    (5632, 2048)
    blk.N.ffn_up.weight      (5632, 2048)
    blk.N.ffn_down.weight    (2048, 5632)
    output_norm.weight       (2048,)
    output.weight            (32000, 2048)

The vocabulary is synthetic but well formed (so both engines build a tokenizer from it): <unk> <s>
</s>, the 256 <0xXX> byte-fallback tokens, then ASCII characters and ▁-prefixed letter strings,
scored by rank. The benchmark feeds token ids, so what the pieces spell does not matter.
"""
from __future__ import annotations

import itertools
import os
import string

import numpy as np
import gguf

import random_gguf

SEED = 1100
# name → (file name, shape). llama3-8b is Llama-3-8B's shape (4096 hidden, 32 layers, 32/8 heads,
# FFN 14336, vocab 128256, RoPE theta 500000; ~4.9 GB as Q4_K_M, a 16 GB F16 intermediate) for
# the CUDA benchmark. Its vocabulary is built the same synthetic SentencePiece way: the real
# model's BPE tokenizer changes what text becomes which ids, not the cost of a token.
SHAPES = {
    "tinyllama": ("tinyllama-1.1b-random-Q4_K_M.gguf",
                  dict(dim=2048, n_layers=22, n_heads=32, n_kv_heads=4, ffn=5632, n_vocab=32000,
                       ctx=2048, rope_theta=10000.0, rms_eps=1e-5)),
    "llama3-8b": ("llama3-8b-random-Q4_K_M.gguf",
                  dict(dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, ffn=14336, n_vocab=128256,
                       ctx=8192, rope_theta=500000.0, rms_eps=1e-5)),
    # Llama-3.2-1B's shape with what sets it apart: a tied head and Llama 3 RoPE scaling (the
    # `rope_freqs.weight` factors), context cut to 8192. For the real-shape check
    # (scripts/oracle/check-real-shapes.sh), not a benchmark.
    "llama3.2-1b": ("llama3.2-1b-random-Q4_K_M.gguf",
                    dict(dim=2048, n_layers=16, n_heads=32, n_kv_heads=8, ffn=8192, n_vocab=128256,
                         ctx=8192, rope_theta=500000.0, rms_eps=1e-5, tied=True,
                         llama3_rope=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                          original_context=8192))),
    # Qwen2.5-0.5B's shape (architecture qwen2: q/k/v biases, NeoX RoPE, tied head), context 4096.
    "qwen2.5-0.5b": ("qwen2.5-0.5b-random-Q4_K_M.gguf",
                     dict(arch="qwen2", dim=896, n_layers=24, n_heads=14, n_kv_heads=2, ffn=4864,
                          n_vocab=151936, ctx=4096, rope_theta=1000000.0, rms_eps=1e-6, tied=True,
                          qkv_bias=True)),
}
SPACE = "\u2581"  # ▁, SentencePiece's word-start marker


def vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    need = n_vocab - len(tokens)
    pieces = dict.fromkeys([SPACE] + [c for c in string.printable if c not in string.whitespace])
    # then ▁-prefixed and bare lowercase strings of growing length until the vocabulary is full
    for n in itertools.count(1):
        for combo in itertools.product(string.ascii_lowercase, repeat=n):
            for prefix in (SPACE, ""):
                pieces.setdefault(prefix + "".join(combo))
        if len(pieces) >= need:
            break
    tokens += list(pieces)[:need]
    types += [gguf.TokenType.NORMAL] * (n_vocab - len(types))
    scores = [0.0] * 259 + [-float(i) for i in range(n_vocab - 259)]
    assert len(tokens) == len(set(tokens)) == n_vocab
    return tokens, scores, types


def llama3_rope_factors(head_dim: int, theta: float, factor: float, low_freq_factor: float,
                        high_freq_factor: float, original_context: int) -> np.ndarray:
    """Llama 3's RoPE scaling as GGUF files store it (`rope_freqs.weight`, one divisor of each
    frequency): 1 for short wavelengths, `factor` for long ones, a smooth blend between."""
    out = []
    for i in range(0, head_dim, 2):
        freq = 1.0 / theta ** (i / head_dim)
        wavelen = 2 * np.pi / freq
        if wavelen < original_context / high_freq_factor:
            out.append(1.0)
        elif wavelen > original_context / low_freq_factor:
            out.append(factor)
        else:
            smooth = (original_context / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def write_f16(path: str, c: dict) -> None:
    dim, ffn, n_vocab = c["dim"], c["ffn"], c["n_vocab"]
    head_dim = dim // c["n_heads"]
    kv = c["n_kv_heads"] * head_dim
    rng = np.random.default_rng(SEED)

    # Scales keep activations in a sane range through 22 layers (no inf/NaN in f16 or the KV cache).
    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float16)

    def norm_w(n):
        return (np.float32(1.0) + rng.standard_normal(n, dtype=np.float32) * np.float32(0.1)).astype(np.float32)

    w = gguf.GGUFWriter(path, c.get("arch", "llama"))
    w.add_name(os.path.basename(path).split("-random")[0] + "-random")
    w.add_context_length(c["ctx"])
    w.add_embedding_length(dim)
    w.add_block_count(c["n_layers"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["n_heads"])
    w.add_head_count_kv(c["n_kv_heads"])
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(c["rope_theta"])
    w.add_layer_norm_rms_eps(c["rms_eps"])
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens, scores, types = vocab(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(True)

    # a tied head reads the embeddings as its weights: a smaller spread keeps its logits sane
    w.add_tensor("token_embd.weight", normal((n_vocab, dim), 0.15 if c.get("tied") else 1.0))
    if "llama3_rope" in c:
        w.add_tensor("rope_freqs.weight", llama3_rope_factors(head_dim, c["rope_theta"], **c["llama3_rope"]))
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_norm.weight", norm_w(dim))
        w.add_tensor(p + "attn_q.weight", normal((dim, dim), 1.0 / np.sqrt(dim)))
        w.add_tensor(p + "attn_k.weight", normal((kv, dim), 1.0 / np.sqrt(dim)))
        w.add_tensor(p + "attn_v.weight", normal((kv, dim), 1.0 / np.sqrt(dim)))
        if c.get("qkv_bias"):
            for name, n in (("attn_q", dim), ("attn_k", kv), ("attn_v", kv)):
                w.add_tensor(p + name + ".bias", (rng.standard_normal(n, dtype=np.float32) * np.float32(0.2)))
        w.add_tensor(p + "attn_output.weight", normal((dim, dim), 1.0 / np.sqrt(dim)))
        w.add_tensor(p + "ffn_norm.weight", norm_w(dim))
        w.add_tensor(p + "ffn_gate.weight", normal((ffn, dim), 1.0 / np.sqrt(dim)))
        w.add_tensor(p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim)))
        w.add_tensor(p + "ffn_down.weight", normal((dim, ffn), 1.0 / np.sqrt(ffn)))
    w.add_tensor("output_norm.weight", norm_w(dim))
    if not c.get("tied"):
        w.add_tensor("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim)))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    random_gguf.main(__doc__, {
        shape: (name, lambda path, config=config: write_f16(path, config))
        for shape, (name, config) in SHAPES.items()
    })


if __name__ == "__main__":
    main()
