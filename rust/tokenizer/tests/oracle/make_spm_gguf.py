"""Writes a small SentencePiece-BPE vocabulary (LLaMA/Mistral style: <unk>=0 of type unknown,
<s>=1, </s>=2 control, <0x00>..<0xFF> byte tokens, scores from the model) as a vocabulary-only
GGUF with tokenizer.ggml.model = llama and no add_* keys, so llama.cpp's SPM defaults apply
(space prefix, BOS). Converted the way llama.cpp's convert_hf_to_gguf.py converts a
tokenizer.model.

    python3 make_spm_gguf.py OUT.gguf [--gemma GEMMA.gguf]

Needs `pip install gguf sentencepiece`."""
import argparse
import io
import random

import gguf
import sentencepiece as spm

from make_bpe_gguf import corpus


USER_DEFINED = ["<tool>", "</tool>"]


def token_type(sp, i):
    # The processor has no is_user_defined(); those pieces are the ones we asked for.
    if sp.is_unknown(i):
        return gguf.TokenType.UNKNOWN
    if sp.is_control(i):
        return gguf.TokenType.CONTROL
    if sp.is_unused(i):
        return gguf.TokenType.UNUSED
    if sp.is_byte(i):
        return gguf.TokenType.BYTE
    if sp.id_to_piece(i) in USER_DEFINED:
        return gguf.TokenType.USER_DEFINED
    return gguf.TokenType.NORMAL


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--gemma", help="Gemma 3 GGUF whose pieces make the training text")
    ap.add_argument("--vocab-size", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()

    model = io.BytesIO()
    lines = corpus(a.gemma, a.seed)
    random.Random(a.seed).shuffle(lines)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines[:20000]), model_writer=model, model_type="bpe",
        vocab_size=a.vocab_size, byte_fallback=True, character_coverage=0.995,
        split_digits=True, allow_whitespace_only_pieces=True, remove_extra_whitespaces=False,
        user_defined_symbols=USER_DEFINED, control_symbols=["<|im_end|>"],
        num_threads=1, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    n = sp.get_piece_size()
    tokens = [sp.id_to_piece(i) for i in range(n)]
    scores = [sp.get_score(i) for i in range(n)]
    types = [token_type(sp, i) for i in range(n)]

    w = gguf.GGUFWriter(a.out, "llama")
    w.add_name("tiny-spm-test")
    w.add_context_length(256)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_head_count(1)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
