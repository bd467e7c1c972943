#!/usr/bin/env bash
# Regenerates the tokenizer crate's llama.cpp goldens under rust/tokenizer/tests/data/.
#
#   rust/tokenizer/tests/oracle/make_goldens.sh
#
# Needs: a llama.cpp build (LLAMA_CPP, default ~/.cache/wasm-chord/llama.cpp, built by
# scripts/oracle/build-llama-cpp.sh), python3 with `gguf` (pip install gguf), the Gemma 3 test
# model (scripts/test-model.sh fetches it). The small vocabularies tiny_bpe, tiny_spm and
# phi3_strip are inputs here, not outputs: make_bpe_gguf.py / make_spm_gguf.py /
# make_strip_gguf.py wrote them once (the first two need `tokenizers` / `sentencepiece` too) and
# they are committed as ../data/<name>.gguf.json (no model file is committed); gguf_json.py
# builds the GGUFs from them here, and every variant llama.cpp sees is derived from those by
# patch_gguf.py, exactly as the Rust tests patch them in memory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$here/../data"
root="$(cd "$here/../../../.." && pwd)"
oracle="$("$here/build_oracle.sh")"
gemma="$("$root/scripts/test-model.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cases() { python3 "$here/cases.py" "$@"; }
for name in tiny_bpe tiny_spm phi3_strip; do
  python3 "$here/gguf_json.py" build "$data/$name.gguf.json" "$work/$name.gguf"
done
digest() { # llama_oracle --vocab output -> header line + FNV-1a 64 of the token lines
  python3 - "$1" <<'PY'
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l]
h = 0xcbf29ce484222325
for b in "\n".join(lines[1:]).encode():
    h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
print(lines[0])
print("fnv1a64 %016x" % h)
PY
}

# Gemma 3: the real vocabulary, and the same with a space prefix (LLaMA-style).
cases --random 400 --unicode-stress 100 --seed 1234 --pieces-gguf "$gemma" > "$work/gemma.hex"
"$oracle" "$gemma" "$work/gemma.hex" > "$data/gemma3_cases.jsonl"
"$oracle" "$gemma" --vocab > "$work/gemma.vocab"
digest "$work/gemma.vocab" > "$data/gemma3_vocab.digest"
python3 "$here/patch_gguf.py" "$gemma" "$work/gemma_space.gguf" tokenizer.ggml.add_space_prefix=bool:true
cases --random 150 --seed 99 --pieces-gguf "$gemma" > "$work/gemma_space.hex"
"$oracle" "$work/gemma_space.gguf" "$work/gemma_space.hex" > "$data/gemma3_space_prefix.jsonl"

# Byte-level BPE, one variant per pre-tokenizer family ("none": key removed). The common
# families get more cases; the rest the hand-written ones and a Unicode stress set.
mkdir -p "$data/bpe"
cases --random 100 --unicode-stress 60 --seed 77 --pieces-gguf "$gemma" > "$work/bpe_main.hex"
cases --unicode-stress 30 --seed 78 > "$work/bpe_other.hex"
for pre in none default gpt-2 llama-bpe qwen2 qwen35 falcon starcoder command-r poro-chat viking \
           tekken gpt-4o chatglm-bpe glm4 dbrx bloom; do
  case $pre in none|default|gpt-2|llama-bpe|qwen2) set=main ;; *) set=other ;; esac
  if [ "$pre" = none ]; then edit=tokenizer.ggml.pre=remove; else edit="tokenizer.ggml.pre=str:$pre"; fi
  python3 "$here/patch_gguf.py" "$work/tiny_bpe.gguf" "$work/bpe.gguf" "$edit"
  "$oracle" "$work/bpe.gguf" "$work/bpe_$set.hex" > "$data/bpe/$pre.jsonl"
  "$oracle" "$work/bpe.gguf" --vocab > "$work/bpe.vocab"
  digest "$work/bpe.vocab" > "$data/bpe/$pre.vocab.digest"
done

# SentencePiece BPE with LLaMA conventions: defaults, no space prefix, EOS instead of BOS.
mkdir -p "$data/spm"
cases --random 120 --unicode-stress 30 --seed 31 --pieces-gguf "$work/tiny_spm.gguf" > "$work/spm.hex"
for v in defaults nospace eos; do
  case $v in
    defaults) edits=() ;;
    nospace) edits=(tokenizer.ggml.add_space_prefix=bool:false) ;;
    eos) edits=(tokenizer.ggml.add_bos_token=bool:false tokenizer.ggml.add_eos_token=bool:true) ;;
  esac
  python3 "$here/patch_gguf.py" "$work/tiny_spm.gguf" "$work/spm.gguf" "${edits[@]}"
  "$oracle" "$work/spm.gguf" "$work/spm.hex" > "$data/spm/$v.jsonl"
  "$oracle" "$work/spm.gguf" --vocab > "$work/spm.vocab"
  digest "$work/spm.vocab" > "$data/spm/$v.vocab.digest"
done
# Strip attributes (Phi-3 naming rule) on a tiny hand-made vocabulary.
cases --no-hand --strip > "$work/strip.hex"
"$oracle" "$work/phi3_strip.gguf" "$work/strip.hex" > "$data/phi3_strip.jsonl"
"$oracle" "$work/phi3_strip.gguf" --vocab > "$work/strip.vocab"
digest "$work/strip.vocab" > "$data/phi3_strip.vocab.digest"
echo "goldens written to $data" >&2
