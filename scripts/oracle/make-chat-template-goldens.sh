#!/usr/bin/env bash
# Regenerates tests/golden/chat-templates/{builtin,jinja}.jsonl: fixed conversations rendered by
# llama.cpp's builtin chat templates (llama_chat_apply_template) and by its Jinja engine on the
# family templates in tests/golden/chat-templates/jinja/ (scripts/oracle/chat-template.cpp).
# rust/model/tests/chat_templates.rs checks ours against them. Takes seconds once llama.cpp is built.
#
#   scripts/oracle/make-chat-template-goldens.sh
#
# Needs what scripts/oracle/build-llama-cpp.sh needs (cmake, a C++ compiler).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="${WASM_CHORD_CACHE:-$HOME/.cache/wasm-chord}"
bash "$root/scripts/oracle/build-llama-cpp.sh" >/dev/null
. "$root/scripts/oracle/lib.sh"
oracle="$(build_oracle_program chat-template common)"
python3 "$root/scripts/oracle/make-chat-template-goldens.py" --oracle "$oracle" \
  --out-dir "$root/tests/golden/chat-templates"
