#!/usr/bin/env python3
"""A random-weight GGUF in Gemma-3-270M's exact shape, Q4_K_M, for the benchmarks.

    python3 scripts/bench-browser/make_gemma3.py            # prints the path (builds it once)
    python3 scripts/bench-browser/make_gemma3.py --force    # rebuild
    python3 scripts/bench-browser/make_gemma3.py --print-path   # where it is, without building

Output: ${WASM_CHORD_CACHE:-~/.cache/wasm-chord}/models/bench/gemma3-270m-random-Q4_K_M.gguf
(~250 MB). Speed depends only on shapes and tensor types, so random weights measure what the real
Gemma-3-270M would, on machines that cannot reach (or may not hold) the real weights.

Why F16 first and llama-quantize after: gguf-py 0.19.0 cannot quantize K-quants, and the Q4_K_M
*mix* (which tensors get Q8_0, Q6_K, Q5_0, Q4_K, ...) is llama-quantize's decision; using it gives
the same file layout a user would download. The F16 intermediate (~540 MB) is deleted afterwards.
Most Gemma-3-270M matrices have 640 input columns, not a multiple of the 256-wide K-quant block, so
llama-quantize falls back to Q5_0 / Q8_0 for them; the mix is therefore far from "mostly Q4_K".

Shape and hyperparameters are copied from the real gemma-3-270m-Q4_K_M.gguf (every `gemma3.*` key it
has, and no others, so both engines apply the same defaults for the absent ones: SWA pattern 6,
local RoPE base 10000): architecture `gemma3`, dim 640, 18 layers, 4 query heads and 1 KV head of
size 256 (q_dim 1024 != dim), FFN 2048 (GeGLU), vocab 262144, context 32768, RoPE theta 1e6,
sliding window 512, RMSNorm eps 1e-6, QK-norm, pre- and post-norms around both sub-blocks, output
tied to token_embd (no output.weight). Numpy shapes (rows, cols) = (out, in), in the real file's order:
    output_norm.weight               (640,)
    token_embd.weight                (262144, 640)
    blk.N.attn_k.weight              (256, 640)
    blk.N.attn_k_norm.weight         (256,)         per head: one RMSNorm over head_dim
    blk.N.attn_norm.weight           (640,)
    blk.N.attn_output.weight         (640, 1024)
    blk.N.attn_q.weight              (1024, 640)    4 heads * 256
    blk.N.attn_q_norm.weight         (256,)
    blk.N.attn_v.weight              (256, 640)
    blk.N.ffn_down.weight            (640, 2048)
    blk.N.ffn_gate.weight            (2048, 640)
    blk.N.ffn_norm.weight            (640,)
    blk.N.ffn_up.weight              (2048, 640)
    blk.N.post_attention_norm.weight (640,)
    blk.N.post_ffw_norm.weight       (640,)

The vocabulary is synthetic but well formed and laid out like the real one, so every id the real
tokenizer treats specially is special here too: <pad> <eos> <bos> <unk> <mask> at 0-4,
[multimodal] at 5, <unusedN> and <start_of_turn>/<end_of_turn> at 105/106, whitespace-run and
HTML-tag user-defined tokens at 107-237, the 256 <0xXX> byte-fallback tokens at 238-493, then
normal pieces (ASCII characters and ▁-prefixed/bare letter strings, scored by rank) up to 255967,
tab runs and <start_of_image>/<end_of_image> to 256000, and <unusedN> to the end. Like the real
file it has no chat template (both engines fall back to their built-in Gemma one, keyed on
<start_of_turn>). The benchmark feeds token ids, so what the normal pieces spell does not matter.
"""
from __future__ import annotations

import itertools
import string

import numpy as np
import gguf

import random_gguf

NAME = "gemma3-270m-random-Q4_K_M.gguf"
SEED = 270
CONFIG = dict(dim=640, n_layers=18, n_heads=4, n_kv_heads=1, head_dim=256, ffn=2048, n_vocab=262144,
              ctx=32768, rope_theta=1e6, rms_eps=1e-6, sliding_window=512)
SPACE = "\u2581"  # ▁, SentencePiece's word-start marker

# The real vocabulary's special-token ids (and the ranges around them) are part of its shape: the
# chat template, EOG detection and the CONTROL/USER_DEFINED tokenizer paths all key on them.
N_UNUSED_LOW = 99      # <unused0>..<unused98> at 6..104
FIRST_NORMAL = 494     # after the byte tokens
FIRST_TAB_RUN = 255968  # first token after the normal pieces
HTML_TAGS = ("table caption thead tbody tfoot tr th td", "h1 h2 h3 h4 h5 h6 blockquote",
             "strong em b i u s sub sup code", "a html body img span bbox ul li div iframe footer")


