#!/usr/bin/env python3
"""A random-weight GGUF in TinyLlama-1.1B's exact shape, Q4_K_M, for the benchmarks.

    python3 scripts/bench-browser/make_tinyllama.py            # prints the path (builds it once)
    python3 scripts/bench-browser/make_tinyllama.py --force    # rebuild
    python3 scripts/bench-browser/make_tinyllama.py --print-path   # where it is, without building
    python3 scripts/bench-browser/make_tinyllama.py --shape llama3-8b   # Llama-3-8B's shapes (GPU benches)
    python3 scripts/bench-browser/make_tinyllama.py --shape qwen3-0.6b --type Q8_0   # a real-check shape
    python3 scripts/bench-browser/make_tinyllama.py --list     # the real-check shapes, cheapest first

The real-check shapes (SHAPES below, each naming the real model it copies; used by
scripts/oracle/check-real-shapes.sh) are written once as F16 and quantized to both Q4_K_M and Q8_0;
their vocabularies are synthetic in the family's tokenizer type (SentencePiece, or GPT-2 byte-level
BPE with the family's `tokenizer.ggml.pre` and its special tokens at their real ids), so each
family's tokenizer path runs too.

Output: ${WASM_CHORD_CACHE:-~/.cache/wasm-chord}/models/bench/tinyllama-1.1b-random-Q4_K_M.gguf
(~670 MB). Speed depends only on shapes and tensor types, so random weights measure what a real
TinyLlama would; no real weights are reachable here anyway.

Why F16 first and llama-quantize after: gguf-py 0.19.0 cannot quantize K-quants, and the Q4_K_M
*mix* (which tensors get Q6_K, Q4_K, ...) is llama-quantize's decision; using it gives the same file
layout a user would download. The F16 intermediate (~2.2 GB) is deleted afterwards.

Without llama.cpp (`npm test` does not build it): `--quantizer gguf-py --type Q8_0` writes the
Q8_0 file directly, each F16 matrix widened to F32 and quantized by gguf-py (whose Q8_0 is
ggml's reference quantizer, the one llama-quantize runs). For smollm2-135m the tensor data is
byte-identical to llama-quantize's file (checked 2026-12-07 with `--compare-tensors A B`); only the
metadata order and llama-quantize's own keys differ, so llama.cpp's goldens for Q8_0 hold for it.

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

import argparse
import itertools
import os
import string
import subprocess
import sys
from collections import Counter

import numpy as np
import gguf

import random_gguf

SEED = 1100
TYPES = ("Q4_K_M", "Q8_0")  # what --type takes: llama-quantize's names
# name → (file stem, shape). The file is <stem>-random-<TYPE>.gguf.
#
# tinyllama and llama3-8b are benchmark shapes (Q4_K_M). llama3-8b is Llama-3-8B's shape (4096
# hidden, 32 layers, 32/8 heads, FFN 14336, vocab 128256, RoPE theta 500000; ~4.9 GB as Q4_K_M, a
# 16 GB F16 intermediate) for the CUDA benchmark. Their vocabulary is the synthetic SentencePiece
# one: for a benchmark the tokenizer changes what text becomes which ids, not the cost of a token.
#
# The others are the real-shape check's (scripts/oracle/check-real-shapes.sh, issue 15), each in
# Q4_K_M and Q8_0, with the real model's hyper-parameters (its config.json / GGUF metadata) and a
# synthetic vocabulary of the real size and tokenizer type (`tok`: "spm" or a gpt2 BPE `pre`);
# `layers_real` marks a shape cut to fewer layers. Listed cheapest first (check-real-shapes.sh runs
# them in this order).
SHAPES = {
    "tinyllama": ("tinyllama-1.1b",
                  dict(dim=2048, n_layers=22, n_heads=32, n_kv_heads=4, ffn=5632, n_vocab=32000,
                       ctx=2048, rope_theta=10000.0, rms_eps=1e-5)),
    "llama3-8b": ("llama3-8b",
                  dict(dim=4096, n_layers=32, n_heads=32, n_kv_heads=8, ffn=14336, n_vocab=128256,
                       ctx=8192, rope_theta=500000.0, rms_eps=1e-5)),
    # HuggingFaceTB/SmolLM2-135M: llama, 576 hidden, 30 layers, 9 heads of 64, 3 KV heads, FFN
    # 1536, vocab 49152 (GPT-2 BPE, pre-tokenizer `smollm`, specials <|endoftext|> <|im_start|>
    # <|im_end|> ... at ids 0-16), RoPE theta 100000, eps 1e-5, tied, context 8192. Full size.
    "smollm2-135m": ("smollm2-135m",
                     dict(dim=576, n_layers=30, n_heads=9, n_kv_heads=3, ffn=1536, n_vocab=49152,
                          ctx=8192, rope_theta=100000.0, rms_eps=1e-5, tied=True,
                          tok="smollm", bos=0, eos=0, add_bos=False,
                          specials={0: "<|endoftext|>", 1: "<|im_start|>", 2: "<|im_end|>",
                                    **{3 + i: f"<{n}>" for i, n in enumerate(
                                        "repo_name reponame file_sep filename gh_stars issue_start "
                                        "issue_comment issue_closed jupyter_start jupyter_text "
                                        "jupyter_code jupyter_output jupyter_script empty_output".split())}},
                          prompts="qwen2-bpe")),
    # Qwen/Qwen2.5-0.5B: qwen2 (q/k/v biases, NeoX RoPE), 896 hidden, 24 layers, 14 heads of 64,
    # 2 KV heads, FFN 4864, vocab 151936 (BPE `qwen2`, <|endoftext|> <|im_start|> <|im_end|> at
    # 151643-151645), RoPE theta 1e6, eps 1e-6, tied; context cut to 4096 (real 32768). Full size.
    "qwen2.5-0.5b": ("qwen2.5-0.5b",
                     dict(arch="qwen2", dim=896, n_layers=24, n_heads=14, n_kv_heads=2, ffn=4864,
                          n_vocab=151936, ctx=4096, rope_theta=1000000.0, rms_eps=1e-6, tied=True,
                          qkv_bias=True, tok="qwen2", bos=151643, eos=151643, pad=151643,
                          add_bos=False,
                          specials={151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"},
                          prompts="qwen2-bpe")),
    # Qwen/Qwen3-0.6B: qwen3 (per-head q/k RMS norms, no biases), 1024 hidden, 28 layers, 16
    # heads and 8 KV heads of 128 (16*128 = 2048 != 1024: key_length/value_length), FFN 3072,
    # vocab 151936 (BPE `qwen2`), RoPE theta 1e6, eps 1e-6, tied, context 40960. Full size.
    "qwen3-0.6b": ("qwen3-0.6b",
                   dict(arch="qwen3", dim=1024, n_layers=28, n_heads=16, n_kv_heads=8, head_dim=128,
                        ffn=3072, n_vocab=151936, ctx=40960, rope_theta=1000000.0, rms_eps=1e-6,
                        tied=True, qk_norm=True, tok="qwen2", bos=151643, eos=151645, pad=151643,
                        add_bos=False,
                        specials={151643: "<|endoftext|>", 151644: "<|im_start|>", 151645: "<|im_end|>"},
                        prompts="qwen3-bpe")),
    # microsoft/phi-2 with 4 of its 32 layers: phi2 (one LayerNorm with bias feeding attention and
    # an ungated GELU FFN in parallel, biases everywhere, untied head with bias), 2560 hidden, 32
    # heads of 80 (= KV heads), partial RoPE over 32 dims (partial_rotary_factor 0.4), FFN 10240,
    # vocab 51200 (BPE `phi-2`, the GPT-2 pre-tokenizer; <|endoftext|> 50256 is BOS and EOS),
    # RoPE theta 10000, LayerNorm eps 1e-5, context 2048.
    "phi-2": ("phi-2",
              dict(arch="phi2", dim=2560, n_layers=4, layers_real=32, n_heads=32, n_kv_heads=32,
                   ffn=10240, n_rot=32, n_vocab=51200, ctx=2048, rope_theta=10000.0, norm_eps=1e-5,
                   tok="phi-2", bos=50256, eos=50256, add_bos=False,
                   specials={50256: "<|endoftext|>"}, prompts="phi2-bpe")),
    # microsoft/Phi-3.5-mini-instruct with 4 of its 32 layers: phi3 (fused attn_qkv and gate|up
    # ffn_up), 3072 hidden, 32 heads of 96 (= KV heads), FFN 8192, vocab 32064 (the Llama 2
    # SentencePiece layout plus <|endoftext|> <|assistant|> ... <|end|> <|user|> at 32000-32010),
    # RoPE theta 10000, eps 1e-5, context 131072 with LongRoPE: original context 4096, 48 long
    # and 48 short factors, attn_factor √(1 + ln 32 / ln 4096) (what llama.cpp's converter
    # writes). The factors are a smooth ramp over the real lists' range (short 1.0-2.84, long
    # 1.08-64), not their exact digits.
    "phi-3.5-mini": ("phi-3.5-mini",
                     dict(arch="phi3", dim=3072, n_layers=4, layers_real=32, n_heads=32,
                          n_kv_heads=32, ffn=8192, n_vocab=32064, ctx=131072, orig_ctx=4096,
                          sliding_window=262144, rope_theta=10000.0, rms_eps=1e-5, tok="spm",
                          bos=1, eos=32000, add_bos=False,
                          specials={32000 + i: t for i, t in enumerate(
                              ["<|endoftext|>", "<|assistant|>", "<|placeholder1|>", "<|placeholder2|>",
                               "<|placeholder3|>", "<|placeholder4|>", "<|system|>", "<|end|>",
                               "<|placeholder5|>", "<|placeholder6|>", "<|user|>"])},
                          eot=32007, prompts="phi3-spm")),
    # google/gemma-2-2b with 4 of its 26 layers: gemma2 (GeGLU, √n_embd embeddings, post-norms,
    # attention softcap 50 and final logit softcap 30, sliding window 4096 on even layers), 2304
    # hidden, 8 heads and 4 KV heads of 256, FFN 9216, vocab 256000 (SentencePiece, no space
    # prefix; <start_of_turn> <end_of_turn>), RoPE theta 10000, eps 1e-6, tied, context 8192.
    "gemma-2-2b": ("gemma-2-2b",
                   dict(arch="gemma2", dim=2304, n_layers=4, layers_real=26, n_heads=8, n_kv_heads=4,
                        head_dim=256, ffn=9216, n_vocab=256000, ctx=8192, rope_theta=10000.0,
                        rms_eps=1e-6, tied=True, attn_softcap=50.0, final_softcap=30.0,
                        sliding_window=4096, tok="spm", add_space_prefix=False,
                        specials_end=["<start_of_turn>", "<end_of_turn>"], prompts="gemma2-spm")),
    # Llama-3.2-1B: a tied head and Llama 3 RoPE scaling (the `rope_freqs.weight` factors), 2048
    # hidden, 16 layers, 32 heads of 64, 8 KV heads, FFN 8192, vocab 128256 (BPE `llama-bpe`, the
    # 256 specials at 128000-128255), RoPE theta 500000, eps 1e-5; context cut to 8192 (real
    # 131072). Full size.
    "llama3.2-1b": ("llama3.2-1b",
                    dict(dim=2048, n_layers=16, n_heads=32, n_kv_heads=8, ffn=8192, n_vocab=128256,
                         ctx=8192, rope_theta=500000.0, rms_eps=1e-5, tied=True,
                         llama3_rope=dict(factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                          original_context=8192),
                         tok="llama-bpe", bos=128000, eos=128001, eot=128009, add_bos=True,
                         specials=None, prompts="llama-bpe")),  # specials: LLAMA3_SPECIALS
    # google/gemma-3-1b-pt: gemma3 (gemma's layer plus q/k norms, post-norms; 5 sliding-window
    # layers of 512 then 1 global, local RoPE base 10000), 1152 hidden, 26 layers, 4 heads and 1
    # KV head of 256, FFN 6912, vocab 262144 (SentencePiece, no space prefix), RoPE theta 1e6,
    # eps 1e-6, tied, context 32768. Full size.
    "gemma-3-1b": ("gemma-3-1b",
                   dict(arch="gemma3", dim=1152, n_layers=26, n_heads=4, n_kv_heads=1, head_dim=256,
                        ffn=6912, n_vocab=262144, ctx=32768, rope_theta=1000000.0, rms_eps=1e-6,
                        tied=True, qk_norm=True, sliding_window=512, tok="spm",
                        add_space_prefix=False, specials_end=["<start_of_turn>", "<end_of_turn>"],
                        prompts="gemma-spm")),
    # mistralai/Mixtral-8x7B-v0.1 with 1 of its 32 layers: llama with 8 experts, 2 routed per
    # token (softmax top-k, renormalized), 4096 hidden, 32 heads of 128, 8 KV heads, FFN 14336
    # per expert, vocab 32000 (Llama 2 SentencePiece), RoPE theta 1e6, eps 1e-5, untied, context
    # 32768. One layer is 1.41 B expert weights (a 2.9 GB F16 intermediate).
    "mixtral-8x7b": ("mixtral-8x7b",
                     dict(dim=4096, n_layers=1, layers_real=32, n_heads=32, n_kv_heads=8, ffn=14336,
                          n_expert=8, n_expert_used=2, n_vocab=32000, ctx=32768,
                          rope_theta=1000000.0, rms_eps=1e-5, tok="spm", prompts="mixtral-spm")),
}
# Llama 3's 256 special tokens (128000-128255), named as in its tokenizer.json.
LLAMA3_SPECIALS = {128000: "<|begin_of_text|>", 128001: "<|end_of_text|>", 128004: "<|finetune_right_pad_id|>",
                   128006: "<|start_header_id|>", 128007: "<|end_header_id|>", 128008: "<|eom_id|>",
                   128009: "<|eot_id|>", 128010: "<|python_tag|>"}
_r = itertools.count()
for _i in range(128000, 128256):
    if _i not in LLAMA3_SPECIALS:
        LLAMA3_SPECIALS[_i] = f"<|reserved_special_token_{next(_r)}|>"
SHAPES["llama3.2-1b"][1]["specials"] = LLAMA3_SPECIALS
REAL_SHAPES = [s for s in SHAPES if s not in ("tinyllama", "llama3-8b")]
SPACE = "\u2581"  # ▁, SentencePiece's word-start marker


def spm_pieces():
    """The synthetic SentencePiece pieces, in rank order: ▁, the printable ASCII characters, then
    ▁-prefixed and bare lowercase strings of growing length."""
    yield from dict.fromkeys([SPACE] + [c for c in string.printable if c not in string.whitespace])
    for n in itertools.count(1):
        for combo in itertools.product(string.ascii_lowercase, repeat=n):
            for prefix in (SPACE, ""):
                if n > 1 or prefix:
                    yield prefix + "".join(combo)


def spm_vocab(n_vocab: int, specials: dict[int, str] | None = None,
              specials_end: list[str] | None = None) -> dict:
    """<unk> <s> </s>, the 256 <0xXX> byte-fallback tokens, then the pieces scored by rank.
    `specials` (id → text) are control tokens at those ids, `specials_end` control tokens at the
    end (Gemma's turn tokens)."""
    specials = dict(specials or {})
    for i, t in enumerate(specials_end or []):
        specials[n_vocab - len(specials_end) + i] = t
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL] + [gguf.TokenType.BYTE] * 256
    scores = [0.0] * 259
    pieces = spm_pieces()
    rank = 0
    while len(tokens) < n_vocab:
        if len(tokens) in specials:
            tokens.append(specials[len(tokens)])
            types.append(gguf.TokenType.CONTROL)
            scores.append(0.0)
        else:
            tokens.append(next(pieces))
            types.append(gguf.TokenType.NORMAL)
            scores.append(-float(rank))
            rank += 1
    assert len(tokens) == len(set(tokens)) == n_vocab
    return dict(model="llama", tokens=tokens, scores=scores, types=types)


