"""Inputs for the tokenizer comparison with llama.cpp: hand-picked cases, then seeded
pseudo-random ones. `python3 cases.py [--random N] [--seed S] [--pieces-gguf GGUF]` prints one
hex-encoded UTF-8 input per line (the format llama_oracle reads)."""
import argparse
import random

HAND = [
    "",
    " ",
    "  ",
    "   ",
    "\n",
    "\n\n",
    "\t",
    "Hello",
    "Hello world",
    " Hello world",
    "Hello  world",
    "Hello world!",
    "hello, world. How's it going? I'm fine; you're great, they've won, we'll see, he'd go, don't.",
    "The quick brown fox jumps over the lazy dog.",
    "<start_of_turn>user\nhi<end_of_turn>\n",
    "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
    "<bos><start_of_turn>user\nhello<end_of_turn>",
    "<start_of_tu",
    "<start_of_turn",
    "start_of_turn>",
    "<end_of_turn><end_of_turn>",
    "<eos>",
    "</s>",
    "<s>",
    "<pad><unk><mask>",
    "<unused0><unused99>",
    "[multimodal]",
    "<start_of_image><end_of_image>",
    "<0x41>",
    "<0x41><0xE4><0xB8><0x80>",
    "<0xZZ>",
    "<table><tr><td>1</td></tr></table>",
    "<b>bold</b> and <i>italic</i> <code>x</code>",
    "a<b>b",
    "  leading spaces",
    "trailing spaces   ",
    "tabs\tand\t\ttabs\t\t\t",
    "mixed \t \n \r\n whitespace\r",
    "line1\nline2\n\nline3\n\n\nline4",
    "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n",
    " " * 40,
    " " * 31 + "x" + " " * 32,
    "\t" * 35,
    "\r\n\r\n",
    "\u00a0non-breaking\u00a0space",
    "\u3000ideographic space\u3000",
    "\u2581already marked\u2581",
    "你好，世界！这是一个测试。",
    "日本語のテキストです。カタカナとひらがな。",
    "한국어 텍스트입니다.",
    "مرحبا بالعالم، هذا اختبار.",
    "नमस्ते दुनिया, यह एक परीक्षण है।",
    "Привет, мир! Это тест.",
    "Ελληνικά κείμενα με τόνους.",
    "עברית מימין לשמאל",
    "ภาษาไทยไม่มีช่องว่าง",
    "Tiếng Việt có dấu.",
    "Ünïcödé àçcéñts",
    "e\u0301 combining acute",
    "😀😃😄😁",
    "👨‍👩‍👧‍👦 family ZWJ",
    "🏳️‍🌈 flag, 👍🏽 skin tone",
    "🇺🇸🇬🇧🇯🇵",
    "\u200b\u200c\u200d zero width",
    "\ufeffBOM at start",
    "\U0001F600\U0010FFFF\U000E0001",
    "𝕳𝖊𝖑𝖑𝖔 𝔪𝔞𝔱𝔥",
    "\x00\x01\x02\x7f control chars",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n-1) + fib(n-2)\n",
    "fn main() {\n\tprintln!(\"{}\", 1 + 2);\n}\n",
    "for (int i = 0; i < 10; ++i) { x[i] = i * 2; }",
    "<html><body><div class=\"a\">text</div></body></html>",
    "SELECT * FROM users WHERE id = 42;",
    '{"key": [1, 2, 3], "nested": {"a": null}}',
    "https://example.com/path?query=1&b=2#frag",
    "user@example.com",
    "12345678901234567890",
    "3.14159 2.71828 -1e10 0x1F 1,000,000",
    "1 22 333 4444 55555",
    "$100 €50 £20 ¥1000",
    "100% 50‰ 3°C",
    "!!!???...,,,;;;:::",
    "'s 't 're 've 'm 'll 'd",
    "'S 'T 'RE 'VE 'M 'LL 'D",
    "A'B a's",
    "――…——",
    "«guillemets» „quotes“ 'single' \"double\"",
    "a" * 200,
    "a" * 1001,
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa b",
    "\u2581\u2581\u2581\u2581 \u2581 \u2581\u2581",
    "abababababababababababababababababababababababababab",
    "ab" * 100,
    "The" * 50,
    "▁▁▁",
    "<|im_start|>user\nhi<|im_end|>",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
    "<|endoftext|>",
]


# Special tokens next to whitespace, for the strip attributes (make_strip_gguf.py's vocabulary).
STRIP = [
    "<|im_end|>  \n x", "a  <|im_end|>\t\nb", "<tool>   x</tool> \n", "</s>  y", "<s> z<unk>  w",
    " <|im_end|> ", "<|im_end|>", "x<|im_end|>\n\n<tool>\n", "<|user|>\n  hi <|endoftext|>  ok",
    "ab </s>\t\n\rend", "<|im_end|>\x0b\x0c z", "<tool><tool>  <tool>", "w\u3000<|im_end|>\u3000w",
]


