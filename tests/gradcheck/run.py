#!/usr/bin/env python3
"""Run the generated gradient-check programs and compare their derivatives.

    run.py --dlc build/dlc [--count 300] [--tensor-count 0] [--seed 1] [-j J] [--keep DIR]
           [--no-ad] [--stats]

Generates --count programs with gen.py (program i gets seed SEED * 100000 + i)
and --tensor-count programs of tensor code with gen_tensor.py (seeds after
those; one parameter per element of the [3, 4] input),
runs `dlc run` on each in parallel and checks what they print (see gen.py for
the output protocol):

  * reverse (grad) vs forward (jvp), valueAndGrad vs grad, and the primal values
    returned by jvp / valueAndGrad vs f itself: 1e-9 relative, 1e-9 absolute floor;
  * reverse vs central finite differences: 1e-5 relative, 1e-6 absolute floor,
    against either step (h = 1e-6 or 1e-5; each step has its own dominant error,
    rounding or truncation).  When the two estimates disagree with each other by
    more than 1e-4 relative the point is next to a kink or a jump of f (a branch,
    a loop's trip count, relu/abs/min/max): the check is skipped.

The run fails if a program does not compile or run, if any check fails, or if
more than 10% of the finite-difference checks are skipped.  With --no-ad the
programs have no AD operators and only the primal values and the finite
differences are checked (finite, and the skip rate).
"""

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402
import gen_tensor  # noqa: E402

AD_REL, AD_ABS = 1e-9, 1e-9        # two exact methods must agree this closely
FD_REL, FD_ABS = 1e-5, 1e-6        # derivative vs finite difference
KINK_REL, KINK_ABS = 1e-4, 1e-6    # the two finite differences vs each other
MAX_SKIP_FRACTION = 0.10
TIMEOUT_S = 120


def close(a, b, rel, floor):
    return abs(a - b) <= max(floor, rel * max(abs(a), abs(b)))


def num(tok):
    """A number as DL prints it; None for the '-' placeholder."""
    if tok == "-":
        return None
    return float(tok)


class Result:
    def __init__(self, path):
        self.path = path
        self.checks = 0
        self.skipped = 0
        self.fd_checks = 0
        self.zero = 0          # finite-difference checks where f is flat
        self.failures = []     # (offending line, reason)
        self.error = None      # compile / run error text

    @property
    def ok(self):
        return self.error is None and not self.failures

    def fail(self, line, reason):
        self.failures.append((line, reason))


def check_output(res, stdout):
    """Parse one program's output into res (checks, skips, failures)."""
    lines = stdout.splitlines()
    if not lines or not lines[0].startswith("gradcheck "):
        res.error = "no 'gradcheck' header in the output"
        return
    _, npoints, nparams = lines[0].split()
    npoints, nparams = int(npoints), int(nparams)
    if lines[-1] != "end":
        res.error = "output ends before 'end' (last line: %r)" % lines[-1]
        return
    values = {}        # point -> f
    reverse = {}       # (point, param) -> grad component
    seen_g = set()
    for line in lines[1:-1]:
        tok = line.split()
        try:
            if tok[0] == "v":
                p = int(tok[1])
                vals = [num(t) for t in tok[2:]]
                f = vals[0]
                values[p] = f
                res.checks += 1
                if not math.isfinite(f):
                    res.fail(line, "f is not finite")
                    continue
                for other in vals[1:]:
                    res.checks += 1
                    if not (math.isfinite(other) and close(f, other, AD_REL, AD_ABS)):
                        res.fail(line, "value returned by an AD operator differs from f")
            elif tok[0] == "g":
                p, i = int(tok[1]), int(tok[2])
                rev, fwd, fd1, fd2 = (num(t) for t in tok[3:7])
                seen_g.add((p, i))
                if rev is not None:
                    reverse[(p, i)] = rev
                    res.checks += 1
                    if not (math.isfinite(rev) and math.isfinite(fwd)):
                        res.fail(line, "derivative is not finite")
                        continue
                    if not close(rev, fwd, AD_REL, AD_ABS):
                        res.fail(line, "reverse and forward mode differ")
                # Finite differences.
                res.checks += 1
                res.fd_checks += 1
                if not (math.isfinite(fd1) and math.isfinite(fd2)):
                    res.fail(line, "finite difference is not finite")
                    continue
                if not close(fd1, fd2, KINK_REL, KINK_ABS):
                    res.skipped += 1          # next to a kink or a jump
                    continue
                if fd1 == 0.0 and fd2 == 0.0:
                    res.zero += 1
                if rev is not None and not (close(rev, fd1, FD_REL, FD_ABS)
                                            or close(rev, fd2, FD_REL, FD_ABS)):
                    res.fail(line, "reverse mode disagrees with finite differences")
            elif tok[0] == "w":
                p, i = int(tok[1]), int(tok[2])
                vg = num(tok[3])
                res.checks += 1
                if (p, i) not in reverse:
                    res.fail(line, "'w' line without a preceding 'g' line")
                elif not (math.isfinite(vg) and close(vg, reverse[(p, i)], AD_REL, AD_ABS)):
                    res.fail(line, "valueAndGrad differs from grad")
            else:
                res.fail(line, "unexpected output line")
        except (ValueError, IndexError):
            res.fail(line, "malformed output line")
    if len(values) != npoints or len(seen_g) != npoints * nparams:
        res.fail(lines[0], "expected %d points x %d parameters, got %d values and %d derivatives"
                 % (npoints, nparams, len(values), len(seen_g)))


