#!/usr/bin/env python3
"""Deterministic random-weight GGUF test models: `llama`, `qwen2`, `qwen3`, `phi3`, `gemma`, `gemma2`,
`phi2`, a mixtral-style mixture of experts (`llama` with experts), `qwen3moe` and `qwen2moe`.

    python3 tests/models/make_llama.py                    # all variants into ~/.cache/wasm-chord/models/test/
    python3 tests/models/make_llama.py --out DIR --only llama-spm-f32 llama-bpe-q8_0
    python3 tests/models/make_llama.py --verify           # also build each file twice and compare hashes
    python3 tests/models/make_llama.py --check            # compare with the sha256 table below (exit 1 on mismatch)
    python3 tests/models/make_llama.py --list             # names, one per line

Needs only numpy and gguf (versions pinned in scripts/oracle/requirements.txt); no llama.cpp, no
network, no tokenizer library: both vocabularies are trained here by a small deterministic BPE trainer
on the built-in CORPUS below, so a test can regenerate the exact files the goldens were made from.

Variants: llama-{spm,bpe}-{f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1}, qwen2-bpe-{f32,q8_0} and
qwen3-bpe-{f32,q8_0} (see "Qwen models" below), phi3-spm-{f32,q8_0} ("Phi-3 models"),
gemma-spm-{f32,q8_0} and gemma2-spm-{f32,q8_0} ("Gemma models"), phi2-bpe-{f32,q8_0} ("Phi-2
models"), mixtral-spm-{f32,q8_0} ("Mixtral models"), qwen3moe-bpe-{f32,q8_0} ("Qwen3-MoE models"), qwen2moe-bpe-{f32,q8_0} ("Qwen2-MoE models"). Same weights for every variant of a
tokenizer (the same seed), quantized by gguf-py (`gguf.quants.quantize`, which is written to be
bit-exact with ggml's reference quantizers; scripts/oracle/check-quants.py verifies that against
llama-quantize). All 2-D weights (token_embd and output included) take the variant's type; the RMSNorm
weights stay F32.

Shapes (ggml order is [cols, rows]; below as numpy (rows, cols) = (out, in)):
    dim 128, 4 layers, 8 heads (head_dim 16), 2 KV heads (GQA 4:1), FFN 352 (a multiple of 32 so
    every 32-block quant fits; not a power of two on purpose), context 512, rope theta 10000
    (rope type NORM: llama.cpp's llama graph rotates adjacent pairs (x[2i], x[2i+1])), rms eps 1e-5,
    untied output.weight.
    token_embd.weight        (n_vocab, 128)
    blk.N.attn_norm.weight   (128,)
    blk.N.attn_q.weight      (128, 128)
    blk.N.attn_k.weight      (32, 128)          n_kv_heads*head_dim = 2*16
    blk.N.attn_v.weight      (32, 128)
    blk.N.attn_output.weight (128, 128)
    blk.N.ffn_norm.weight    (128,)
    blk.N.ffn_gate.weight    (352, 128)
    blk.N.ffn_up.weight      (352, 128)
    blk.N.ffn_down.weight    (128, 352)
    output_norm.weight       (128,)
    output.weight            (n_vocab, 128)

Tokenizers:
    spm: tokenizer.ggml.model="llama" (SentencePiece-style, llama-2 layout): 0 <unk>, 1 <s>, 2 </s>,
         3..258 byte-fallback tokens <0x00>..<0xFF>, then merged pieces (score = -rank), then single
         characters; add_space_prefix=true; "\\n", "\\t", "\\r" have no piece (byte fallback).
    bpe: tokenizer.ggml.model="gpt2", tokenizer.ggml.pre="llama-bpe" (llama-3 pre-tokenizer):
         256 byte-level symbols, merged tokens in merge order, then control tokens
         <|begin_of_text|> (BOS) <|end_of_text|> (EOS) <|start_header_id|> <|end_header_id|> <|eot_id|>.

Qwen models (same dim 128, 4 layers, 8 heads, 2 KV heads, FFN 352, ctx 512; rope theta 1e6 and
rms eps 1e-6 as the real Qwen 2.5 / 3 files; rope type NEOX in llama.cpp: pairs (x[i], x[i+d/2]);
tied embeddings: no output.weight, llama.cpp then reuses token_embd; no rope.dimension_count key,
so n_rot defaults to the head size):
    qwen2: head_dim 16 (= 128/8) and biases on q, k and v:
    blk.N.attn_q.bias        (128,)
    blk.N.attn_k.bias        (32,)
    blk.N.attn_v.bias        (32,)
    qwen3: head_dim 32 from qwen3.attention.key_length/value_length (8*32 = 256 != dim, as
           Qwen3-0.6B's 16*128 != 1024), no biases, per-head RMS norms of q and k before RoPE:
    blk.N.attn_q.weight      (256, 128)
    blk.N.attn_k.weight      (64, 128)          2*32
    blk.N.attn_v.weight      (64, 128)
    blk.N.attn_output.weight (128, 256)
    blk.N.attn_q_norm.weight (32,)
    blk.N.attn_k_norm.weight (32,)
    Tokenizer: gpt2 BPE with tokenizer.ggml.pre="qwen2", trained with a Qwen-like split (single
    digits), then control tokens <|endoftext|> (BOS and padding, as in Qwen's files)
    <|im_start|> <|im_end|> (EOS); add_bos_token=false, as Qwen's files say.

Phi-3 models (dim 128, 4 layers, 8 heads of 16, 8 KV heads as Phi-3-mini, FFN 352, rope theta
1e4 type NEOX, rms eps 1e-5, untied output; the spm vocabulary plus control tokens <|endoftext|>
(EOS) <|assistant|> <|end|> (EOT) <|system|> <|user|>), with Phi-3's fused tensors:
    blk.N.attn_qkv.weight    (384, 128)         q rows (128), then k (128), then v (128)
    blk.N.ffn_up.weight      (704, 128)         gate rows (352), then up rows (352); no ffn_gate
    rope_factors_long.weight  (8,)              LongRoPE frequency divisors, n_rot/2
    rope_factors_short.weight (8,)
    context_length = rope.scaling.original_context_length = 4096: llama.cpp uses the long factors
    only when n_ctx > the original context, so the goldens (n_ctx 2048) use the short ones.

Gemma models (dim 128, 4 layers, FFN 352, rope theta 1e4 type NEOX, rms eps 1e-6; head_dim 32
from key_length/value_length, so n_head*head_dim != dim as in Gemma 7B; GeGLU FFN; no output.weight:
llama.cpp's gemma graphs always reuse token_embd; the spm vocabulary plus control tokens
<start_of_turn> <end_of_turn> (EOT), add_space_prefix=false as Gemma's files):
    gemma:  8 heads, 1 KV head (multi-query, as Gemma 2B)
    blk.N.attn_q.weight      (256, 128)
    blk.N.attn_k.weight      (32, 128)
    blk.N.attn_v.weight      (32, 128)
    blk.N.attn_output.weight (128, 256)
    gemma2: 8 heads, 4 KV heads (as Gemma 2 2B), and per layer two more norms:
    blk.N.post_attention_norm.weight (128,)     on the attention output, before the residual add
    blk.N.post_ffw_norm.weight       (128,)     on the FFN output, before the residual add
    gemma2.attn_logit_softcapping = 4, gemma2.final_logit_softcapping = 8 (the real files' 50 and
    30 would hardly touch these small scores and logits), gemma2.attention.sliding_window = 16 on
    the even layers (no sliding_window_pattern key: llama.cpp's default period 2), shorter than
    the goldens' prompts plus 32 tokens.
    Weights as llama's, except token_embd σ 0.04 (scaled by √128 at the input; with the tied head a
    larger one makes greedy text repeat the last token), attn_output/ffn_down 3× larger, and
    output_norm 4·(1 + N(0, 0.1²)) to widen the logit gaps.

Phi-2 models (dim 128, 4 layers, 4 heads of 32, 4 KV heads as Phi-2, FFN 352, LayerNorm eps 1e-5,
rope theta 1e4 type NEOX over rope.dimension_count = 12 of the 32 head dimensions; the bpe
vocabulary with tokenizer.ggml.pre = "phi-2"), llama.cpp's phi2 tensors, biases everywhere:
    blk.N.attn_norm.weight / .bias   (128,)     one LayerNorm feeding attention and FFN
    blk.N.attn_qkv.weight    (384, 128)         q, k, v rows;  blk.N.attn_qkv.bias (384,)
    blk.N.attn_output.weight (128, 128)         .bias (128,)
    blk.N.ffn_up.weight      (352, 128)         .bias (352,)   ungated GELU
    blk.N.ffn_down.weight    (128, 352)         .bias (128,)
    output_norm.weight / .bias (128,);  output.weight (n_vocab, 128), output.bias (n_vocab,)

Mixtral models (general.architecture = "llama", as llama.cpp's Mixtral files: llama's shapes
and spm vocabulary, with llama.expert_count = 4 and llama.expert_used_count = 2; per layer the
dense FFN is replaced by a router and 3-D expert tensors, FFN 352 per expert; numpy shapes, the
GGUF dims are reversed, e.g. ffn_gate_exps is [128, 352, 4]):
    blk.N.ffn_gate_inp.weight  (4, 128)         router; stays F32 in every variant, as
                                                llama-quantize leaves it
    blk.N.ffn_gate_exps.weight (4, 352, 128)    expert e's gate is [e]
    blk.N.ffn_up_exps.weight   (4, 352, 128)
    blk.N.ffn_down_exps.weight (4, 128, 352)

Qwen3-MoE models (qwen3moe-bpe-{f32,q8_0}; general.architecture = "qwen3moe"): the qwen3 model
(head_dim 32, q/k norms, tied, the qwen2 BPE vocabulary) with every layer's FFN replaced by a
router and 8 experts of 96 (qwen3moe.expert_count = 8, expert_used_count = 2,
expert_feed_forward_length = 96; feed_forward_length 352 is written but unused, as in
Qwen3-30B-A3B's files); llama.cpp's qwen3moe graph: softmax gating, the chosen weights normalized:
    blk.N.ffn_gate_inp.weight  (8, 128)         router (F32 in every variant)
    blk.N.ffn_gate_exps.weight (8, 96, 128)
    blk.N.ffn_up_exps.weight   (8, 96, 128)
    blk.N.ffn_down_exps.weight (8, 128, 96)     σ 3/√96, as Qwen's dense ffn_down

Qwen2-MoE models (qwen2moe-bpe-{f32,q8_0}; general.architecture = "qwen2moe"): the qwen2 model
(q/k/v biases, head_dim 16, the qwen2 BPE vocabulary; untied output.weight) with every layer's FFN replaced by
a router, 8 experts of 96 (2 used) and a shared expert of 192 (qwen2moe.expert_feed_forward_length
= 96, expert_shared_feed_forward_length = 192); llama.cpp's qwen2moe graph: softmax gating, the
chosen weights *not* normalized, plus the shared expert scaled by sigmoid(ffn_gate_inp_shexp · x):
    blk.N.ffn_gate_inp.weight        (8, 128)   router (F32 in every variant)
    blk.N.ffn_{gate,up}_exps.weight  (8, 96, 128);  blk.N.ffn_down_exps.weight (8, 128, 96)
    blk.N.ffn_gate_inp_shexp.weight  (128,)     the shared expert's gate (1-D: F32)
    blk.N.ffn_{gate,up}_shexp.weight (192, 128);    blk.N.ffn_down_shexp.weight (128, 192)

Weight scales were chosen so greedy decoding has clear margins (see "gaps" in the generation goldens).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tempfile
import threading
from collections import Counter

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT

# sha256 of every variant, as made by this script with numpy/gguf pinned in scripts/oracle/requirements.txt.
# --check compares against this table; regenerate it with --print-sha after a deliberate change.
SHA256 = {
    "llama-spm-f32": "a7049253f13d45a85e290c3ace0a5a69c36f8dacb9ab29aea5797f958532007b",
    "llama-spm-f16": "8b6e0b874e355846567ac13fc0613ac1fa8e6774e5fae525f228dd754c21da80",
    "llama-spm-bf16": "e38d2f5f89697122323c25c2a657e08321daaf820e45846ac20f34437c668758",
    "llama-spm-q8_0": "ac032c87ac778339edd09af3f418351af3b8529bb33f3dede787751258226de2",
    "llama-spm-q4_0": "ac7b815e0d70433a6fc19c3e63d044ea645d4b4c681b971831f2a37840a062e0",
    "llama-spm-q4_1": "3f859ebe58976046d4b2e2d1db61dd48bce4546b48e38b1551f8712da6b989d1",
    "llama-spm-q5_0": "43580c4ea53d39dcc7a23ee00801b37a275e99f322a633e0f4a873a133f266dd",
    "llama-spm-q5_1": "ae0545d94c8ddd92d23847413a4d96ff8fe82e5b1be5b74211f60de7114bd6ea",
    "llama-bpe-f32": "82dd4b6b216655295643f16403d9e8e905b469731695b9746908bd2a06a59962",
    "llama-bpe-f16": "2681a7091d5303e3668447f9dceecb5b739bc420c4470e0fa6770fad046758e2",
    "llama-bpe-bf16": "e3c9c6d99f3239fdc0f60717bcc8e2bf2e038d4387c4a2d80627d6f6f8aab4a9",
    "llama-bpe-q8_0": "813eb14faf465bd1dfa851ec335a8a3d5a03c412b90f6d41ba9fb15c9764a85b",
    "llama-bpe-q4_0": "05e629804ccdc8e0ac3b06538f57246a6a191453e8ee86ad7c47d1fadfc95cae",
    "llama-bpe-q4_1": "0feb43c58d588185b25aeac335c8d4163fa374f96a702e09854250a86573ab5c",
    "llama-bpe-q5_0": "23170e0c60480e6ee9581801cddb17daec9071a920513441830e6f4195156cb9",
    "llama-bpe-q5_1": "ce798114eb029edcdec83fc926f3705e9a521e26f6650efd85e9e14b5bdd8e49",
    "qwen2-bpe-f32": "05b4d165f275c170dbf068677fdcd6fbb2c9b516249cce4009474927e87d9f1c",
    "qwen2-bpe-q8_0": "89709326b49377ca49c996dd4bc4f4cc9c3582e2b068bfc2cb2e8bc935abd9bc",
    "qwen3-bpe-f32": "40a6980f67ac9c08cee6dfdc37c349dc1d5b12cb59778063da6f5cdee38e6d57",
    "qwen3-bpe-q8_0": "f6442d641648c9969a60963078b212d0fd848264472d80952994cbb8efbb2418",
    "phi3-spm-f32": "7716b6d815839c833d6ad03da607ce90f63a6598bd25841063fcb1924786225f",
    "phi3-spm-q8_0": "f498f4bf5c5af9c38d0ae6073285c3b483d7b6a76631ba1c9f3dbb6411642fb6",
    "gemma-spm-f32": "ad9dd8b32c734f14a579b87f6ab4ec60f77ec885061ecdc5a18f071e0a44173d",
    "gemma-spm-q8_0": "6f5ee970679d985d619b243c7e8baa233a4fd5396a3b7652930dd1c22adc85df",
    "gemma2-spm-f32": "509f63cea338995b8045f17030df7195b6f583f65ad77bd57e58bc077de00491",
    "gemma2-spm-q8_0": "5ca7487f7d34bdb4b141eb4f8dac7b89fa67b96c45e59a1404b5c924ca87ef34",
    "phi2-bpe-f32": "465494a2b0ce90915d18ec7f28b258bed8d357e865f9e4efdc4b5fce699a3d58",
    "phi2-bpe-q8_0": "198a39a24538e9daaf892a7e10daa4f710d596d7497f54e113ca193a73bffbdb",
    "mixtral-spm-f32": "1e26d4201df8c412e5bf85427dc248990bcf0dd89df8ab4c8ca18d494ed2187d",
    "mixtral-spm-q8_0": "038efeea36026b5658aeeb3a2544ee6422fa77cb1331ae29cf5a211f44797eca",
    "qwen3moe-bpe-f32": "9b4b1ad2841492f0ef85286318dd4a9396de3ba369c2c58563f0dc5b56fc68e2",
    "qwen3moe-bpe-q8_0": "52fcf32e0aab4901e91e9dadba0c872f46d9f22d24790073f4b5e2e88dbc0b82",
    "qwen2moe-bpe-f32": "4e8f1222cd02a0d5f0614425ae95ad935efce4e2fa64fc1562ec1aed31e03ca9",
    "qwen2moe-bpe-q8_0": "d2dba685ca403519941a22317886a607a1c37260b783bcf8361b54e174c98fe5",
}

CONFIG = dict(
    dim=128,
    n_layers=4,
    n_heads=8,
    n_kv_heads=2,
    ffn=352,
    ctx=512,
    rope_theta=10000.0,
    rms_eps=1e-5,
)

SEEDS = {"spm": 1234, "bpe": 5678, "qwen2": 9012, "qwen3": 3456, "phi3": 7890, "gemma": 1357, "gemma2": 2468, "phi2": 8024, "mixtral": 4680, "qwen3moe": 5791,
         "qwen2moe": 6802}

# The Qwen models: the llama shapes plus what each architecture changes (see the docstring).
QWEN_CONFIG = {
    "qwen2": dict(CONFIG, rope_theta=1000000.0, rms_eps=1e-6, head_dim=16, qkv_bias=True, qk_norm=False),
    "qwen3": dict(CONFIG, rope_theta=1000000.0, rms_eps=1e-6, head_dim=32, qkv_bias=False, qk_norm=True),
}
# qwen3moe: Qwen 3's attention with a mixture of experts in every layer (as Qwen3-30B-A3B: no
# dense FFN, no shared expert); the experts are narrower than the dense FFN, as the real ones
# (768 vs 6144), from qwen3moe.expert_feed_forward_length.
QWEN_CONFIG["qwen3moe"] = dict(QWEN_CONFIG["qwen3"], n_expert=8, n_expert_used=2, ffn_exp=96, down_scale=3.0)
# qwen2moe: Qwen 2's attention (biases) with experts and a shared expert in every layer (as
# Qwen1.5-MoE-A2.7B: routed weights not normalized; a shared SwiGLU expert, wider than the routed
# ones, gated per token by sigmoid(ffn_gate_inp_shexp · x)).
# Its output head is untied (llama.cpp's qwen2moe requires output.weight).
QWEN_CONFIG["qwen2moe"] = dict(QWEN_CONFIG["qwen2"], n_expert=8, n_expert_used=2, ffn_exp=96, ffn_shexp=192,
                               down_scale=3.0, untied=True)
QWEN_TYPES = ("f32", "q8_0")

# The Phi-3 models (see "Phi-3 models" in the docstring): llama's shapes with Phi-3-mini's
# n_head_kv = n_head, a context equal to the original (LongRoPE) context so that llama.cpp and
# we both pick rope_factors_short, and Phi-3's sliding_window key (which llama.cpp ignores).
PHI3_CONFIG = dict(CONFIG, n_kv_heads=8, ctx=4096, orig_ctx=4096, sliding_window=2047)
PHI3_TYPES = ("f32", "q8_0")
PHI3_SPECIALS = ["<|endoftext|>", "<|assistant|>", "<|end|>", "<|system|>", "<|user|>"]

# The Gemma models (see "Gemma models" in the docstring).
GEMMA_CONFIG = {
    "gemma": dict(CONFIG, n_kv_heads=1, head_dim=32, rms_eps=1e-6),
    "gemma2": dict(
        CONFIG, n_kv_heads=4, head_dim=32, rms_eps=1e-6, sliding_window=16, attn_softcap=4.0, final_softcap=8.0
    ),
}
GEMMA_TYPES = ("f32", "q8_0")
GEMMA_SPECIALS = ["<start_of_turn>", "<end_of_turn>"]

# The Phi-2 models (see "Phi-2 models" in the docstring).
PHI2_CONFIG = dict(CONFIG, n_heads=4, n_kv_heads=4, n_rot=12, norm_eps=1e-5)
PHI2_TYPES = ("f32", "q8_0")
# The Mixtral models (see "Mixtral models" in the docstring): llama's shapes with experts.
MIXTRAL_CONFIG = dict(CONFIG, n_expert=4, n_expert_used=2)
MIXTRAL_TYPES = ("f32", "q8_0")
VOCAB_TARGET = 2000  # total tokens, approximately (training stops early if pairs run out)

TYPES = {
    "f32": QT.F32,
    "f16": QT.F16,
    "bf16": QT.BF16,
    "q8_0": QT.Q8_0,
    "q4_0": QT.Q4_0,
    "q4_1": QT.Q4_1,
    "q5_0": QT.Q5_0,
    "q5_1": QT.Q5_1,
}
# llama_ftype values (general.file_type) for the variants
FILE_TYPE = {
    "f32": gguf.LlamaFileType.ALL_F32,
    "f16": gguf.LlamaFileType.MOSTLY_F16,
    "bf16": gguf.LlamaFileType.MOSTLY_BF16,
    "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    "q4_0": gguf.LlamaFileType.MOSTLY_Q4_0,
    "q4_1": gguf.LlamaFileType.MOSTLY_Q4_1,
    "q5_0": gguf.LlamaFileType.MOSTLY_Q5_0,
    "q5_1": gguf.LlamaFileType.MOSTLY_Q5_1,
}
VARIANTS = [f"llama-{tok}-{t}" for tok in ("spm", "bpe") for t in TYPES] + [
    f"{arch}-bpe-{t}" for arch in QWEN_CONFIG for t in QWEN_TYPES
] + [f"phi3-spm-{t}" for t in PHI3_TYPES] + [f"{arch}-spm-{t}" for arch in GEMMA_CONFIG for t in GEMMA_TYPES] + [f"phi2-bpe-{t}" for t in PHI2_TYPES] + [
    f"mixtral-spm-{t}" for t in MIXTRAL_TYPES
]

# ------------------------------------------------------------------------------------------------
# Training corpus for both vocabularies. Plain text written for this purpose; changing it changes
# every model hash.
# ------------------------------------------------------------------------------------------------
CORPUS = """\
Once upon a time, in a small village by the sea, there lived an old fisherman and his wife. Every
morning the fisherman went down to the water with his nets, and every evening he came back with
whatever the sea had given him. Some days it was a basket full of silver fish; other days it was
nothing at all. The village was quiet, the houses were small, and the people knew each other well.
The children played on the beach while their parents worked in the fields or mended the boats.