def random_cases(n, seed, pieces):
    rng = random.Random(seed)
    specials = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "</s>", "<s>", "<b>",
                "</b>", "<unused3>", "[multimodal]", "<0x41>", "<start_of_tu", "<table>", "</td>"]
    ws = [" ", "  ", "   ", "\n", "\n\n", "\t", "\t\t", "\r\n", " \n", "\n ", "\u00a0", "\u3000"]
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
              (0x900, 0x97f), (0xe00, 0xe7f), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3),
              (0x1f300, 0x1faff), (0x2000, 0x206f), (0x10000, 0x1007f)]
    alphabets = ["ab", "ab ", "aab\u2581", "the ", "ing e", "\u3002\u4e00\u4e8c", "  \n", "<>0x41"]
    out = []
    for _ in range(n):
        if rng.random() < 0.15:
            # Few distinct characters, many overlapping merge candidates: stresses merge order.
            alphabet = rng.choice(alphabets)
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 60))))
            continue
        parts = []
        for _ in range(rng.randint(1, 12)):
            r = rng.random()
            if r < 0.35 and pieces:
                p = rng.choice(pieces)
                parts.append(p.replace("\u2581", " ") if rng.random() < 0.8 else p)
            elif r < 0.5:
                parts.append(rng.choice(ws))
            elif r < 0.6:
                parts.append(rng.choice(specials))
            else:
                lo, hi = rng.choice(ranges)
                s = "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 6)))
                parts.append(s)
        text = "".join(parts)
        # Lone surrogates cannot be UTF-8.
        text = "".join(c for c in text if not 0xd800 <= ord(c) <= 0xdfff)
        out.append(text)
    return out


def unicode_stress(n, seed):
    """Characters from every corner of Unicode (all whitespace kinds, marks, letter-like
    numbers, symbols, format characters, private use, astral planes), with apostrophes, digits
    and newlines mixed in: what regex pre-tokenizers disagree on if their tables differ."""
    rng = random.Random(seed)
    special = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u1680", "\u2000", "\u2007",
               "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u180e", "\ufeff",
               "'", "'s", "'S", "'ll", "'Re", "0", "7", "123", "\u0661", "\u00b2", "\u2167", "\u0301",
               "\u0903", "\u20dd", "$", "+", "<", "=", ">", "^", "`", "|", "~", "_", "-", "\u2014", "\u00ab",
               "\u3001", "\u3002", "\uff0c", "\u0964", "\u06d4", "\u060c", "(", ")", ".", ",", "!", "?", "\u2026"]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 25)):
            r = rng.random()
            if r < 0.45:
                parts.append(rng.choice(special))
            elif r < 0.6:
                parts.append(rng.choice(["a", "Z", "hello", "World", "\u00e9t\u00e9", "\u0394\u03b4", "\u0416\u0436"]))
            else:
                cp = rng.choice([rng.randint(0x20, 0x2fff), rng.randint(0x3000, 0xd7ff), rng.randint(0xe000, 0xffff),
                                 rng.randint(0x10000, 0x1ffff), rng.randint(0x1f000, 0x1faff), rng.randint(0xe0000, 0xe007f)])
                parts.append(chr(cp))
        out.append("".join(parts))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--random", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--pieces-gguf", help="GGUF whose tokenizer.ggml.tokens feed the random cases (needs `pip install gguf`)")
    ap.add_argument("--no-hand", action="store_true")
    ap.add_argument("--unicode-stress", type=int, default=0, help="this many cases from unicode_stress()")
    ap.add_argument("--strip", action="store_true", help="add the STRIP cases")
    a = ap.parse_args()
    pieces = []
    if a.pieces_gguf:
        import gguf  # noqa: imported here so hand cases need no extra package

        r = gguf.GGUFReader(a.pieces_gguf)
        toks = r.fields["tokenizer.ggml.tokens"].contents()
        types = r.fields["tokenizer.ggml.token_type"].contents() if "tokenizer.ggml.token_type" in r.fields else [1] * len(toks)
        pieces = [t for t, ty in zip(toks, types) if ty == 1]
    cases = ([] if a.no_hand else HAND) + (STRIP if a.strip else []) + random_cases(a.random, a.seed, pieces) + unicode_stress(a.unicode_stress, a.seed + 1)
    for c in cases:
        print(c.encode("utf-8").hex())


if __name__ == "__main__":
    main()
