"""Writes a small byte-level BPE vocabulary as a vocabulary-only GGUF (tokenizer.ggml.model =
gpt2), for testing the BPE flavour against llama.cpp where no real BPE model is at hand.

    python3 make_bpe_gguf.py OUT_DIR --pre llama-bpe,qwen2,none [--gemma GEMMA.gguf]

writes OUT_DIR/tiny_bpe.<pre>.gguf for each value ("none": no tokenizer.ggml.pre key), all with
the same vocabulary and merges.

The BPE is trained with HF `tokenizers` on text made of Gemma 3 vocabulary pieces (many
scripts) plus hand-written samples, so its merges cover real words in several languages.
Needs `pip install gguf tokenizers`."""
import argparse
import random

import gguf
from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders

SPECIAL_CONTROL = ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>",
                   "<|endoftext|>", "<|start_header_id|>", "<|end_header_id|>", "<|fim_prefix|>", "<|fim_pad|>"]
SPECIAL_USER = ["<tool_call>", "</tool_call>", "<think>"]

SAMPLES = [
    "The quick brown fox jumps over the lazy dog. It's 3.14159 and 1,000,000!",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n",
    "Hello world! How's it going? I'm fine, you're great, they've won, we'll see, he'd go.",
    "你好，世界！这是一个测试。日本語のテキストです。한국어 텍스트입니다.",
    "مرحبا بالعالم، هذا اختبار. नमस्ते दुनिया, यह एक परीक्षण है। Привет, мир!",
    "😀😃 👨‍👩‍👧‍👦 🇺🇸 \t\ttabs\n\n\nnewlines   spaces",
]


def corpus(gemma_path, seed):
    rng = random.Random(seed)
    pieces = []
    if gemma_path:
        r = gguf.GGUFReader(gemma_path)
        toks = r.fields["tokenizer.ggml.tokens"].contents()
        types = r.fields["tokenizer.ggml.token_type"].contents()
        pieces = [t.replace("\u2581", " ") for t, ty in zip(toks, types) if ty == 1][:60000]
    lines = list(SAMPLES) * 50
    for _ in range(20000):
        lines.append("".join(rng.choice(pieces) for _ in range(rng.randint(3, 15))) if pieces else rng.choice(SAMPLES))
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--pre", default="llama-bpe", help="comma-separated tokenizer.ggml.pre values")
    ap.add_argument("--gemma", help="Gemma 3 GGUF whose pieces make the training text")
    ap.add_argument("--vocab-size", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=a.vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=SPECIAL_CONTROL + SPECIAL_USER)
    tk.train_from_iterator(corpus(a.gemma, a.seed), trainer)
    vocab = tk.get_vocab()
    import json
    merges = json.loads(tk.to_str())["model"]["merges"]
    merges = [m if isinstance(m, str) else " ".join(m) for m in merges]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    types = []
    for t in tokens:
        if t in SPECIAL_CONTROL:
            types.append(gguf.TokenType.CONTROL)
        elif t in SPECIAL_USER:
            types.append(gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)

    for pre in a.pre.split(","):
        w = gguf.GGUFWriter(f"{a.out_dir}/tiny_bpe.{pre}.gguf", "llama")
        w.add_name("tiny-bpe-test")
        w.add_context_length(256)
        w.add_embedding_length(8)
        w.add_block_count(1)
        w.add_head_count(1)
        w.add_tokenizer_model("gpt2")
        if pre != "none":
            w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(vocab["<|begin_of_text|>"])
        w.add_eos_token_id(vocab["<|end_of_text|>"])
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()


if __name__ == "__main__":
    main()