def vocab(n_vocab: int) -> tuple[list[str], list[float], list[int]]:
    T = gguf.TokenType
    tokens: list[str] = []
    types: list[int] = []

    def add(pieces, kind):
        tokens.extend(pieces)
        types.extend([kind] * len(pieces))

    # Real Gemma 3 marks <unk> CONTROL too, not UNKNOWN.
    add(["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"], T.CONTROL)
    add(["[multimodal]"], T.USER_DEFINED)
    add([f"<unused{i}>" for i in range(N_UNUSED_LOW)], T.CONTROL)
    add(["<start_of_turn>", "<end_of_turn>"], T.CONTROL)
    add(["\n" * n for n in range(1, 32)] + [" " * n for n in range(2, 32)], T.USER_DEFINED)
    for group in HTML_TAGS:  # opening tags of a group, then its closing ones
        names = group.split()
        add([f"<{t}>" for t in names] + [f"</{t}>" for t in names], T.USER_DEFINED)
    assert len(tokens) == 238
    add([f"<0x{b:02X}>" for b in range(256)], T.BYTE)
    assert len(tokens) == FIRST_NORMAL

    need = FIRST_TAB_RUN - FIRST_NORMAL
    pieces = dict.fromkeys([SPACE] + [c for c in string.printable if c not in string.whitespace])
    # then ▁-prefixed and bare lowercase strings of growing length until the range is full
    for combo in itertools.chain.from_iterable(
            itertools.product(string.ascii_lowercase, repeat=n) for n in itertools.count(1)):
        if len(pieces) >= need:
            break
        for prefix in (SPACE, ""):
            pieces.setdefault(prefix + "".join(combo))
    add(list(pieces)[:need], T.NORMAL)

    add(["\t" * n for n in range(1, 32)] + ["<start_of_image>", "<end_of_image>"], T.USER_DEFINED)
    n_unused = n_vocab - len(tokens)
    add([f"<unused{N_UNUSED_LOW + i}>" for i in range(n_unused)], T.CONTROL)

    # Scores as in the real file: -1000 for control/user-defined, 0 for bytes, -rank for the rest.
    scores = [0.0 if t == T.BYTE else -1000.0 for t in types]
    for rank, i in enumerate(range(FIRST_NORMAL, FIRST_TAB_RUN)):
        scores[i] = -float(rank)
    assert len(tokens) == len(set(tokens)) == n_vocab
    assert (tokens[1], tokens[2], tokens[3], tokens[105], tokens[106]) == \
        ("<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>")
    return tokens, scores, [int(t) for t in types]


def write_f16(path: str) -> None:
    c = CONFIG
    dim, ffn, n_vocab, hd = c["dim"], c["ffn"], c["n_vocab"], c["head_dim"]
    q_dim, kv = c["n_heads"] * hd, c["n_kv_heads"] * hd
    rng = np.random.default_rng(SEED)

    # std 1/sqrt(fan_in), as in the real weights. With Gemma's sqrt(dim) embedding scale the residual
    # starts at rms ~1, each post-normed sub-block adds ~1, and the tied logits come out at std ~1:
    # no inf/NaN in f16 or the KV cache through 18 layers.
    def normal(shape, fan_in):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(1.0 / np.sqrt(fan_in))).astype(np.float16)

    # Gemma computes x * (1 + w), and the converter stores 1 + w, so the file holds weights around 1
    # (the real ones range wider, 0..300, but only their shape matters for speed).
    def norm_w(n):
        return (np.float32(1.0) + rng.standard_normal(n, dtype=np.float32) * np.float32(0.1)).astype(np.float32)

    w = gguf.GGUFWriter(path, "gemma3")
    w.add_type("model")
    w.add_name("gemma3-270m-random")
    w.add_context_length(c["ctx"])
    w.add_embedding_length(dim)
    w.add_block_count(c["n_layers"])
    w.add_feed_forward_length(ffn)
    w.add_head_count(c["n_heads"])
    w.add_layer_norm_rms_eps(c["rms_eps"])
    w.add_key_length(hd)
    w.add_value_length(hd)
    w.add_rope_freq_base(c["rope_theta"])
    w.add_sliding_window(c["sliding_window"])
    w.add_head_count_kv(c["n_kv_heads"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    tokens, scores, types = vocab(n_vocab)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_pad_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_sep_token(False)
    w.add_add_eos_token(False)
    w.add_add_space_prefix(False)

    w.add_tensor("output_norm.weight", norm_w(dim))
    w.add_tensor("token_embd.weight", normal((n_vocab, dim), dim))
    for i in range(c["n_layers"]):
        p = f"blk.{i}."
        w.add_tensor(p + "attn_k.weight", normal((kv, dim), dim))
        w.add_tensor(p + "attn_k_norm.weight", norm_w(hd))
        w.add_tensor(p + "attn_norm.weight", norm_w(dim))
        w.add_tensor(p + "attn_output.weight", normal((dim, q_dim), q_dim))
        w.add_tensor(p + "attn_q.weight", normal((q_dim, dim), dim))
        w.add_tensor(p + "attn_q_norm.weight", norm_w(hd))
        w.add_tensor(p + "attn_v.weight", normal((kv, dim), dim))
        w.add_tensor(p + "ffn_down.weight", normal((dim, ffn), ffn))
        w.add_tensor(p + "ffn_gate.weight", normal((ffn, dim), dim))
        w.add_tensor(p + "ffn_norm.weight", norm_w(dim))
        w.add_tensor(p + "ffn_up.weight", normal((ffn, dim), dim))
        w.add_tensor(p + "post_attention_norm.weight", norm_w(dim))
        w.add_tensor(p + "post_ffw_norm.weight", norm_w(dim))

    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    random_gguf.main(__doc__, {"gemma3-270m": (NAME, write_f16)})


if __name__ == "__main__":
    main()
