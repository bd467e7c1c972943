#!/usr/bin/env python3
"""Make tokenizer goldens by driving llama.cpp's `llama-tokenize`.

    python3 scripts/oracle/make-tokenize-goldens.py --model M.gguf --cases gemma3 --out tests/golden/tokenize/gemma3.jsonl
    python3 scripts/oracle/make-tokenize-goldens.py --model llama-bpe-f32.gguf --cases llama-bpe --out ...
    python3 scripts/oracle/make-tokenize-goldens.py --model qwen2-bpe-f32.gguf --cases qwen2-bpe --out ...
    python3 scripts/oracle/make-tokenize-goldens.py --model phi3-spm-f32.gguf --cases phi3-spm --out ...
    python3 scripts/oracle/make-tokenize-goldens.py --model phi2-bpe-f32.gguf --cases phi2-bpe --out ...
    python3 scripts/oracle/make-tokenize-goldens.py --model gemma2-spm-f32.gguf --cases gemma2-spm --out ...

(scripts/oracle/make-goldens.sh runs all of them.)

Each output line is {"text": str, "add_special": bool, "parse_special": bool, "ids": [int]}.

How each case is run (llama.cpp from llama-cpp-python 0.3.36, tools/tokenize):
    llama-tokenize -m MODEL -f CASEFILE --ids --log-disable --no-escape [--no-bos] [--no-parse-special]
  * CASEFILE holds the exact UTF-8 bytes of "text". In this version llama-tokenize reads -f files
    verbatim (it does NOT strip a trailing newline, unlike the other tools' -f) and applies escape
    processing only when --escape is on, which is the default; --no-escape turns it off so "\\n"
    written literally in a case stays a backslash and an n.
  * add_special=true means llama_tokenize(add_special=true): BOS is prepended (the gemma3 and
    llama models have tokenizer.ggml.add_bos_token=true, add_eos_token=false; the Qwen models
    add_bos_token=false, so nothing is added there). --no-bos gives add_special=false.
  * parse_special=true (this tool's default) means special-token text such as "<start_of_turn>"
    becomes its single control-token id; --no-parse-special tokenizes it as plain text.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------------------------
# Cases. Each entry: text, or (text, add_special, parse_special).
# ---------------------------------------------------------------------------------------------

COMMON = [
    # empty / whitespace
    "",
    " ",
    "  ",
    "a",
    "Hello",
    "Hello world",
    " Hello world",
    "Hello world ",
    "   leading and trailing   ",
    "many          spaces          here",
    "\t",
    "tab\tseparated\tvalues\t\t",
    "\n",
    "line1\nline2\n\n\nline5",
    "windows\r\nline endings\r\n",
    " \n \n\t \r\n  ",
    # punctuation, numbers
    "Hello, world! How are you? I'm fine -- thanks...",
    "1234567890 3.14159 -42 1e-9 0x1F 1,000,000",
    "12345678901234567890123456789",
    "The year 2024 had 366 days; 7*8=56.",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "!!!!!!!!!!?????......,,,,,",
    "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism",
    # URLs / code
    "https://example.com/path/to/page?query=1&lang=en#section",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    '{"name": "wasm-chord", "version": [0, 1, 0], "ok": true, "x": null}',
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n    println!(\"{v:?}\");\n}",
    '<div class="box"><p>Hello &amp; <b>bye</b></p></div>',
    # multilingual
    "Café naïve résumé façade jalapeño Ærøskøbing Straße",
    "你好，世界！今天天气很好。",
    "日本語のテキストです。カタカナとひらがな。",
    "안녕하세요, 세계!",
    "مرحبا بالعالم",
    "नमस्ते दुनिया",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    # emoji
    "I love 🦀 and 🐍!",
    "👨‍👩‍👧‍👦 family",
    "👍🏽 ok",
    "🇫🇷🇯🇵",
]

GEMMA3_EXTRA = [
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n",
    ("<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n", True, False),
    ("<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n", False, True),
    "<bos>Hello",
    ("<bos>Hello", True, False),
    "text with <bos> inside",
    "<start_of_tu",
    "<start_of_turn",
    "<end_of_turn><end_of_turn>",
    "<eos>",
    ("<eos>", True, False),
    "<pad><unk><mask>",
    ("Hello world", False, True),
    ("", False, True),
    (" ", False, False),
    ("\n\nDouble newline start", False, False),
    "    indented code block",
    "x" * 200,
    "The quick brown fox jumps over the lazy dog. " * 3,
    "1+1=2, 2+2=4, 10/3=3.333...",
    "C:\\Users\\name\\file.txt",
    "🤖💬✨🔥💯",
    "naïve café 日本 🦀 mixed: abc123",
]

# Special-token markup that exists in the BPE test model (llama-3-style names).
LLAMA_BPE_EXTRA = [
    "<|begin_of_text|>Hello",
    ("<|begin_of_text|>Hello", True, False),
    "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    ("<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>", False, True),
    "<|start_header",
    ("Hello world", False, True),
    ("", False, False),
    "  indented with   odd spacing",
    "don't won't I'll you're we've she'd it's",
    "ABC abc AbC aBc",
]

# Special-token markup that exists in the SPM test model.
LLAMA_SPM_EXTRA = [
    "<s>Hello",
    ("<s>Hello", True, False),
    "</s>",
    "Hello</s>world",
    ("Hello world", False, True),
    ("", False, False),
    (" leading space", False, True),
    "  indented with   odd spacing",
    "don't won't I'll you're we've",
    "ABC abc AbC aBc",
]

# Qwen-style ChatML markup in the Qwen test models (add_bos_token=false there, so add_special
# adds nothing).
QWEN_BPE_EXTRA = [
    "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
    ("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", True, False),
    ("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n", False, True),
    "<|endoftext|>Hello",
    ("<|endoftext|>", True, False),
    "text with <|im_end|> inside<|endoftext|>",
    "<|im_start",
    ("Hello world", False, True),
    ("", False, False),
    "  indented with   odd spacing",
    "don't won't I'll you're we've she'd it's",
    "ABC abc AbC aBc",
    "digits 1234567 and 3.14159",
]

# Phi-3 chat markup in the phi3 test model (the spm vocabulary plus Phi-3's control tokens).
PHI3_SPM_EXTRA = [
    "<|user|>\nHi!<|end|>\n<|assistant|>\n",
    ("<|user|>\nHi!<|end|>\n<|assistant|>\n", True, False),
    ("<|user|>\nHi!<|end|>\n<|assistant|>\n", False, True),
    "<|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\n",
    "text with <|end|> inside<|endoftext|>",
    "<|assistant",
]

# Gemma chat markup in the gemma / gemma2 test models (the spm vocabulary plus Gemma's turn
# tokens, and no space prefix, as Gemma's files).
GEMMA_SPM_EXTRA = [
    "<start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n",
    ("<start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n", True, False),
    ("<start_of_turn>user\nHi!<end_of_turn>\n<start_of_turn>model\n", False, True),
    "text with <end_of_turn> inside</s>",
    "<start_of_turn",
]

LLAMA_COMMON = COMMON

CASES = {
    "gemma3": COMMON + GEMMA3_EXTRA,
    "llama-bpe": LLAMA_COMMON + LLAMA_BPE_EXTRA,
    "llama-spm": LLAMA_COMMON + LLAMA_SPM_EXTRA,
    "qwen2-bpe": COMMON + QWEN_BPE_EXTRA,
    "qwen3-bpe": COMMON + QWEN_BPE_EXTRA,
    "phi3-spm": LLAMA_COMMON + LLAMA_SPM_EXTRA + PHI3_SPM_EXTRA,
    "phi2-bpe": LLAMA_COMMON + LLAMA_BPE_EXTRA,
    "gemma-spm": LLAMA_COMMON + LLAMA_SPM_EXTRA + GEMMA_SPM_EXTRA,
    "gemma2-spm": LLAMA_COMMON + LLAMA_SPM_EXTRA + GEMMA_SPM_EXTRA,
}


def normalize(case):
    if isinstance(case, str):
        return case, True, True
    return case


def tokenize(bin_path: str, model: str, text: str, add_special: bool, parse_special: bool) -> list[int]:
    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as f:
        f.write(text.encode("utf-8"))
        path = f.name
    try:
        cmd = [bin_path, "-m", model, "-f", path, "--ids", "--log-disable", "--no-escape"]
        if not add_special:
            cmd.append("--no-bos")
        if not parse_special:
            cmd.append("--no-parse-special")
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode("utf-8", "replace"))
            raise SystemExit(f"llama-tokenize failed ({r.returncode}) on {text!r}")
        out = r.stdout.decode("ascii").strip()
        if not (out.startswith("[") and out.endswith("]")):
            raise SystemExit(f"unexpected llama-tokenize output for {text!r}: {out!r}")
        return json.loads(out)
    finally:
        os.unlink(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--cases", required=True, choices=sorted(CASES))
    ap.add_argument("--out", required=True)
    ap.add_argument("--bin", default=None, help="llama.cpp bin dir (default: from build-llama-cpp.sh)")
    args = ap.parse_args()

    bin_dir = args.bin
    if bin_dir is None:
        here = os.path.dirname(os.path.abspath(__file__))
        bin_dir = subprocess.check_output(["bash", os.path.join(here, "build-llama-cpp.sh")], text=True).strip()
    exe = os.path.join(bin_dir, "llama-tokenize")

    seen = set()
    lines = []
    for case in CASES[args.cases]:
        text, add_special, parse_special = normalize(case)
        key = (text, add_special, parse_special)
        if key in seen:
            raise SystemExit(f"duplicate case {key!r}")
        seen.add(key)
        ids = tokenize(exe, args.model, text, add_special, parse_special)
        # Determinism check: a second run must agree.
        if tokenize(exe, args.model, text, add_special, parse_special) != ids:
            raise SystemExit(f"llama-tokenize is not deterministic on {text!r}")
        rec = {"text": text, "add_special": add_special, "parse_special": parse_special, "ids": ids}
        lines.append(json.dumps(rec, ensure_ascii=False))
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
