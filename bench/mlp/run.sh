#!/usr/bin/env bash
# bench/mlp/run.sh — one training step of an MLP 784-512-512-10 (ReLU, softmax
# cross-entropy, SGD with momentum, batch 128, a fixed batch) in dlc (with
# `valueAndGrad`), in hand-written C with OpenBLAS (-O3 -march=native) and in
# PyTorch (Debian's python3-torch). Reports steps/s, the ratios and peak
# resident memory of each, best of RUNS runs. See bench/README.md.
#
# Environment: DLC (default build/dlc), PYTHON (default /usr/bin/python3),
# RUNS (default 3). The machine's environment sets OPENBLAS_CORETYPE=Haswell;
# it is left as is for every peer. OpenBLAS uses its default threads (2 here)
# for all three. PyTorch runs at its best on this machine: one intra-op
# thread (torch.set_num_threads(1)) and glibc's MALLOC_MMAP_THRESHOLD_ /
# MALLOC_TRIM_THRESHOLD_ set so freed memory stays in the process; its
# default configuration is reported too.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
DLC="${DLC:-$root/build/dlc}"
PYTHON="${PYTHON:-/usr/bin/python3}"
RUNS="${RUNS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cc -O3 -march=native "$here/mlp.c" -lopenblas -lm -o "$work/mlp_c" || exit 1
"$DLC" build -O3 "$here/mlp.dl" -o "$work/mlp_dl" || exit 1

# best NAME CMD...: runs CMD RUNS times; prints "NAME steps/s peakKB".
best() {
    local name="$1"; shift
    local bestRate=0 bestMem=0
    for _ in $(seq "$RUNS"); do
        local out
        out="$( { /usr/bin/time -f "MAXRSS %M" "$@"; } 2>&1 )" || { echo "$name failed: $out" >&2; return 1; }
        local rate mem
        rate="$(echo "$out" | awk '/steps\/s/ {print $3}')"
        mem="$(echo "$out" | awk '/MAXRSS/ {print $2}')"
        if awk "BEGIN {exit !($rate > $bestRate)}"; then bestRate="$rate"; bestMem="$mem"; fi
    done
    echo "$name $bestRate $bestMem"
}

{
    best "C+OpenBLAS" "$work/mlp_c"
    best "dlc" "$work/mlp_dl"
    best "PyTorch(best)" env MALLOC_MMAP_THRESHOLD_=10000000000 MALLOC_TRIM_THRESHOLD_=10000000000 \
        "$PYTHON" "$here/mlp_torch.py" 1
    best "PyTorch(default)" "$PYTHON" "$here/mlp_torch.py" "$(nproc)"
} > "$work/results" || exit 1

awk '
    { rate[$1] = $2; mem[$1] = $3; order[NR] = $1 }
    END {
        printf "%-18s %10s %12s %14s %14s\n", "implementation", "steps/s", "peak MB", "vs C", "dlc speedup"
        for (i = 1; i <= NR; i++) {
            n = order[i]
            printf "%-18s %10.1f %12.1f %14.2f %14s\n", n, rate[n], mem[n] / 1024, rate[n] / rate["C+OpenBLAS"],
                   n == "dlc" ? "-" : sprintf("%.2f", rate["dlc"] / rate[n])
        }
    }' "$work/results"