The quick brown fox jumps over the lazy dog. The lazy dog does not move. The fox jumps again and
again, and the dog keeps sleeping in the warm afternoon sun. A bird sings in the tree above them.

Question: What is the capital of France?
Answer: The capital of France is Paris. Paris is also the largest city in France.
Question: What is the capital of Germany?
Answer: The capital of Germany is Berlin.
Question: How many days are there in a week?
Answer: There are seven days in a week: Monday, Tuesday, Wednesday, Thursday, Friday, Saturday and Sunday.
Question: What is two plus two?
Answer: Two plus two is four. Three plus three is six. Ten times ten is one hundred.

Here is a list of fruits:
1. Apple
2. Banana
3. Cherry
4. Orange
5. Strawberry
Here is a list of colors: red, green, blue, yellow, purple, orange, black, white and gray.

The numbers from one to twenty are: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20.
In 2023 the company sold 1,250,000 units at $19.99 each; in 2024 it sold 3.5 million units.
Pi is approximately 3.14159 and e is approximately 2.71828. The speed of light is 299792458 m/s.

def fibonacci(n):
    \"\"\"Return the n-th Fibonacci number.\"\"\"
    if n < 2:
        return n
    return fibonacci(n - 1) + fibonacci(n - 2)

for i in range(10):
    print(i, fibonacci(i))

