#!/usr/bin/env python3
"""Make chat-template goldens with llama.cpp (driven by scripts/oracle/make-chat-template-goldens.sh).

    python3 scripts/oracle/make-chat-template-goldens.py --oracle CHAT_TEMPLATE_BIN --out-dir tests/golden/chat-templates

Renders every conversation below, with and without add_generation_prompt, through
scripts/oracle/chat-template.cpp:
- builtin.jsonl: each of llama.cpp's builtin templates that one of ours stands for, by name,
  through llama_chat_apply_template;
- jinja.jsonl: each family template in jinja/*.jinja (as the models' tokenizer_config has it),
  through llama.cpp's Jinja engine ("jinja") and through llama_chat_apply_template ("legacy": the
  builtin llama.cpp recognises in the source, what it renders with --no-jinja).
Each render is run twice and must agree. rust/model/tests/chat_templates.rs reads both files.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess

# llama.cpp's builtin names for our BuiltinTemplate variants (Llama2 has no counterpart there:
# it follows Meta's Jinja, checked through jinja/llama2.jinja).
BUILTINS = ["chatml", "llama3", "phi3", "gemma"]

# jinja/NAME.jinja with the bos_token and eos_token of the model it comes from.
JINJA = [
    ("chatml", "", "<|im_end|>"),
    ("qwen2.5", "", "<|im_end|>"),
    ("qwen3", "", "<|im_end|>"),
    ("llama2", "<s>", "</s>"),
    ("llama3", "<|begin_of_text|>", "<|eot_id|>"),
    # TinyLlama-1.1B-Chat (Zephyr's format): one tag per line, so it renders right only with
    # trim_blocks and lstrip_blocks on, as transformers and llama.cpp compile templates.
    ("tinyllama", "<s>", "</s>"),
    ("phi3", "<s>", "<|endoftext|>"),
    ("gemma", "<bos>", "<eos>"),
    ("gemma3", "<bos>", "<eos>"),
]

# (name, messages). "padded" has whitespace around every text, which tells templates that trim
# from those that keep it.
CONVERSATIONS = [
    ("system_user", [("system", "You are a helpful assistant."), ("user", "Hello! Who are you?")]),
    ("user", [("user", "What is 2 + 2?")]),
    ("multi_turn", [("user", "Hi"), ("assistant", "Hello! How can I help?"), ("user", "Tell me a joke.")]),
    ("padded", [("system", "  Be brief. \n"), ("user", "\n Hi there  "), ("assistant", " Hello.\n"),
                ("user", "Bye\n")]),
]


def render(oracle: str, args: list[str], messages, add_ass: bool) -> str | None:
    """The rendered prompt, or None when the template raised an error."""
    cmd = [oracle, *args, "--add-ass", "1" if add_ass else "0"]
    for role, content in messages:
        cmd += [role, content]
    outs = []
    for _ in range(2):
        r = subprocess.run(cmd, capture_output=True)
        if r.returncode not in (0, 1) or (r.returncode == 1 and b"jinja:" not in r.stderr):
            raise SystemExit(f"{cmd}: exit {r.returncode}: {r.stderr.decode()}")
        outs.append(r.stdout.decode("utf-8") if r.returncode == 0 else None)
    if outs[0] != outs[1]:
        raise SystemExit(f"{cmd}: two runs disagree")
    return outs[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--oracle", required=True)
    ap.add_argument("--out-dir", required=True)
    args = ap.parse_args()

    def cases():
        for conv, messages in CONVERSATIONS:
            for add_ass in (False, True):
                yield conv, messages, add_ass

    def msgs(messages):
        return [{"role": r, "content": c} for r, c in messages]

    builtin = []
    for name in BUILTINS:
        for conv, messages, add_ass in cases():
            builtin.append({"template": name, "conversation": conv, "messages": msgs(messages),
                            "add_generation_prompt": add_ass,
                            "legacy": render(args.oracle, ["--legacy", name], messages, add_ass)})

    jinja, deviations = [], []
    for name, bos, eos in JINJA:
        path = os.path.join(args.out_dir, "jinja", f"{name}.jinja")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for conv, messages, add_ass in cases():
            j = render(args.oracle, ["--jinja", path, "--bos", bos, "--eos", eos], messages, add_ass)
            legacy = render(args.oracle, ["--legacy", source], messages, add_ass)
            jinja.append({"template": name, "bos": bos, "eos": eos, "conversation": conv,
                          "messages": msgs(messages), "add_generation_prompt": add_ass,
                          "jinja": j, "legacy": legacy})
            # What the legacy path renders differently from the template itself (BOS aside: a
            # runtime drops a leading BOS text since tokenization adds the token).
            if j is None or j.removeprefix(bos) != legacy:
                deviations.append(f"{name}/{conv}/add_ass={int(add_ass)}")

    for file, lines in (("builtin.jsonl", builtin), ("jinja.jsonl", jinja)):
        with open(os.path.join(args.out_dir, file), "w", encoding="utf-8") as f:
            for line in lines:
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
        print(f"{file}: {len(lines)} renders")
    print("llama_chat_apply_template differs from the Jinja for:", *deviations, sep="\n  ")


if __name__ == "__main__":
    main()
