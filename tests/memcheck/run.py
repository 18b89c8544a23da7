#!/usr/bin/env python3
"""Runs every runnable golden program (tests/programs/**/*.dl without ARGS,
EXPECT-ERROR, EXPECT-RUNTIME-ERROR or STDIN directives) and 40 generated
gradient-check programs (tests/gradcheck, fixed seeds) under valgrind's
memcheck: no invalid read or write, no double free, no definite leak. The
reference counts the compiler emits (ir/Ownership.cpp) are what this checks.

Programs are built for x86-64-v2 (DLC_TARGET_CPU), since valgrind does not
run AVX-512. Exits 77 (ctest's SKIP) when valgrind is not installed.

Usage: run.py --dlc build/dlc [--root .] [-j N] [PROGRAM.dl ...]
"""
import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
EXCLUDED = ("ARGS:", "EXPECT-ERROR", "EXPECT-RUNTIME-ERROR", "STDIN", "EXPECT-EXIT")


def runnable(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Helper modules imported by other programs have no main.
    return "fn main(" in text and not any(marker in text for marker in EXCLUDED)


def check(dlc, program, workdir):
    exe = os.path.join(workdir, os.path.basename(program) + ".bin")
    env = dict(os.environ, DLC_TARGET_CPU="x86-64-v2")
    build = subprocess.run([dlc, "build", "-O1", os.path.basename(program), "-o", exe],
                           cwd=os.path.dirname(program), env=env, capture_output=True,
                           text=True, timeout=600)
    if build.returncode != 0:
        return f"FAIL {program}: dlc build exited {build.returncode}\n{build.stderr[-2000:]}"
    run = subprocess.run(["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                          "--errors-for-leak-kinds=definite", exe],
                         cwd=os.path.dirname(program), capture_output=True, text=True,
                         timeout=900)
    os.remove(exe)
    if run.returncode == 99:
        return f"FAIL {program}: valgrind found errors\n{run.stderr[-4000:]}"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("programs", nargs="*")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("SKIP: valgrind is not installed")
        return SKIP
    dlc = os.path.abspath(args.dlc)
    programs = [os.path.abspath(p) for p in args.programs]
    if not programs:
        top = os.path.join(args.root, "tests", "programs")
        for d, _, files in os.walk(top):
            programs += [os.path.join(d, f) for f in sorted(files) if f.endswith(".dl")]
        programs = sorted(p for p in programs if runnable(p))
    failures = []
    with tempfile.TemporaryDirectory() as workdir:
        if not args.programs:
            # Generated gradient programs too (tests/gradcheck): loops,
            # recursion, structs, arrays and tensors through every AD mode.
            gen = os.path.join(args.root, "tests", "gradcheck")
            for script, count in (("gen.py", 30), ("gen_tensor.py", 10)):
                for k in range(count):
                    out = os.path.join(workdir, "%s_%d.dl" % (script[:-3], k))
                    subprocess.run([sys.executable, os.path.join(gen, script), "--program",
                                    str(7000 + k), "-o", out], check=True)
                    programs.append(out)
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            for result in pool.map(lambda p: check(dlc, p, workdir), programs):
                if result:
                    failures.append(result)
                    print(result)
    print(f"{len(programs)} programs under valgrind, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
