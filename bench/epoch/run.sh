#!/usr/bin/env bash
# bench/epoch/run.sh — one training epoch on Fashion-MNIST of the MLP
# (784-256-128-10) and of the CNN (two 3x3 convs, max pools, dense 128) of
# the examples, in dlc (mlp.dl, cnn.dl: the nn/optim/data standard library,
# compiled with -O3) and in PyTorch (torch_epoch.py, Debian's python3-torch):
# seconds per epoch (the training loop only), peak resident memory of the
# whole run (dataset included) and test accuracy after the epoch, best of
# RUNS runs. See bench/README.md.
#
# Environment: DLC (default build/dlc), PYTHON (default /usr/bin/python3),
# RUNS (default 1). OPENBLAS_CORETYPE=Haswell from the machine's environment
# is left as is. PyTorch is tried with 1 and with 2 intra-op threads and
# glibc's MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ set (its best on this
# machine, as in bench/mlp), and its faster configuration is reported.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
DLC="${DLC:-$root/build/dlc}"
PYTHON="${PYTHON:-/usr/bin/python3}"
RUNS="${RUNS:-1}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$DLC" build -O3 "$here/mlp.dl" -o "$work/mlp" || exit 1
"$DLC" build -O3 "$here/cnn.dl" -o "$work/cnn" || exit 1

# best NAME CMD...: runs CMD RUNS times; prints "NAME seconds peakKB accuracy".
best() {
    local name="$1"; shift
    local bestTime=1e9 bestMem=0 bestAcc=0
    for _ in $(seq "$RUNS"); do
        local out
        out="$( { /usr/bin/time -f "MAXRSS %M" "$@"; } 2>&1 )" || { echo "$name failed: $out" >&2; return 1; }
        local t mem acc
        t="$(echo "$out" | awk '/epoch_seconds/ {print $2}')"
        acc="$(echo "$out" | awk '/epoch_seconds/ {print $4}')"
        mem="$(echo "$out" | awk '/MAXRSS/ {print $2}')"
        if awk "BEGIN {exit !($t < $bestTime)}"; then bestTime="$t"; bestMem="$mem"; bestAcc="$acc"; fi
    done
    echo "$name $bestTime $bestMem $bestAcc"
}

torch=(env MALLOC_MMAP_THRESHOLD_=10000000000 MALLOC_TRIM_THRESHOLD_=10000000000
       "$PYTHON" "$here/torch_epoch.py")

for model in mlp cnn; do
    best "dlc" "$work/$model" > "$work/$model.dlc" || exit 1
    best "PyTorch(1)" "${torch[@]}" "$model" 1 > "$work/$model.t1" || exit 1
    best "PyTorch(2)" "${torch[@]}" "$model" 2 > "$work/$model.t2" || exit 1
    cat "$work/$model.dlc" "$work/$model.t1" "$work/$model.t2" | awk -v model="$model" '
        { name[NR] = $1; t[NR] = $2; mem[NR] = $3; acc[NR] = $4 }
        END {
            bestTorch = t[2] <= t[3] ? 2 : 3
            printf "%s: %-12s %10s %10s %10s %12s\n", model, "", "s/epoch", "peak MB", "accuracy", "dlc speedup"
            for (i = 1; i <= NR; i++)
                printf "%s: %-12s %10.2f %10.0f %10.4f %12s%s\n", model, name[i], t[i], mem[i] / 1024, acc[i],
                       i == 1 ? "-" : sprintf("%.2f", t[i] / t[1]), i == bestTorch ? "  (PyTorch at its best)" : ""
        }'
done
