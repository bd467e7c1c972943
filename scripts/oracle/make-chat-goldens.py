#!/usr/bin/env python3
"""Make multi-turn chat goldens with llama.cpp (driven by scripts/oracle/make-chat-goldens.sh).

    python3 scripts/oracle/make-chat-goldens.py --chat CHAT_BIN --model M.gguf --out tests/golden/chat/gemma3.jsonl

Each conversation below is played by `chat` (scripts/oracle/chat.cpp) twice (both runs must agree);
one output line per turn: {"conversation", "turn", "system", "user", "n_predict", "prompt_ids",
"reused", "ids", "stop", "gaps", "text"} where "text" is the reply (the generated pieces before an
end-of-generation token, lossy UTF-8).
"""
from __future__ import annotations

import argparse
import json
import subprocess

THREADS = 2
CTX = 2048
TEMPLATE = "gemma"

# (name, system, n_predict, user messages). "long" pushes the cache past the 1024 cells of Gemma's
# sliding-window layers, so later turns rewind a cache that has wrapped around.
CONVERSATIONS = [
    ("short", None, 32, [
        "Hi! What is the capital of France?",
        "And what is it famous for?",
        "Thanks. Name one museum there.",
    ]),
    ("system", "You are a helpful assistant. Answer briefly.", 24, [
        "Write one sentence about the sea.",
        "Now one about mountains.",
        "Which of the two do you prefer?",
    ]),
    ("long", None, 48, [
        "Summarise this text in one sentence: " + " ".join(
            f"Paragraph {i}: the river flows past the old mill, where the miller grinds wheat into flour "
            f"for the village bakery, and children play on the stone bridge in the afternoon sun."
            for i in range(1, 31)),
        "What does the miller make?",
        "Where do the children play?",
        "Tell me more about the bridge.",
    ]),
]


def play(chat_bin: str, model: str, system: str | None, n_predict: int, users: list[str]) -> list[dict]:
    cmd = [chat_bin, "-m", model, "--template", TEMPLATE, "-n", str(n_predict), "-t", str(THREADS), "-c", str(CTX)]
    if system is not None:
        cmd += ["--system", system]
    for u in users:
        cmd += ["-u", u]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chat", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    lines = []
    for name, system, n_predict, users in CONVERSATIONS:
        first = play(args.chat, args.model, system, n_predict, users)
        if first != play(args.chat, args.model, system, n_predict, users):
            raise SystemExit(f"{name}: two llama.cpp runs disagree")
        for turn, (user, r) in enumerate(zip(users, first)):
            ids = r["ids"][:-1] if r["stop"] == "eog" else r["ids"]
            text = b"".join(bytes.fromhex(p) for p in r["pieces_hex"][: len(ids)]).decode("utf-8", "replace")
            lines.append({
                "conversation": name, "turn": turn, "system": system, "user": user, "n_predict": n_predict,
                "prompt_ids": r["prompt_ids"], "reused": r["reused"], "ids": r["ids"], "stop": r["stop"],
                "gaps": r["gaps"], "text": text,
            })
            print(f"{name} turn {turn}: {len(r['prompt_ids'])} prompt tokens, {r['reused']} reused, "
                  f"{len(r['ids'])} generated ({r['stop']})")
    with open(args.out, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
