#!/usr/bin/env bash
# Installs the dependencies, builds dlc and runs every test (unit, golden, truncation).
# The exit status is ctest's: 0 when everything passed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
status=0
ctest --test-dir build --output-on-failure -j1 || status=$?
exit "$status"
