#!/usr/bin/env bash
# Installs what the browser tests and the demo need on Debian: the distribution's Chromium (the
# only browser build that can be installed here — Playwright's own browser download is not
# reachable) and Mesa's Vulkan drivers (lavapipe, for native wgpu tests and Chromium's Vulkan path),
# then playwright-core into playwright/node_modules.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# Run privileged commands directly as root, through sudo otherwise.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed' \
  || missing+=(mesa-vulkan-drivers)

if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq >&2
  as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-liberation >/dev/null
fi

# playwright-core is the only npm dependency of the browser tests; `npm ci` when the lock file
# matches and node_modules is already complete is skipped to keep repeated runs quiet and fast.
if [ ! -d playwright/node_modules/playwright-core ]; then
  echo "== installing playwright-core (npm)" >&2
  if [ -f playwright/package-lock.json ]; then
    npm ci --prefix playwright --no-audit --no-fund --loglevel=error >&2
  else
    npm install --prefix playwright --no-audit --no-fund --loglevel=error >&2
  fi
fi