fn main() {
    let numbers: Vec<u32> = (1..=10).collect();
    let total: u32 = numbers.iter().sum();
    println!("total = {}", total);
}

{"name": "Alice", "age": 30, "city": "London", "languages": ["English", "French"], "active": true}
<html><head><title>Hello</title></head><body><p class="intro">Hello, world!</p></body></html>
https://example.com/docs/index.html?page=2&lang=en

I'm happy, you're kind, we've finished, they'll come, she'd know, it's done, don't worry.
Machine learning models read text as tokens. A tokenizer splits the text into pieces, and the model
predicts the next piece, one at a time. Greedy decoding always takes the most likely next token.
Language is full of patterns: words repeat, phrases repeat, and stories follow familiar shapes.
The weather today is sunny with a light breeze. Tomorrow there will be rain in the morning and
clouds in the afternoon. Take an umbrella if you go out early!

Le petit chat dort sur le canapé. La tour Eiffel est située à Paris, en France. Où est la gare ?
Der schnelle braune Fuchs springt über den faulen Hund. Die Straße ist lang und grün. Schöne Grüße!
El niño come una manzana. ¿Dónde está la biblioteca? Mañana vamos a la playa con mis amigos.
Привет, как дела? Москва — столица России. Сегодня хорошая погода.
Γειά σου κόσμε. Η Αθήνα είναι η πρωτεύουσα της Ελλάδας.
你好，世界！今天天气很好。我们去公园散步吧。中国的首都是北京。
こんにちは、世界。日本の首都は東京です。今日はいい天気ですね。
안녕하세요, 세계! 서울은 한국의 수도입니다.
مرحبا بالعالم. القاهرة هي عاصمة مصر.
नमस्ते दुनिया। दिल्ली भारत की राजधानी है।
Emoji: 🦀 🐍 🚀 ✨ 👍 ❤️ 😀 🎉
"""

# ------------------------------------------------------------------------------------------------
# A small deterministic BPE trainer (both vocabularies).
# Words are tuples of symbols with a count; each step merges the most frequent adjacent pair
# (ties: the lexicographically smallest pair; merged symbols at most max_len characters), until `n_merges` merges or no pair is left. Pairs
# seen once are merged too (late merges then spell out whole corpus words), which lets a few KB of
# text give a ~2000-token vocabulary.
# ------------------------------------------------------------------------------------------------


def train_bpe(word_counts: Counter, n_merges: int, max_len: int) -> list[tuple[str, str]]:
    words = [[list(w), c] for w, c in sorted(word_counts.items())]
    merges: list[tuple[str, str]] = []
    while len(merges) < n_merges:
        pairs: Counter = Counter()
        for syms, c in words:
            for a, b in zip(syms, syms[1:]):
                if len(a) + len(b) <= max_len:
                    pairs[(a, b)] += c
        if not pairs:
            break
        best_count = max(pairs.values())
        best = min(p for p, c in pairs.items() if c == best_count)
        merges.append(best)
        a, b = best
        ab = a + b
        for entry in words:
            syms = entry[0]
            if len(syms) < 2:
                continue
            out = []
            i = 0
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(ab)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            entry[0] = out
    return merges


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table (a published mapping)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


# Approximation of a GPT-2-style pre-tokenizer, only used to find training words.
PRETOK = re.compile(r"'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d{1,3}| ?[^\s\w]+|\s+(?!\S)|\s+")

# The same idea for Qwen's pre-tokenizer: digits one by one, punctuation keeps trailing newlines.
PRETOK_QWEN = re.compile(r"'(?:s|t|re|ve|m|ll|d)|[^\r\n\w]?[^\W\d_]+|\d| ?[^\s\w]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

BPE_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
QWEN_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def build_qwen_vocab():
    v = build_bpe_vocab(PRETOK_QWEN, QWEN_SPECIALS)
    first = v["bos"]  # <|endoftext|>
    return dict(v, pre="qwen2", bos=first, eos=first + 2, eot=None, pad=first, add_bos=False)


def build_bpe_vocab(pretok=PRETOK, specials=BPE_SPECIALS):
    b2u = bytes_to_unicode()
    counts: Counter = Counter()
    for w in pretok.findall(CORPUS):
        counts["".join(b2u[b] for b in w.encode("utf-8"))] += 1
    n_merges = VOCAB_TARGET - 256 - len(specials)
    merges = train_bpe(counts, n_merges, max_len=16)
    tokens = [b2u[b] for b in range(256)] + [a + b for a, b in merges]
    # a merge result may repeat an existing token (two different splits of the same string)
    seen = set()
    uniq = []
    for t in tokens:
        if t not in seen:
            seen.add(t)
            uniq.append(t)
    tokens = uniq
    types = [gguf.TokenType.NORMAL] * len(tokens)
    bos = len(tokens)
    tokens += specials
    types += [gguf.TokenType.CONTROL] * len(specials)
    return dict(
        model="gpt2",
        pre="llama-bpe",
        tokens=tokens,
        types=types,
        merges=[f"{a} {b}" for a, b in merges],
        bos=bos,
        eos=bos + 1,
        eot=bos + 4,
    )


SPM_SPACE = "\u2581"  # ▁


def build_spm_vocab():
    text = SPM_SPACE + CORPUS.replace(" ", SPM_SPACE)
    # words: ▁-prefixed runs of letters/digits, single other characters, runs of ▁ (newline, tab
    # and CR are left to byte fallback, as in the llama-2 vocabulary)
    counts: Counter = Counter(re.findall(SPM_SPACE + r"?\w+|" + SPM_SPACE + r"?[^\w\s" + SPM_SPACE + "]|" + SPM_SPACE + "+", text))
    chars = sorted({ch for ch in text if ch not in "\n\t\r"})
    n_merges = VOCAB_TARGET - 3 - 256 - len(chars)
    merges = train_bpe(counts, n_merges, max_len=8)
    pieces = []
    seen = set(chars)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            pieces.append(a + b)
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)] + pieces + chars
    types = (
        [gguf.TokenType.UNKNOWN, gguf.TokenType.CONTROL, gguf.TokenType.CONTROL]
        + [gguf.TokenType.BYTE] * 256
        + [gguf.TokenType.NORMAL] * (len(pieces) + len(chars))
    )
    # sentencepiece-like scores: specials and bytes 0, then -rank for pieces and characters
    scores = [0.0] * 259 + [-float(i) for i in range(len(pieces) + len(chars))]
    return dict(model="llama", tokens=tokens, types=types, scores=scores, bos=1, eos=2, unk=0)


def build_phi3_vocab():
    """The spm vocabulary plus Phi-3's chat control tokens (appended, as Phi-3's 32000+ ids);
    EOS <|endoftext|>, EOT <|end|>, as in Phi-3's own files."""
    v = build_spm_vocab()
    first = len(v["tokens"])
    tokens = v["tokens"] + PHI3_SPECIALS
    types = v["types"] + [gguf.TokenType.CONTROL] * len(PHI3_SPECIALS)
    scores = v["scores"] + [0.0] * len(PHI3_SPECIALS)
    return dict(v, tokens=tokens, types=types, scores=scores, pre="default", eos=first, eot=first + 2)