def _make_llama():
    """tests/models/make_llama.py: its corpus, BPE trainer and GPT-2 byte table (imported only for
    BPE shapes, so the benchmark shapes need nothing outside this folder)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "models"))
    import make_llama
    return make_llama


def bpe_vocab(n_vocab: int, pre: str, specials: dict[int, str]) -> dict:
    """A GPT-2 byte-level BPE vocabulary of n_vocab tokens for pre-tokenizer `pre`: the 256 byte
    symbols, ~2000 merges trained on make_llama.py's corpus split the family's way (digits one by
    one for qwen2, in threes otherwise), then synthetic merges (Ġ-prefixed and bare lowercase
    strings of growing length, each its prefix + one letter) until full; `specials` (id → text)
    are control tokens at those ids, every other id a normal token."""
    ml = _make_llama()
    b2u = ml.bytes_to_unicode()
    pretok = ml.PRETOK_QWEN if pre == "qwen2" else ml.PRETOK
    counts: Counter = Counter()
    for w in pretok.findall(ml.CORPUS):
        counts["".join(b2u[b] for b in w.encode("utf-8"))] += 1
    merges = ml.train_bpe(counts, 2000, max_len=16)
    need = n_vocab - len(specials)
    regular = list(dict.fromkeys([b2u[b] for b in range(256)] + [a + b for a, b in merges]))
    have = set(regular)
    G = b2u[ord(" ")]  # Ġ
    for n in itertools.count(1):
        if len(regular) >= need:
            break
        for combo in itertools.product(string.ascii_lowercase, repeat=n):
            for prefix in (G, ""):
                s = prefix + "".join(combo)
                if len(s) > 1 and s not in have and len(regular) < need:
                    have.add(s)
                    regular.append(s)
                    merges.append((s[:-1], s[-1]))
    regular = regular[:need]
    tokens, types = [], []
    it = iter(regular)
    for i in range(n_vocab):
        if i in specials:
            tokens.append(specials[i])
            types.append(gguf.TokenType.CONTROL)
        else:
            tokens.append(next(it))
            types.append(gguf.TokenType.NORMAL)
    assert len(tokens) == len(set(tokens)) == n_vocab
    return dict(model="gpt2", pre=pre, tokens=tokens, types=types, merges=[f"{a} {b}" for a, b in merges])


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


def phi3_longrope_factors(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Phi-3.5-mini's LongRoPE divisors per rotated pair (n = n_rot/2 = 48): smooth ramps over the
    real lists' range, short 1.0 → 2.84 and long 1.08 → 64 (the real short list rises from 1.0
    to 2.84, the long one from 1.08 to about 64)."""
    t = np.linspace(0.0, 1.0, n, dtype=np.float64)
    short = 1.0 + 1.84 * t ** 2
    long = 1.08 * (64.0 / 1.08) ** t
    return long.astype(np.float32), short.astype(np.float32)


