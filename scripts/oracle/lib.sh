# Sourced by the make-*-goldens.sh scripts: builds one of our libllama oracle programs.
#   build_oracle_program NAME [common]   scripts/oracle/NAME.cpp -> $cache/oracle/NAME (prints the path)
# Links the static libs that build-llama-cpp.sh made (with "common", also libllama-common, for
# programs that use common/ such as its Jinja chat templates); rebuilt when the source, oracle.h or
# libllama is newer than the binary. Needs $root and $cache set.
build_oracle_program() {
  local name="$1" src="$cache/llama.cpp" out="$cache/oracle/$1" here="$root/scripts/oracle"
  local extra=()
  if [ "${2:-}" = common ]; then
    extra=(-I"$src/common" -I"$src/vendor" "$src/build/common/libllama-common.a"
      "$src/build/common/libllama-common-base.a")
  fi
  mkdir -p "$cache/oracle"
  if [ ! -x "$out" ] || [ "$here/$name.cpp" -nt "$out" ] || [ "$here/oracle.h" -nt "$out" ] \
    || [ "$src/build/src/libllama.a" -nt "$out" ]; then
    c++ -O2 -std=c++17 "$here/$name.cpp" \
      -I"$src/include" -I"$src/ggml/include" "${extra[@]}" \
      "$src/build/src/libllama.a" "$src/build/ggml/src/libggml.a" \
      "$src/build/ggml/src/libggml-cpu.a" "$src/build/ggml/src/libggml-base.a" \
      -fopenmp -lpthread -ldl -o "$out"
  fi
  echo "$out"
}
