#!/usr/bin/env bash
# Installs everything dlc needs to build and test on a fresh Debian bookworm machine.
# Always runs the install (it is idempotent), so a missing package shows up here
# rather than hiding behind something installed by hand.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  build-essential cmake ninja-build git python3
  llvm-19-dev llvm-19 libedit-dev libzstd-dev libffi-dev libxml2-dev zlib1g-dev
  antlr4 libantlr4-runtime-dev
  doctest-dev
  libopenblas-dev
  dataset-fashion-mnist
  valgrind
)

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -E)
else
  echo "install-deps.sh: must run as root (or with sudo available)" >&2
  exit 1
fi

${as_root[@]+"${as_root[@]}"} apt-get update
${as_root[@]+"${as_root[@]}"} apt-get install -y --no-install-recommends "${packages[@]}"
