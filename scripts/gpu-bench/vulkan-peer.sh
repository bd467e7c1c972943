# Sourced by run.sh (and usable by hand here, to check the recipe on lavapipe): what llama.cpp's
# Vulkan build needs on a machine without a Vulkan SDK, from the Debian .debs that prepare.sh puts
# in .devcarry/vkdev/{trixie,bookworm}/ (glslc, libshaderc1, libvulkan-dev, spirv-headers; trixie's
# also libc6, libstdc++6, libgcc-s1, because its glslc needs glibc 2.38).
#
#   vkdev_unpack DEBDIR PREFIX        dpkg -x every .deb into PREFIX (never into /) and write
#                                     PREFIX/glslc, a wrapper that runs glslc with PREFIX's
#                                     libraries (and PREFIX's own dynamic loader and glibc when
#                                     they were carried: then it runs on any x86-64 Linux)
#   vk_patch_layer_settings SRCDIR PREFIX
#                                     drop ggml-vulkan's VK_EXT_layer_settings use when PREFIX's
#                                     headers predate it (bookworm's 1.3.239 do; trixie's 1.4.309
#                                     have it)
#   vk_cmake_args PREFIX              the -D flags that point CMake at PREFIX's headers, glslc
#                                     and SPIRV-Headers, and at the system's libvulkan.so.1
#
# The loader itself (libvulkan.so.1) comes from .gl/ (unpacked into / by run.sh) or, here, from
# the system's libvulkan1.

vkdev_unpack() {
  local debs=$1 prefix=$2 f
  mkdir -p "$prefix"
  for f in "$debs"/*.deb; do dpkg -x "$f" "$prefix"; done
  # glslc runs at configure time (extension probes) and for each shader at build time, from
  # processes CMake and vulkan-shaders-gen start: a wrapper is more robust than exporting
  # LD_LIBRARY_PATH to the whole build (and to llama-bench after it).
  local lib="$prefix/usr/lib/x86_64-linux-gnu"
  if [ -x "$lib/ld-linux-x86-64.so.2" ]; then
    # glibc carried too: its loader runs glslc on PREFIX's libc/libstdc++ whatever the host has
    printf '#!/bin/sh\nexec "%s/ld-linux-x86-64.so.2" --library-path "%s" "%s/usr/bin/glslc" "$@"\n' \
      "$lib" "$lib" "$prefix" > "$prefix/glslc"
  else
    printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s/usr/bin/glslc" "$@"\n' \
      "$lib" "$prefix" > "$prefix/glslc"
  fi
  chmod +x "$prefix/glslc"
  local version
  version=$("$prefix/glslc" --version 2>&1) || { echo "$prefix/glslc does not run: $version" >&2; return 1; }
  echo "${version%%$'\n'*}"
}

# ggml_vk_instance_init() chains a vk::LayerSettingsCreateInfoEXT (VK_EXT_layer_settings, Vulkan
# headers 1.3.261+) into the instance create info, only to turn on the validation layer's
# best-practice checks when GGML_VULKAN_VALIDATE builds find that layer. Without the extension in
# the headers the file does not compile; with the settings struct removed the instance is created
# exactly as in a normal (non-validating) build. Idempotent: a patched file is left alone.
vk_patch_layer_settings() {
  local src=$1 prefix=${2:-} cpp="$1/ggml/src/ggml-vulkan/ggml-vulkan.cpp"
  if [ -n "$prefix" ] && grep -q VK_EXT_layer_settings "$prefix/usr/include/vulkan/vulkan_core.h"; then
    return 0 # these headers have it: nothing to patch
  fi
  grep -q 'LayerSettingsCreateInfoEXT' "$cpp" || return 0
  sed -i \
    -e '/VkBool32 enable_best_practice = layer_settings;/,/vk::LayerSettingsCreateInfoEXT layer_setting_info(settings);/d' \
    -e 's/layers, extensions, &layer_setting_info);/layers, extensions, nullptr);/' \
    "$cpp"
  if grep -q 'LayerSetting' "$cpp"; then
    echo "vk_patch_layer_settings: VK_EXT_layer_settings still used in $cpp:" >&2
    grep -n 'LayerSetting' "$cpp" >&2
    return 1
  fi
  echo "patched out VK_EXT_layer_settings (validation-layer settings only) in ggml-vulkan.cpp"
}

vk_cmake_args() {
  local prefix=$1 lib
  lib=$(ls /usr/lib/x86_64-linux-gnu/libvulkan.so.1 /usr/lib/libvulkan.so.1 2>/dev/null | head -1)
  echo "-DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR=$prefix/usr/include -DVulkan_LIBRARY=${lib:-/usr/lib/x86_64-linux-gnu/libvulkan.so.1}" \
    "-DVulkan_GLSLC_EXECUTABLE=$prefix/glslc -DSPIRV-Headers_DIR=$prefix/usr/share/cmake/SPIRV-Headers"
}