def build_gemma_vocab():
    """The spm vocabulary plus Gemma's chat control tokens; EOT <end_of_turn>, and no space
    prefix, as in Gemma's own files."""
    v = build_spm_vocab()
    first = len(v["tokens"])
    tokens = v["tokens"] + GEMMA_SPECIALS
    types = v["types"] + [gguf.TokenType.CONTROL] * len(GEMMA_SPECIALS)
    scores = v["scores"] + [0.0] * len(GEMMA_SPECIALS)
    return dict(v, tokens=tokens, types=types, scores=scores, eot=first + 1, add_space_prefix=False)


# ------------------------------------------------------------------------------------------------
# Weights
# ------------------------------------------------------------------------------------------------


def samplers(rng: np.random.Generator):
    """normal(shape, σ): N(0, σ²) f32 draws; norm_w(n): norm weights 1 + N(0, 0.1²)."""

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

    def norm_w(n):
        return (np.float32(1.0) + normal((n,), 0.1)).astype(np.float32)

    return normal, norm_w


def dense_ffn(normal, p: str, c: dict) -> list[tuple[str, np.ndarray]]:
    """A layer's SwiGLU FFN (llama's)."""
    dim, ffn = c["dim"], c["ffn"]
    return [
        (p + "ffn_gate.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_down.weight", normal((dim, ffn), 1.0 / np.sqrt(ffn))),
    ]