def write_f16(path: str, c: dict, q8_0: bool = False) -> None:
    """Writes shape `c` with random weights: the matrices in F16, vectors (norms, biases, RoPE
    factors) and the MoE router in F32. With `q8_0`, the F16 matrices are written as Q8_0
    instead, by gguf-py's quantizer (bit-exact with ggml's reference Q8_0, which is what
    llama-quantize runs on the F16 file: the same tensor bytes; see the module docstring)."""
    arch = c.get("arch", "llama")
    dim, ffn, n_vocab = c["dim"], c["ffn"], c["n_vocab"]
    head_dim = c.get("head_dim", dim // c["n_heads"])
    q_dim = c["n_heads"] * head_dim
    kv = c["n_kv_heads"] * head_dim
    gemma = arch in ("gemma2", "gemma3")
    rng = np.random.default_rng(SEED)

    # Scales keep activations in a sane range through 22 layers (no inf/NaN in f16 or the KV cache).
    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float16)

    def norm_w(n):
        return (np.float32(1.0) + rng.standard_normal(n, dtype=np.float32) * np.float32(0.1)).astype(np.float32)

    def bias(n, std=0.2):
        return rng.standard_normal(n, dtype=np.float32) * np.float32(std)

    w = gguf.GGUFWriter(path, arch)

    def add(name: str, a: np.ndarray) -> None:
        if q8_0 and a.dtype == np.float16:
            # llama-quantize widens F16 to F32 and quantizes that; so does this
            w.add_tensor(name, gguf.quants.quantize(a.astype(np.float32), gguf.GGMLQuantizationType.Q8_0),
                         raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            w.add_tensor(name, a)

    w.add_name(os.path.basename(path).split("-random")[0] + "-random")
    w.add_context_length(c["ctx"])
    w.add_embedding_length(dim)
    w.add_block_count(c["n_layers"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["n_heads"])
    w.add_head_count_kv(c["n_kv_heads"])
    if "n_expert" in c:
        w.add_expert_count(c["n_expert"])
        w.add_expert_used_count(c["n_expert_used"])
    if arch in ("llama", "qwen2", "phi3"):
        w.add_rope_dimension_count(head_dim)
    if arch == "phi2":
        w.add_rope_dimension_count(c["n_rot"])
    if "head_dim" in c:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if arch == "phi3":
        w.add_rope_scaling_orig_ctx_len(c["orig_ctx"])
        w.add_rope_scaling_attn_factors(float(np.sqrt(1 + np.log(c["ctx"] / c["orig_ctx"]) / np.log(c["orig_ctx"]))))
    if "sliding_window" in c:
        w.add_sliding_window(c["sliding_window"])
    if "attn_softcap" in c:
        w.add_attn_logit_softcapping(c["attn_softcap"])
        w.add_final_logit_softcapping(c["final_softcap"])
    w.add_rope_freq_base(c["rope_theta"])
    if arch == "phi2":
        w.add_layer_norm_eps(c["norm_eps"])
    else:
        w.add_layer_norm_rms_eps(c["rms_eps"])
    w.add_vocab_size(n_vocab)
    if q8_0:
        w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
        w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    else:
        w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tok = c.get("tok", "spm")
    if tok == "spm":
        v = spm_vocab(n_vocab, c.get("specials"), c.get("specials_end"))
        w.add_tokenizer_model("llama")
        if arch == "phi3":
            w.add_tokenizer_pre("default")
        w.add_token_list(v["tokens"])
        w.add_token_scores(v["scores"])
        w.add_token_types(v["types"])
        w.add_bos_token_id(c.get("bos", 1))
        w.add_eos_token_id(c.get("eos", 2))
        w.add_unk_token_id(0)
        if c.get("specials_end"):  # Gemma: <end_of_turn> ends a turn
            w.add_eot_token_id(n_vocab - 1)
        w.add_add_bos_token(c.get("add_bos", True))
        w.add_add_eos_token(False)
        w.add_add_space_prefix(c.get("add_space_prefix", True))
    else:
        v = bpe_vocab(n_vocab, tok, c["specials"])
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(tok)
        w.add_token_list(v["tokens"])
        w.add_token_types(v["types"])
        w.add_token_merges(v["merges"])
        w.add_bos_token_id(c["bos"])
        w.add_eos_token_id(c["eos"])
        if "pad" in c:
            w.add_pad_token_id(c["pad"])
        w.add_add_bos_token(c["add_bos"])
        w.add_add_eos_token(False)
    if "eot" in c:
        w.add_eot_token_id(c["eot"])

    # A tied head reads the embeddings as its weights: a smaller spread keeps its logits sane
    # (Gemma's, scaled by √n_embd at the input, smaller still), and 3× larger attention and FFN
    # outputs keep greedy text from repeating the last token (as tests/models/make_llama.py).
    tied = c.get("tied", False)
    out_k = 3.0 if arch in ("gemma2", "gemma3", "qwen3") else 1.0
    add("token_embd.weight", normal((n_vocab, dim), 0.04 if gemma else 0.15 if tied else 1.0))
    if "llama3_rope" in c:
        add("rope_freqs.weight", llama3_rope_factors(head_dim, c["rope_theta"], **c["llama3_rope"]))
    if arch == "phi3":
        long, short = phi3_longrope_factors(head_dim // 2)
        add("rope_factors_long.weight", long)
        add("rope_factors_short.weight", short)
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        add(p + "attn_norm.weight", norm_w(dim))
        if arch == "phi2":
            add(p + "attn_norm.bias", bias(dim, 0.1))
            add(p + "attn_qkv.weight", normal((q_dim + 2 * kv, dim), 1.0 / np.sqrt(dim)))
            add(p + "attn_qkv.bias", bias(q_dim + 2 * kv))
            add(p + "attn_output.weight", normal((dim, q_dim), 1.0 / np.sqrt(q_dim)))
            add(p + "attn_output.bias", bias(dim))
            add(p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim)))
            add(p + "ffn_up.bias", bias(ffn))
            add(p + "ffn_down.weight", normal((dim, ffn), 1.0 / np.sqrt(ffn)))
            add(p + "ffn_down.bias", bias(dim))
            continue
        if arch == "phi3":
            add(p + "attn_qkv.weight", normal((q_dim + 2 * kv, dim), 1.0 / np.sqrt(dim)))
        else:
            add(p + "attn_q.weight", normal((q_dim, dim), 1.0 / np.sqrt(dim)))
            add(p + "attn_k.weight", normal((kv, dim), 1.0 / np.sqrt(dim)))
            add(p + "attn_v.weight", normal((kv, dim), 1.0 / np.sqrt(dim)))
        if c.get("qkv_bias"):
            for name, n in (("attn_q", q_dim), ("attn_k", kv), ("attn_v", kv)):
                add(p + name + ".bias", bias(n))
        if c.get("qk_norm"):
            # ≈ 2 for qwen3: normed unit-RMS heads alone give near-uniform attention
            k = 1.0 if gemma else 2.0
            add(p + "attn_q_norm.weight", k * norm_w(head_dim))
            add(p + "attn_k_norm.weight", k * norm_w(head_dim))
        add(p + "attn_output.weight", normal((dim, q_dim), out_k / np.sqrt(q_dim)))
        if gemma:
            add(p + "post_attention_norm.weight", norm_w(dim))
        add(p + "ffn_norm.weight", norm_w(dim))
        if "n_expert" in c:
            ne = c["n_expert"]
            # the router stays F32 (llama-quantize leaves ffn_gate_inp alone)
            add(p + "ffn_gate_inp.weight",
                         (rng.standard_normal((ne, dim), dtype=np.float32) * np.float32(1.5 / np.sqrt(dim))))
            add(p + "ffn_gate_exps.weight", normal((ne, ffn, dim), 1.0 / np.sqrt(dim)))
            add(p + "ffn_up_exps.weight", normal((ne, ffn, dim), 1.0 / np.sqrt(dim)))
            add(p + "ffn_down_exps.weight", normal((ne, dim, ffn), 1.0 / np.sqrt(ffn)))
            continue
        if arch == "phi3":
            add(p + "ffn_up.weight", normal((2 * ffn, dim), 1.0 / np.sqrt(dim)))  # gate rows, then up
        else:
            add(p + "ffn_gate.weight", normal((ffn, dim), 1.0 / np.sqrt(dim)))
            add(p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim)))
        add(p + "ffn_down.weight", normal((dim, ffn), out_k / np.sqrt(ffn)))
        if gemma:
            add(p + "post_ffw_norm.weight", norm_w(dim))
    if arch == "phi2":
        add("output_norm.weight", norm_w(dim))
        add("output_norm.bias", bias(dim, 0.1))
        add("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim)))
        add("output.bias", bias(n_vocab, 0.5))
    else:
        # ≈ 4 for Gemma: its small tied embeddings alone give too narrow logits for clear margins
        add("output_norm.weight", (4 if gemma else 1) * norm_w(dim))
        if not tied:
            add("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim)))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def path_of(shape: str, qtype: str) -> str:
    return random_gguf.bench_path(f"{SHAPES[shape][0]}-random-{qtype}.gguf")


def build(shape: str, qtypes: tuple[str, ...]) -> None:
    """Writes the shape once as F16 and quantizes it to each of `qtypes` (llama-quantize; only a
    complete file ever gets its final name), then deletes the F16 intermediate."""
    if not os.access(random_gguf.QUANTIZE, os.X_OK):
        sys.exit(f"error: {random_gguf.QUANTIZE} is missing: build llama.cpp first "
                 "(scripts/oracle/build-llama-cpp.sh) or set LLAMA_QUANTIZE")
    outs = {t: path_of(shape, t) for t in qtypes}
    first = next(iter(outs.values()))
    os.makedirs(os.path.dirname(first), exist_ok=True)
    f16 = first + ".f16.tmp"
    tmps = [p + ".tmp" for p in outs.values()]
    try:
        print(f"writing {f16} (random weights, F16)", file=sys.stderr)
        write_f16(f16, SHAPES[shape][1])
        for t, out in outs.items():
            print(f"llama-quantize -> {t}", file=sys.stderr)
            # Its per-tensor log is long: shown only when it fails.
            q = subprocess.run([random_gguf.QUANTIZE, f16, out + ".tmp", t, str(os.cpu_count() or 2)],
                               capture_output=True, text=True)
            if q.returncode != 0:
                sys.exit(f"error: llama-quantize failed (exit {q.returncode}):\n{q.stdout}{q.stderr}")
            os.replace(out + ".tmp", out)
    finally:
        for p in [f16] + tmps:
            if os.path.exists(p):
                os.remove(p)


def build_q8_0_without_llama_quantize(shape: str) -> None:
    """The shape's Q8_0 file quantized by gguf-py while it is written (write_f16(q8_0=True))."""
    out = path_of(shape, "Q8_0")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    try:
        print(f"writing {out} (random weights, Q8_0 by gguf-py)", file=sys.stderr)
        write_f16(out + ".tmp", SHAPES[shape][1], q8_0=True)
        os.replace(out + ".tmp", out)  # only a complete file ever has the final name
    finally:
        if os.path.exists(out + ".tmp"):
            os.remove(out + ".tmp")


def compare_tensors(a: str, b: str) -> int:
    """Prints the tensors whose type, shape or bytes differ between two GGUFs; 0 when none do."""
    ta = {t.name: t for t in gguf.GGUFReader(a).tensors}
    tb = {t.name: t for t in gguf.GGUFReader(b).tensors}
    bad = sorted(set(ta) ^ set(tb))
    for n in bad:
        print(f"{n}: only in {'the first' if n in ta else 'the second'}")
    for n in sorted(set(ta) & set(tb)):
        x, y = ta[n], tb[n]
        if x.tensor_type != y.tensor_type or list(x.shape) != list(y.shape) or \
                x.data.tobytes() != y.data.tobytes():
            print(f"{n}: {x.tensor_type.name}{list(x.shape)} vs {y.tensor_type.name}{list(y.shape)}"
                  f"{'' if x.data.tobytes() == y.data.tobytes() else ', bytes differ'}")
            bad.append(n)
    print(f"{len(ta)} tensors, {len(bad)} differ")
    return 1 if bad else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=list(SHAPES), default="tinyllama")
    ap.add_argument("--type", choices=TYPES, default="Q4_K_M",
                    help="weight type (the real-shape shapes are built in both types at once)")
    ap.add_argument("--out", help="default: <cache>/models/bench/<stem>-random-<TYPE>.gguf")
    ap.add_argument("--force", action="store_true", help="rebuild even if the file exists")
    ap.add_argument("--print-path", action="store_true", help="only print where the file is (or would be)")
    ap.add_argument("--list", action="store_true", help="the real-check shapes, cheapest first")
    ap.add_argument("--prompts", action="store_true", help="the shape's prompt set (make-generate-goldens.py)")
    ap.add_argument("--quantizer", choices=("llama-quantize", "gguf-py"), default="llama-quantize",
                    help="gguf-py: Q8_0 only, without llama.cpp (what npm test uses)")
    ap.add_argument("--compare-tensors", nargs=2, metavar=("A", "B"),
                    help="only compare two GGUFs' tensors (type, shape, bytes)")
    a = ap.parse_args()
    if a.compare_tensors:
        sys.exit(compare_tensors(*a.compare_tensors))
    if a.list:
        print("\n".join(REAL_SHAPES))
        return
    if a.prompts:
        print(SHAPES[a.shape][1].get("prompts", "llama-spm"))
        return
    out = a.out or path_of(a.shape, a.type)
    if not a.print_path and (a.force or not os.path.exists(out)):
        if a.quantizer == "gguf-py":
            if a.type != "Q8_0" or a.out:
                sys.exit("--quantizer gguf-py writes Q8_0 only, to the default path")
            build_q8_0_without_llama_quantize(a.shape)
        elif a.out:
            random_gguf.build_q4_k_m(out, lambda p: write_f16(p, SHAPES[a.shape][1])) if a.type == "Q4_K_M" \
                else sys.exit("--out is for Q4_K_M only")
        else:
            # the real-check shapes are always made in both types from one F16
            build(a.shape, TYPES if a.shape in REAL_SHAPES else (a.type,))
    print(out)


if __name__ == "__main__":
    main()
