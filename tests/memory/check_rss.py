#!/usr/bin/env python3
"""Runs tests/memory/training_loop.dl (10,000 training steps) with `dlc run`
and checks that it prints what it should and that the process's peak
resident memory stays under a bound: every step's tensors must be freed.
Leaking one step's tensors would need gigabytes; the compiler and runtime
themselves take about 80 MB."""
import argparse
import os
import resource
import subprocess
import sys

BOUND_MB = 200


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    args = ap.parse_args()
    prog = os.path.join(os.path.dirname(os.path.abspath(__file__)), "training_loop.dl")
    proc = subprocess.run([args.dlc, "run", prog], capture_output=True, text=True, timeout=300)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode != 0 or proc.stdout.strip() != "loss went down: true":
        print(f"FAIL: exit {proc.returncode}, stdout {proc.stdout!r}, stderr {proc.stderr!r}")
        return 1
    if peak_mb > BOUND_MB:
        print(f"FAIL: peak resident memory {peak_mb:.0f} MB > {BOUND_MB} MB")
        return 1
    print(f"PASS: 10,000 steps, peak resident memory {peak_mb:.0f} MB (bound {BOUND_MB} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
