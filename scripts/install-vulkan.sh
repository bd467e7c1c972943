#!/usr/bin/env bash
# Installs a Vulkan driver for the native GPU tests when the machine has no GPU: Mesa's lavapipe
# (software Vulkan on the CPU), from Debian's mesa-vulkan-drivers. Idempotent: does nothing when
# the lavapipe ICD is already present. Needs root (or sudo) for apt-get.
set -euo pipefail

icd_present() {
    ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1
}

if icd_present; then
    echo "install-vulkan: lavapipe already installed" >&2
    exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq mesa-vulkan-drivers >/dev/null

if ! icd_present; then
    echo "install-vulkan: mesa-vulkan-drivers installed but no lavapipe ICD found" >&2
    exit 1
fi
echo "install-vulkan: lavapipe installed" >&2
