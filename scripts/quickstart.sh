#!/usr/bin/env bash
# From a fresh Debian bookworm machine to a trained model: installs the
# dependencies (the Fashion-MNIST files come from Debian's
# dataset-fashion-mnist), builds dlc and trains examples/fashion_mnist_mlp.dl,
# printing the loss and test accuracy of each epoch.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
./build/dlc run examples/fashion_mnist_mlp.dl