def expert_ffn(normal, p: str, c: dict) -> list[tuple[str, np.ndarray]]:
    """A router and n_expert SwiGLU experts stacked in 3-D tensors (llama.cpp's
    ffn_{gate,up,down}_exps), in place of the dense FFN."""
    dim, ffn, ne = c["dim"], c.get("ffn_exp", c["ffn"]), c["n_expert"]
    return [
        (p + "ffn_gate_inp.weight", normal((ne, dim), 1.5 / np.sqrt(dim))),
        (p + "ffn_gate_exps.weight", normal((ne, ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_up_exps.weight", normal((ne, ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_down_exps.weight", normal((ne, dim, ffn), c.get("down_scale", 1.0) / np.sqrt(ffn))),
    ]


def shared_expert_ffn(normal, p: str, c: dict) -> list[tuple[str, np.ndarray]]:
    """qwen2moe's shared expert: a SwiGLU FFN of ffn_shexp and its per-token gate, a 1-D
    ffn_gate_inp_shexp (σ 1.5/√dim: on the normed rows, sigmoids spread over ~0.2-0.8)."""
    dim, sh = c["dim"], c["ffn_shexp"]
    return [
        (p + "ffn_gate_inp_shexp.weight", normal((dim,), 1.5 / np.sqrt(dim))),
        (p + "ffn_gate_shexp.weight", normal((sh, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_up_shexp.weight", normal((sh, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_down_shexp.weight", normal((dim, sh), 3.0 / np.sqrt(sh))),
    ]


def qwen_dense_ffn(normal, p: str, c: dict) -> list[tuple[str, np.ndarray]]:
    """Qwen's SwiGLU FFN: llama's with a 3x larger ffn_down (see make_qwen_weights)."""
    dim, ffn = c["dim"], c["ffn"]
    return [
        (p + "ffn_gate.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
        (p + "ffn_down.weight", normal((dim, ffn), 3.0 / np.sqrt(ffn))),
    ]


def make_weights(seed: int, n_vocab: int, c: dict = CONFIG, ffn_of=dense_ffn) -> list[tuple[str, np.ndarray]]:
    """llama's weights; `ffn_of` makes each layer's FFN (mixtral: `expert_ffn`). Untied output."""
    dim = c["dim"]
    hd = dim // c["n_heads"]
    kv = c["n_kv_heads"] * hd
    rng = np.random.default_rng(seed)

    normal, norm_w = samplers(rng)

    t = [("token_embd.weight", normal((n_vocab, dim), 1.0))]
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        t += [
            (p + "attn_norm.weight", norm_w(dim)),
            (p + "attn_q.weight", normal((dim, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_k.weight", normal((kv, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_v.weight", normal((kv, dim), 1.0 / np.sqrt(dim))),
            (p + "attn_output.weight", normal((dim, dim), 1.0 / np.sqrt(dim))),
            (p + "ffn_norm.weight", norm_w(dim)),
        ] + ffn_of(normal, p, c)
    t += [
        ("output_norm.weight", norm_w(dim)),
        ("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim))),
    ]
    return t


def make_qwen_weights(arch: str, seed: int, n_vocab: int) -> list[tuple[str, np.ndarray]]:
    """The llama layer plus Qwen's q/k/v biases (qwen2) or q/k norms (qwen3); tied output;
    qwen3moe's FFN is a router and experts."""
    c = QWEN_CONFIG[arch]
    dim, hd = c["dim"], c["head_dim"]
    q, kv = c["n_heads"] * hd, c["n_kv_heads"] * hd
    rng = np.random.default_rng(seed)

    normal, norm_w = samplers(rng)

    # Tied head: a token's logit grows with σ² through its own embedding in the residual stream
    # while the others spread with σ, so at σ 1 greedy text repeats the last token forever. σ 0.15
    # and 3× larger attention/FFN outputs (attn_output, ffn_down) keep the text varied.
    t = [("token_embd.weight", normal((n_vocab, dim), 0.15))]
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        t += [
            (p + "attn_norm.weight", norm_w(dim)),
            (p + "attn_q.weight", normal((q, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_k.weight", normal((kv, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_v.weight", normal((kv, dim), 1.0 / np.sqrt(dim))),
        ]
        if c["qkv_bias"]:
            t += [
                (p + "attn_q.bias", normal((q,), 0.2)),
                (p + "attn_k.bias", normal((kv,), 0.2)),
                (p + "attn_v.bias", normal((kv,), 0.2)),
            ]
        if c["qk_norm"]:
            # ≈ 2: normed unit-RMS heads alone give near-uniform attention (and repetitive text)
            t += [(p + "attn_q_norm.weight", 2 * norm_w(hd)), (p + "attn_k_norm.weight", 2 * norm_w(hd))]
        t += [
            (p + "attn_output.weight", normal((dim, q), 3.0 / np.sqrt(q))),
            (p + "ffn_norm.weight", norm_w(dim)),
        ] + (expert_ffn if "n_expert" in c else qwen_dense_ffn)(normal, p, c)
        if "ffn_shexp" in c:
            t += shared_expert_ffn(normal, p, c)
    t += [("output_norm.weight", norm_w(dim))]
    if c.get("untied"):
        t += [("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim)))]
    return t


def make_phi3_weights(seed: int, n_vocab: int) -> list[tuple[str, np.ndarray]]:
    """The llama layer with Phi-3's fused tensors: attn_qkv (q, k, v rows) and ffn_up (gate rows,
    then up rows; no ffn_gate), plus LongRoPE factors; untied output."""
    c = PHI3_CONFIG
    dim, ffn = c["dim"], c["ffn"]
    hd = dim // c["n_heads"]
    kv = c["n_kv_heads"] * hd
    rng = np.random.default_rng(seed)

    normal, norm_w = samplers(rng)

    t = [("token_embd.weight", normal((n_vocab, dim), 1.0))]
    # Frequency divisors per rotated pair (n_rot/2 = 8): the short ones near 1, the long ones
    # large, so text made with the wrong set differs.
    t += [
        ("rope_factors_long.weight", (np.float32(4.0) + np.abs(normal((hd // 2,), 8.0))).astype(np.float32)),
        ("rope_factors_short.weight", (np.float32(1.0) + np.abs(normal((hd // 2,), 0.5))).astype(np.float32)),
    ]
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        q_w = normal((dim, dim), 1.5 / np.sqrt(dim))
        k_w = normal((kv, dim), 1.5 / np.sqrt(dim))
        v_w = normal((kv, dim), 1.0 / np.sqrt(dim))
        t += [
            (p + "attn_norm.weight", norm_w(dim)),
            (p + "attn_qkv.weight", np.concatenate([q_w, k_w, v_w], axis=0)),
            (p + "attn_output.weight", normal((dim, dim), 1.0 / np.sqrt(dim))),
            (p + "ffn_norm.weight", norm_w(dim)),
        ]
        gate = normal((ffn, dim), 1.0 / np.sqrt(dim))
        up = normal((ffn, dim), 1.0 / np.sqrt(dim))
        t += [
            (p + "ffn_up.weight", np.concatenate([gate, up], axis=0)),
            (p + "ffn_down.weight", normal((dim, ffn), 1.0 / np.sqrt(ffn))),
        ]
    t += [
        ("output_norm.weight", norm_w(dim)),
        ("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim))),
    ]
    return t


def make_gemma_weights(arch: str, seed: int, n_vocab: int) -> list[tuple[str, np.ndarray]]:
    """The llama layer in Gemma's shapes (own head size), plus Gemma 2's post-attention and
    post-FFN norms; tied output (no output.weight)."""
    c = GEMMA_CONFIG[arch]
    dim, ffn, hd = c["dim"], c["ffn"], c["head_dim"]
    q, kv = c["n_heads"] * hd, c["n_kv_heads"] * hd
    post_norms = arch == "gemma2"
    rng = np.random.default_rng(seed)

    normal, norm_w = samplers(rng)

    # Tied head, embeddings scaled by √dim at the input: as for Qwen, a small σ and larger block
    # outputs keep greedy text from repeating the last token.
    t = [("token_embd.weight", normal((n_vocab, dim), GEMMA_EMBD_STD))]
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        t += [
            (p + "attn_norm.weight", norm_w(dim)),
            (p + "attn_q.weight", normal((q, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_k.weight", normal((kv, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_v.weight", normal((kv, dim), 1.0 / np.sqrt(dim))),
            (p + "attn_output.weight", normal((dim, q), GEMMA_OUT_STD / np.sqrt(q))),
        ]
        if post_norms:
            t += [(p + "post_attention_norm.weight", norm_w(dim))]
        t += [
            (p + "ffn_norm.weight", norm_w(dim)),
            (p + "ffn_gate.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
            (p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
            (p + "ffn_down.weight", normal((dim, ffn), GEMMA_OUT_STD / np.sqrt(ffn))),
        ]
        if post_norms:
            t += [(p + "post_ffw_norm.weight", norm_w(dim))]
    # ≈ 4: the small tied embeddings alone give logits of σ ≈ 0.45, too close for clear greedy
    # margins; scaling every logit keeps the argmax and widens the gaps.
    t += [("output_norm.weight", 4 * norm_w(dim))]
    return t


GEMMA_EMBD_STD = 0.04
GEMMA_OUT_STD = 3.0


def make_phi2_weights(seed: int, n_vocab: int) -> list[tuple[str, np.ndarray]]:
    """Phi-2's layer: LayerNorm weight and bias, fused qkv with its bias, biased output, up and
    down projections (ungated), biased LayerNorm and head at the end; untied output."""
    c = PHI2_CONFIG
    dim, ffn = c["dim"], c["ffn"]
    qkv = 3 * dim  # n_kv_heads = n_heads
    rng = np.random.default_rng(seed)

    normal, norm_w = samplers(rng)

    t = [("token_embd.weight", normal((n_vocab, dim), 1.0))]
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        t += [
            (p + "attn_norm.weight", norm_w(dim)),
            (p + "attn_norm.bias", normal((dim,), 0.1)),
            (p + "attn_qkv.weight", normal((qkv, dim), 1.5 / np.sqrt(dim))),
            (p + "attn_qkv.bias", normal((qkv,), 0.2)),
            (p + "attn_output.weight", normal((dim, dim), 1.0 / np.sqrt(dim))),
            (p + "attn_output.bias", normal((dim,), 0.2)),
            (p + "ffn_up.weight", normal((ffn, dim), 1.0 / np.sqrt(dim))),
            (p + "ffn_up.bias", normal((ffn,), 0.2)),
            (p + "ffn_down.weight", normal((dim, ffn), 1.0 / np.sqrt(ffn))),
            (p + "ffn_down.bias", normal((dim,), 0.2)),
        ]
    t += [
        ("output_norm.weight", norm_w(dim)),
        ("output_norm.bias", normal((dim,), 0.1)),
        ("output.weight", normal((n_vocab, dim), 4.0 / np.sqrt(dim))),
        ("output.bias", normal((n_vocab,), 0.5)),
    ]
    return t


# ------------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------------


def write_model(
    path: str, name: str, vocab: dict, weights: list[tuple[str, np.ndarray]], qtype_name: str, arch: str = "llama"
) -> None:
    # "mixtral" is written as general.architecture = "llama" with expert keys, as llama.cpp's files.
    c = {"phi3": PHI3_CONFIG, "phi2": PHI2_CONFIG, "mixtral": MIXTRAL_CONFIG}.get(arch) or GEMMA_CONFIG.get(arch) or QWEN_CONFIG.get(arch, CONFIG)
    qtype = TYPES[qtype_name]
    w = gguf.GGUFWriter(path, "llama" if arch == "mixtral" else arch)
    w.add_name(name)
    w.add_context_length(c["ctx"])
    w.add_embedding_length(c["dim"])
    w.add_block_count(c["n_layers"])
    w.add_feed_forward_length(c["ffn"])
    w.add_head_count(c["n_heads"])
    w.add_head_count_kv(c["n_kv_heads"])
    if "n_expert" in c:
        w.add_expert_count(c["n_expert"])
        w.add_expert_used_count(c["n_expert_used"])
    if "ffn_exp" in c:
        w.add_expert_feed_forward_length(c["ffn_exp"])
    if "ffn_shexp" in c:
        w.add_expert_shared_feed_forward_length(c["ffn_shexp"])
    if arch in ("llama", "phi3", "mixtral"):
        w.add_rope_dimension_count(c["dim"] // c["n_heads"])
    if arch == "phi2":
        w.add_rope_dimension_count(c["n_rot"])
    if arch == "phi3":
        w.add_rope_scaling_orig_ctx_len(c["orig_ctx"])
        w.add_sliding_window(c["sliding_window"])
    if arch in ("qwen3", "qwen3moe", "gemma", "gemma2"):
        w.add_key_length(c["head_dim"])
        w.add_value_length(c["head_dim"])
    if arch == "gemma2":
        w.add_attn_logit_softcapping(c["attn_softcap"])
        w.add_final_logit_softcapping(c["final_softcap"])
        w.add_sliding_window(c["sliding_window"])
    w.add_rope_freq_base(c["rope_theta"])
    if arch == "phi2":
        w.add_layer_norm_eps(c["norm_eps"])
    else:
        w.add_layer_norm_rms_eps(c["rms_eps"])
    w.add_vocab_size(len(vocab["tokens"]))
    w.add_file_type(FILE_TYPE[qtype_name])

    w.add_tokenizer_model(vocab["model"])
    if "pre" in vocab:
        w.add_tokenizer_pre(vocab["pre"])
    w.add_token_list(vocab["tokens"])
    if "scores" in vocab:
        w.add_token_scores(vocab["scores"])
    w.add_token_types(vocab["types"])
    if "merges" in vocab:
        w.add_token_merges(vocab["merges"])
    w.add_bos_token_id(vocab["bos"])
    w.add_eos_token_id(vocab["eos"])
    if "unk" in vocab:
        w.add_unk_token_id(vocab["unk"])
    if vocab.get("eot") is not None:
        w.add_eot_token_id(vocab["eot"])
    if "pad" in vocab:
        w.add_pad_token_id(vocab["pad"])
    w.add_add_bos_token(vocab.get("add_bos", True))
    w.add_add_eos_token(False)
    if vocab["model"] == "llama":
        w.add_add_space_prefix(vocab.get("add_space_prefix", True))
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)

    for tname, arr in weights:
        # (the router is never quantized: llama-quantize leaves ffn_gate_inp in F32)
        if arr.ndim == 1 or qtype == QT.F32 or tname.endswith("ffn_gate_inp.weight"):
            w.add_tensor(tname, arr)
        elif qtype == QT.F16:
            w.add_tensor(tname, arr.astype(np.float16))
        else:
            q = gguf.quants.quantize(arr, qtype)
            w.add_tensor(tname, q, raw_shape=q.shape, raw_dtype=qtype)

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


_VOCABS: dict = {}
_WEIGHTS: dict = {}


def build(name: str, path: str) -> str:
    arch, tok, qt = name.split("-")
    # llama models share a vocabulary and weights per tokenizer; each Qwen arch has its own
    key = tok if arch == "llama" else arch
    if key not in _VOCABS:
        builders = {"spm": build_spm_vocab, "bpe": build_bpe_vocab, "phi3": build_phi3_vocab}
        builders.update({arch: build_gemma_vocab for arch in GEMMA_CONFIG})
        builders["phi2"] = lambda: dict(build_bpe_vocab(), pre="phi-2")
        builders["mixtral"] = build_spm_vocab
        _VOCABS[key] = builders.get(key, build_qwen_vocab)()
    vocab = _VOCABS[key]
    if key not in _WEIGHTS:
        if arch == "phi3":
            _WEIGHTS[key] = make_phi3_weights(SEEDS[key], len(vocab["tokens"]))
        elif arch == "mixtral":
            _WEIGHTS[key] = make_weights(SEEDS[key], len(vocab["tokens"]), MIXTRAL_CONFIG, expert_ffn)
        elif arch == "phi2":
            _WEIGHTS[key] = make_phi2_weights(SEEDS[key], len(vocab["tokens"]))
        elif arch in GEMMA_CONFIG:
            _WEIGHTS[key] = make_gemma_weights(arch, SEEDS[key], len(vocab["tokens"]))
        elif arch == "llama":
            _WEIGHTS[key] = make_weights(SEEDS[key], len(vocab["tokens"]))
        else:
            _WEIGHTS[key] = make_qwen_weights(arch, SEEDS[key], len(vocab["tokens"]))
    # A name of its own per process: test threads and processes may build the same file at once,
    # and each then replaces it atomically with identical bytes.
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    write_model(tmp, name, vocab, _WEIGHTS[key], qt, arch)
    os.replace(tmp, path)
    return sha256_file(path)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cache = os.environ.get("WASM_CHORD_CACHE", os.path.expanduser("~/.cache/wasm-chord"))
    ap.add_argument("--out", default=os.path.join(cache, "models", "test"))
    ap.add_argument("--only", nargs="*", choices=VARIANTS)
    ap.add_argument("--verify", action="store_true", help="build each file twice (fresh state) and compare")
    ap.add_argument("--check", action="store_true", help="compare hashes with the SHA256 table")
    ap.add_argument("--print-sha", action="store_true", help="print a SHA256 table to paste into this file")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()

    names = args.only or VARIANTS
    if args.list:
        print("\n".join(names))
        return
    os.makedirs(args.out, exist_ok=True)
    bad = 0
    table = {}
    for name in names:
        path = os.path.join(args.out, name + ".gguf")
        sha = build(name, path)
        table[name] = sha
        if args.verify:
            _VOCABS.clear()
            _WEIGHTS.clear()
            with tempfile.TemporaryDirectory() as d:
                sha2 = build(name, os.path.join(d, name + ".gguf"))
            if sha2 != sha:
                print(f"NONDETERMINISTIC {name}: {sha} vs {sha2}", file=sys.stderr)
                bad += 1
        if args.check and SHA256.get(name) != sha:
            print(f"MISMATCH {name}: expected {SHA256.get(name)}, got {sha}", file=sys.stderr)
            bad += 1
        print(f"{sha}  {path}")
    if args.print_sha:
        print("SHA256 = {")
        for k, v in table.items():
            print(f'    "{k}": "{v}",')
        print("}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
