#!/usr/bin/env python3
"""Runs tests/memory/training_loop.dl (10,000 hand-written training steps),
tests/memory/stdlib_loop.dl (10,000 steps of nn layers, Adam and shuffled
minibatches captured by a lambda) and tests/memory/array_param_loop.dl
(20,000,000 element writes to a copy of an array parameter) and
tests/memory/array_grad_loop.dl (10,000 gradient steps on [Double]
parameters through a loss that builds arrays) and tests/memory/vjp_loop.dl
(10,000 steps through vjp pullbacks, closures that capture their tapes)
with `dlc run`
and checks that each prints what it should and that its peak resident memory
stays under a bound: every step's tensors must be freed, and array writes
must not copy the array each time, and arrays and closures must be freed.
Leaking one step's tensors would need gigabytes; the compiler and runtime
themselves take about 80 MB."""
import argparse
import os
import resource
import subprocess
import sys

BOUND_MB = 200


def run(dlc, name, expected="loss went down: true", what="10,000 steps"):
    prog = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    proc = subprocess.run([dlc, "run", prog], capture_output=True, text=True, timeout=300)
    # The largest peak of the children so far: this one's, as the earlier
    # program passed under the same bound.
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0 or proc.stdout.strip() != expected:
        print(f"FAIL {name}: exit {proc.returncode}, stdout {proc.stdout!r}, stderr {proc.stderr!r}")
        return False
    if peak_mb > BOUND_MB:
        print(f"FAIL {name}: peak resident memory {peak_mb:.0f} MB > {BOUND_MB} MB")
        return False
    print(f"PASS {name}: {what}, peak resident memory {peak_mb:.0f} MB (bound {BOUND_MB} MB)")
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    args = ap.parse_args()
    ok = run(args.dlc, "training_loop.dl")
    ok = run(args.dlc, "stdlib_loop.dl") and ok
    ok = run(args.dlc, "array_param_loop.dl", "converged: true", "20,000,000 array writes") and ok
    ok = run(args.dlc, "array_grad_loop.dl", what="10,000 gradient steps on arrays") and ok
    ok = run(args.dlc, "vjp_loop.dl", what="10,000 steps through vjp pullbacks") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