def run_program(dlc, path):
    res = Result(path)
    try:
        proc = subprocess.run([dlc, "run", path], capture_output=True, text=True,
                              timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        res.error = "timed out after %d s" % TIMEOUT_S
        return res, "", ""
    except OSError as e:          # e.g. dlc is being rebuilt
        res.error = "cannot run %s: %s" % (dlc, e)
        return res, "", ""
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        res.error = "dlc exited with %d: %s" % (proc.returncode, "\n    ".join(err[:8]) or "(no stderr)")
        return res, proc.stdout, proc.stderr
    check_output(res, proc.stdout)
    return res, proc.stdout, proc.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(description="Gradient-check suite for dlc (see README.md).")
    ap.add_argument("--dlc", required=True, help="path to the dlc binary")
    ap.add_argument("--count", type=int, default=300, help="number of programs (default 300)")
    ap.add_argument("--tensor-count", type=int, default=0,
                    help="number of tensor programs (gen_tensor.py; default 0)")
    ap.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="programs run in parallel (default: all cores)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write the programs (and outputs of failing ones) to DIR and keep them")
    ap.add_argument("--no-ad", action="store_true",
                    help="programs without AD operators: check the primal code and finite differences")
    ap.add_argument("--plain-structs", action="store_true",
                    help="declare structs without ': Differentiable'")
    ap.add_argument("--stats", action="store_true", help="print the feature mix of the programs")
    ap.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    args = ap.parse_args(argv)

    dlc = os.path.abspath(args.dlc)
    if not os.access(dlc, os.X_OK):
        print("run.py: %s is not an executable" % dlc, file=sys.stderr)
        return 2
    if args.keep:
        outdir = os.path.abspath(args.keep)
        os.makedirs(outdir, exist_ok=True)
    else:
        outdir = tempfile.mkdtemp(prefix="gradcheck-")

    ad = not args.no_ad
    paths, per_stats, total_stats = [], [], Counter()
    for i in range(args.count):
        ps = gen.program_seed(args.seed, i)
        src, st = gen.generate(ps, ad=ad, plain_structs=args.plain_structs)
        per_stats.append(st)
        total_stats.update(st)
        path = os.path.join(outdir, "gc_%d.dl" % ps)
        with open(path, "w") as fh:
            fh.write(src)
        paths.append(path)
    if ad:
        for i in range(args.count, args.count + args.tensor_count):
            ps = gen.program_seed(args.seed, i)
            path = os.path.join(outdir, "gt_%d.dl" % ps)
            with open(path, "w") as fh:
                fh.write(gen_tensor.generate(ps))
            paths.append(path)
    if args.stats:
        print(gen.format_stats(per_stats, total_stats))

    lock = threading.Lock()
    results = []

    def one(path):
        res, out, err = run_program(dlc, path)
        with lock:
            results.append(res)
            if res.ok:
                if not args.quiet:
                    print("PASS %s" % os.path.basename(path), flush=True)
                return
            # Keep what is needed to look into the failure next to the program.
            with open(path[:-3] + ".out", "w") as fh:
                fh.write(out)
                if err:
                    fh.write("--- stderr ---\n" + err)
            print("FAIL %s" % path, flush=True)
            if res.error:
                print("    " + res.error, flush=True)
            for line, reason in res.failures[:5]:
                print("    %s: %s" % (reason, line), flush=True)
            if len(res.failures) > 5:
                print("    ... %d more" % (len(res.failures) - 5), flush=True)

    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        list(pool.map(one, paths))

    checks = sum(r.checks for r in results)
    skipped = sum(r.skipped for r in results)
    fd_checks = sum(r.fd_checks for r in results)
    failed = sum(len(r.failures) for r in results)
    errors = sum(1 for r in results if r.error)
    bad = [r for r in results if not r.ok]
    print("%d programs, %d checks, %d skipped, %d failed" % (len(results), checks, skipped, failed))
    zero = sum(r.zero for r in results)
    print("(%d of %d finite-difference checks saw a zero derivative)" % (zero, fd_checks))
    if errors:
        print("%d programs did not compile or run" % errors)
    skip_fraction = skipped / fd_checks if fd_checks else 0.0
    too_many_skips = skip_fraction > MAX_SKIP_FRACTION
    if too_many_skips:
        print("too many skipped finite-difference checks: %.1f%% (limit %.0f%%)"
              % (100 * skip_fraction, 100 * MAX_SKIP_FRACTION))

    # Keep only what is interesting: everything with --keep, else the failures.
    if not args.keep:
        if bad:
            for path in paths:
                if path not in {r.path for r in bad}:
                    os.remove(path)
            print("failing programs kept in %s" % outdir)
        else:
            shutil.rmtree(outdir)
    ok = not bad and not too_many_skips
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
