#!/usr/bin/env bash
# Installs what tracoco needs on a Debian/Ubuntu machine, then the npm dependencies (which builds
# the optional oneDNN kernels when libdnnl-dev is present).
#   bash scripts/setup.sh          # libdnnl-dev (when root or sudo is available) + npm install
#   bash scripts/setup.sh --test   # also nats-server, prometheus and the Python interop packages
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libdnnl-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(nats-server prometheus python3-nibabel python3-h5py python3-scipy python3-numpy python3-torch)
fi

if command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [[ "$(id -u)" -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  fi
  missing=()
  for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [[ ${#missing[@]} -gt 0 ]]; then
    if [[ "$SUDO" == "none" ]]; then
      echo "setup: cannot install ${missing[*]} (not root and no sudo); continuing without them" >&2
    else
      echo "setup: installing ${missing[*]}" >&2
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
      $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
  fi
else
  echo "setup: apt-get not found; install oneDNN (libdnnl) yourself for the fast CPU kernels" >&2
fi

if [[ -f package-lock.json ]]; then npm ci --no-fund --no-audit; else npm install --no-fund --no-audit; fi
