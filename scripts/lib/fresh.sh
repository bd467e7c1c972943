# Content stamps: lets a build step skip itself when neither its inputs nor its outputs changed.
# Sourced by scripts/build-wasm.sh, scripts/build-package.sh and scripts/demo.sh (bash, set -e safe).
#
# A step describes itself as text — one line per input (a sha256 of a file, a tool version, the
# flags) followed by one line per output file (its sha256) — and keeps that text as its stamp in
# ${CARGO_TARGET_DIR:-target}/stamps/NAME.stamp after it ran. Next time the step recomputes the
# text first: the same text means the same inputs gave the outputs that are still there, byte for
# byte, so the step can be skipped. Any change — an edited source, another tool version, a deleted
# or overwritten output — changes the text and the step runs. Content hashes, not mtimes: a
# rebuild that produces the same bytes (cargo relinking, git checkout) does not cascade. Hashing
# all the files involved (a few tens of MB) takes well under a second.
#
#   desc="$(fresh_files a.wasm; echo "flags -O3")"
#   if fresh_check NAME "$desc" OUT_DIR; then echo up to date; else build; fresh_stamp NAME "$desc" OUT_DIR; fi

fresh_dir="${FRESH_STAMP_DIR:-${CARGO_TARGET_DIR:-target}/stamps}"

# One "sha256  path" line per file given, "missing  path" for an absent one; a directory stands
# for every file under it (sorted, so the text does not depend on directory order).
fresh_files() {
  local f
  for f in "$@"; do
    if [ -d "$f" ]; then
      find "$f" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    elif [ -f "$f" ]; then
      sha256sum "$f"
    else
      echo "missing  $f"
    fi
  done
}

# fresh_check NAME DESC OUTPUT... : true when NAME's stamp holds DESC and the outputs' hashes as
# they were when it was written (so every output still exists, unchanged).
fresh_check() {
  local name="$1" desc="$2"
  shift 2
  local stamp="$fresh_dir/$name.stamp"
  [ -f "$stamp" ] || return 1
  [ "$(cat "$stamp")" = "$(printf '%s\n-- outputs\n' "$desc"; fresh_files "$@")" ]
}

# fresh_stamp NAME DESC OUTPUT... : records that the outputs now correspond to DESC. DESC must be
# what was computed *before* the step ran, so inputs edited during the build are seen next time.
fresh_stamp() {
  local name="$1" desc="$2"
  shift 2
  mkdir -p "$fresh_dir"
  { printf '%s\n-- outputs\n' "$desc"; fresh_files "$@"; } >"$fresh_dir/$name.stamp.tmp"
  mv "$fresh_dir/$name.stamp.tmp" "$fresh_dir/$name.stamp"
}

# fresh_forget NAME : drops a stamp before its step runs (an interrupted step then reruns).
fresh_forget() {
  rm -f "$fresh_dir/$1.stamp"
}
