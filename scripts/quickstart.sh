#!/usr/bin/env bash
# From a fresh Debian bookworm machine to a running DL program: installs the
# dependencies, builds dlc and trains examples/mlp_by_hand.dl (the best example
# until the standard library brings Fashion-MNIST).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
./build/dlc run examples/mlp_by_hand.dl
