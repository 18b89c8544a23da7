#!/usr/bin/env bash
# REPL latency: the median time per input over a scripted 50-input session
# (bench/repl/session.repl), as `dlc repl --time-lines` measures it in-process
# (parse, check, differentiate, compile, JIT and run the input). The first
# input also pays for starting LLVM's JIT; it is reported apart.
# Usage: bash bench/repl/run.sh [path/to/dlc]   (RUNS=N repeats, default 3)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
dlc=${1:-build/dlc}
runs=${RUNS:-3}
for ((r = 1; r <= runs; ++r)); do
  "$dlc" repl --time-lines < bench/repl/session.repl 2>&1 >/dev/null | grep '^\[repl\] line' || true
done | python3 -c '
import re, statistics, sys
per_run = {}
times = []
first = []
for line in sys.stdin:
    m = re.match(r"\[repl\] line (\d+): ([0-9.]+) ms", line)
    if not m:
        continue
    (first if m.group(1) == "1" else times).append(float(m.group(2)))
print("inputs timed: %d (after the first of each run)" % len(times))
print("median per input: %.2f ms" % statistics.median(times))
print("90th percentile:  %.2f ms" % sorted(times)[int(0.9 * len(times))])
print("slowest:          %.2f ms" % max(times))
print("first input (starts the JIT): %.2f ms median" % statistics.median(first))
'
