#!/usr/bin/env bash
# bench/ad/run.sh — the AD benchmark: hand-written C, PyTorch autograd and dlc
# on two workloads (a 1000-step scalar loop; the ADBench GMM objective), each
# timing the primal and the gradient. See bench/README.md.
#
#   bench/ad/run.sh [loop] [gmm]        (from anywhere; default: both)
#
# Environment:
#   DLC=path          the compiler (default: build/dlc in the repository)
#   BENCH_CPU=N       pin every run to CPU N (default: the last CPU; empty: no
#                     pinning). On the project's 2-vCPU VMs the two vCPUs are
#                     not equally fast (vCPU 0 measured ~1.7x slower), so the
#                     implementations are only comparable on the same one.
#   BENCH_MEM_MB=N    address-space limit for each dlc-built program, in MiB
#                     (default 8192): a limit turns a runaway (a leak, should
#                     one come back) into a failure instead of an OOM.
#   BENCH_TIMEOUT=S   wall-clock limit per program run (default 600).
#   PYTHON=path       the interpreter with torch (default /usr/bin/python3).
#
# Notes on this environment:
# - PyTorch is Debian's python3-torch (`apt-get install python3-torch`), which
#   lives in /usr/bin/python3; the `python3` first on PATH (pyenv) has no torch.
# - The environment sets OPENBLAS_CORETYPE=Haswell, which selects OpenBLAS's
#   kernels (PyTorch's CPU matmuls go through OpenBLAS here). It is left as is.
# - PyTorch's GMM is run twice: with glibc's default malloc, and with freed
#   memory kept in the process (torch_ad.py --tuned-malloc); without that the
#   GMM times are dominated by page faults on this VM. The dlc comparison uses
#   the fastest PyTorch configuration.
#
# dlc failing (AD still in progress, a build error, a crash, the memory limit)
# prints "dlc: failed" with the reason and the benchmark goes on.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# A DLC given as a relative path is relative to where the script was started.
case "${DLC:-}" in
    "" | /*) ;;
    *) DLC="$PWD/$DLC" ;;
esac
cd "$root"

DLC="${DLC:-build/dlc}"
PYTHON="${PYTHON:-/usr/bin/python3}"
BENCH_CPU="${BENCH_CPU-$(($(nproc) - 1))}"
BENCH_MEM_MB="${BENCH_MEM_MB:-8192}"
BENCH_TIMEOUT="${BENCH_TIMEOUT:-600}"

workloads=("$@")
[ ${#workloads[@]} -eq 0 ] && workloads=(loop gmm)
for w in "${workloads[@]}"; do
    case "$w" in
        loop | gmm) ;;
        *) echo "usage: bench/ad/run.sh [loop] [gmm]  (unknown workload '$w')" >&2; exit 2 ;;
    esac
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.txt"
: >"$results"

# Runs a command pinned to BENCH_CPU (when set), under the time limit.
pinned() {
    if [ -n "$BENCH_CPU" ]; then
        timeout "$BENCH_TIMEOUT" taskset -c "$BENCH_CPU" "$@"
    else
        timeout "$BENCH_TIMEOUT" "$@"
    fi
}

# Appends a command's result lines to the results file, tagged with an
# implementation name, and echoes them. Returns the command's status.
record() {
    local impl="$1"
    shift
    local out="$tmp/out.txt"
    "$@" >"$out" 2>"$tmp/err.txt"
    local status=$?
    sed "s/^/$impl\t/" "$out" >>"$results"
    sed "s/^/  /" "$out"
    return $status
}

echo "AD benchmark: ${workloads[*]}  (CPU ${BENCH_CPU:-any}, $(date -u +%Y-%m-%dT%H:%MZ))"
# Other work on the machine (a compiler build, a test suite) skews every number:
# sample the CPUs' idle share over one second.
cpu_idle() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
read -r idle0 total0 < <(cpu_idle)
sleep 1
read -r idle1 total1 < <(cpu_idle)
idle_pct=$(((idle1 - idle0) * 100 / (total1 - total0 + 1)))
if [ "$idle_pct" -lt 90 ]; then
    echo "warning: the CPUs are only ${idle_pct}% idle; the timings will be noisy"
fi

# --- hand-written C -----------------------------------------------------------
echo "== C (cc -O3 -march=native)"
for w in "${workloads[@]}"; do
    if ! cc -O3 -march=native "$here/$w.c" -o "$tmp/c_$w" -lm; then
        echo "c: build of $w.c failed"
        printf 'c\tFAILED %s build\n' "$w" >>"$results"
        continue
    fi
    # The hand gradients are checked against finite differences first.
    if ! "$tmp/c_$w" --check >"$tmp/check.txt"; then
        cat "$tmp/check.txt"
        echo "c: gradient check of $w.c failed"
    fi
    record c pinned "$tmp/c_$w" || echo "c: $w failed"
done

# --- PyTorch ------------------------------------------------------------------
echo "== PyTorch ($PYTHON)"
if "$PYTHON" -c "import torch" 2>/dev/null; then
    record pytorch pinned "$PYTHON" "$here/torch_ad.py" "${workloads[@]}" ||
        { echo "pytorch: failed"; sed "s/^/  /" "$tmp/err.txt"; }
    if [[ " ${workloads[*]} " == *" gmm "* ]]; then
        record pytorch pinned "$PYTHON" "$here/torch_ad.py" --tuned-malloc gmm ||
            { echo "pytorch: failed"; sed "s/^/  /" "$tmp/err.txt"; }
    fi
else
    echo "pytorch: not available (apt-get install python3-torch; run with /usr/bin/python3)"
fi

# --- dlc ----------------------------------------------------------------------
echo "== dlc ($DLC build -O3)"
for w in "${workloads[@]}"; do
    if ! "$DLC" build -O3 "$here/$w.dl" -o "$tmp/dl_$w" >"$tmp/build.txt" 2>&1; then
        echo "dlc: failed (building $w.dl):"
        head -n 20 "$tmp/build.txt" | sed "s/^/  /"
        printf 'dlc\tFAILED %s build\n' "$w" >>"$results"
        continue
    fi
    if ! record dlc pinned bash -c 'ulimit -v $(($1 * 1024)) && exec "$2"' _ "$BENCH_MEM_MB" \
        "$tmp/dl_$w"; then
        echo "dlc: failed (running $w.dl; status or memory limit of $BENCH_MEM_MB MiB):"
        tail -n 5 "$tmp/err.txt" | sed "s/^/  /"
        printf 'dlc\tFAILED %s run\n' "$w" >>"$results"
    fi
done

echo
"$PYTHON" "$here/report.py" "$results"
