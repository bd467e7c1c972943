"""Writes a tiny SPM vocabulary named like a Phi-3 model, for testing llama.cpp's per-model
strip attributes: when general.name contains "phi-3"/"phi3", every control / user-defined /
unknown token gets RSTRIP (eats the whitespace after it) except <unk>, <s> and <|endoftext|>,
and </s> gets it too. llama.cpp refuses such a vocabulary unless all four of those exist.

    python3 make_strip_gguf.py OUT.gguf

Needs `pip install gguf`."""
import sys

import gguf


def main():
    w = gguf.GGUFWriter(sys.argv[1], "llama")
    w.add_name("Phi-3-mini-test")
    w.add_context_length(8)
    w.add_embedding_length(8)
    w.add_block_count(1)
    w.add_head_count(1)
    w.add_tokenizer_model("llama")
    letters = list("abcdefghijklmnopqrstuvwxyz")
    pieces = ["\u2581", "\u2581x", "\u2581y", "\u2581z", "\u2581w", "ab"]
    toks = ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|im_end|>", "<|user|>", "<tool>"]
    toks += [f"<0x{b:02X}>" for b in range(256)] + letters + pieces
    types = [2, 3, 3, 3, 3, 3, 4] + [6] * 256 + [1] * (len(letters) + len(pieces))
    scores = [0.0] * (7 + 256) + [-100.0 - i for i in range(len(letters))] + [-1.0 - i for i in range(len(pieces))]
    w.add_token_list(toks)
    w.add_token_types(types)
    w.add_token_scores(scores)
    # Two end-of-turn candidates would make llama.cpp's pick depend on hash order; name it.
    w.add_eot_token_id(3)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


if __name__ == "__main__":
    main()
