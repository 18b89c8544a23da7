#!/usr/bin/env python3
"""REPL session tests: pipes each tests/repl/sessions/NAME.repl into
`dlc repl` and compares what it prints (stdout and stderr together, in order)
with NAME.out, line by line. A line `...` in NAME.out skips any lines up to
the next expected one. `// EXPECT-EXIT: N` in the session gives the exit
status (a piped session with an error exits 1). Runs from the repository
root, so `:load` paths in sessions are relative to it.

Then one session through a pseudo-terminal (the interactive path with
LLVM's line editor): checks the prompt, the continuation prompt, a value, an
error that keeps the session, and `:quit`.

Then memory: 300 inputs that each replace a 4 MB tensor stay under 300 MB.

Last, robustness: every golden program (tests/programs), whole, cut in half,
and with a call of its main, piped in as a session: dlc must never die on a
signal nor print an internal error, whatever it is fed (a program's own
`exit(n)` ends the session with status n).

--update rewrites the .out files from what dlc prints (review the diff),
except those with `...` lines, which are edited by hand.
Standard library only. Exit status 1 when a test failed.
"""

import argparse
import glob
import os
import re
import select
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SESSIONS = os.path.join(ROOT, "tests", "repl", "sessions")
TIMEOUT_S = 120


def matches(expected, actual):
    """True when `actual` lines follow `expected`, where `...` skips lines."""
    e = a = 0
    while e < len(expected):
        if expected[e] == "...":
            e += 1
            if e == len(expected):
                return True
            while a < len(actual) and actual[a] != expected[e]:
                a += 1
            if a == len(actual):
                return False
            continue
        if a >= len(actual) or actual[a] != expected[e]:
            return False
        e += 1
        a += 1
    return a == len(actual)


def run_session(dlc, path, update):
    name = os.path.basename(path)[:-len(".repl")]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"//\s*EXPECT-EXIT:\s*(\d+)", text)
    want_exit = int(m.group(1)) if m else 0
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.run([dlc, "repl"], input=text.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, cwd=ROOT, env=env, timeout=TIMEOUT_S)
    out = proc.stdout.decode("utf-8", "replace")
    actual = out.rstrip("\n").split("\n") if out else []
    out_path = os.path.join(SESSIONS, name + ".out")
    if update:
        elided = os.path.exists(out_path) and "\n...\n" in "\n" + open(out_path).read()
        if elided:
            print("note: %s has '...' lines; not rewritten" % os.path.basename(out_path))
        else:
            with open(out_path, "w", encoding="utf-8") as f:
                f.write(out)
    if proc.returncode < 0:
        return "dlc died on signal %d" % -proc.returncode
    if proc.returncode != want_exit:
        return "exit status %d, expected %d\n%s" % (proc.returncode, want_exit, out)
    with open(out_path, encoding="utf-8") as f:
        expected = f.read().rstrip("\n").split("\n")
    if not matches(expected, actual):
        return "output differs from %s:\n%s" % (os.path.relpath(out_path, ROOT), out)
    return None


def run_pty(dlc):
    """The interactive path: prompts, editing through libedit, an error that
    keeps the session."""
    import pty
    pid, fd = pty.fork()
    if pid == 0:
        home = tempfile.mkdtemp()
        os.environ["HOME"] = home  # keep the user's history file out of it
        os.environ["NO_COLOR"] = "1"
        os.environ["TERM"] = "dumb"
        os.execv(dlc, [dlc, "repl"])
    transcript = b""

    def read_until(pattern, deadline_s=30):
        nonlocal transcript
        end = time.time() + deadline_s
        while time.time() < end:
            if re.search(pattern, transcript.decode("utf-8", "replace")):
                return True
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return False
                if not chunk:
                    return False
                transcript += chunk
        return False

    steps = [
        (None, r"dl> "),
        (b"let x = 20\r", r"dl> .*dl> |let x = 20\r?\n.*dl> "),
        (b"x + 22\r", r"42 : Int"),
        (b"fn twice(v: Int) -> Int {\r", r"\.\.\. "),
        (b"  2 * v }\r", r"dl> [^\n]*$"),
        (b"twice(x) + nothing\r", r"cannot find 'nothing' in scope"),
        (b"twice(x)\r", r"40 : Int"),
        (b":quit\r", None),
    ]
    problem = None
    for send, expect in steps:
        if send:
            os.write(fd, send)
        if expect and not read_until(expect):
            problem = "no %r after sending %r" % (expect, send)
            break
    deadline = time.time() + 30
    status = None
    while time.time() < deadline:
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
            break
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                transcript += os.read(fd, 4096)
        except OSError:
            pass
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        problem = problem or "dlc repl did not leave after :quit"
    elif os.WIFSIGNALED(status):
        problem = problem or "dlc died on signal %d" % os.WTERMSIG(status)
    elif os.WEXITSTATUS(status) != 0:
        problem = problem or "exit status %d" % os.WEXITSTATUS(status)
    if problem:
        return problem + "\ntranscript:\n" + transcript.decode("utf-8", "replace")
    return None


def run_memory(dlc):
    """Values a line replaces are freed: 300 inputs that each replace a 4 MB
    tensor must stay far below the 1.2 GB that keeping them would take."""
    import resource
    session = "var w = zeros([1000, 1000])\n" + "w = w + 1.0\n" * 300 + "sum(w)\n"
    proc = subprocess.run([dlc, "repl"], input=session.encode(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, cwd=ROOT, timeout=TIMEOUT_S)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0 or "300000000 : Float" not in out:
        return "unexpected result (status %d):\n%s" % (proc.returncode, out)
    # The largest child so far: run before any other session.
    if peak_mb > 300:
        return "peak resident memory %.0f MB, bound 300 MB" % peak_mb
    return None


def run_robustness(dlc):
    problems = []
    programs = sorted(glob.glob(os.path.join(ROOT, "tests", "programs", "**", "*.dl"),
                                recursive=True))
    for path in programs:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for what, variant in (("whole", text), ("cut in half", text[:len(text) // 2]),
                              ("with main()", text + "\nmain()\n")):
            try:
                proc = subprocess.run([dlc, "repl"], input=variant.encode(), cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                problems.append("%s (%s): timed out" % (os.path.relpath(path, ROOT), what))
                continue
            out = proc.stdout.decode("utf-8", "replace")
            if proc.returncode < 0:
                problems.append("%s (%s): died on signal %d" %
                                (os.path.relpath(path, ROOT), what, -proc.returncode))
            elif "internal" in out:
                problems.append("%s (%s): %s" % (os.path.relpath(path, ROOT), what,
                                                 [l for l in out.split("\n") if "internal" in l][0]))
    return problems, len(programs) * 3


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dlc", required=True)
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--no-pty", action="store_true")
    parser.add_argument("--no-robustness", action="store_true")
    args = parser.parse_args()
    dlc = os.path.abspath(args.dlc)
    failed = passed = 0
    problem = run_memory(dlc)
    if problem:
        failed += 1
        print("FAIL memory across lines: %s" % problem)
    else:
        passed += 1
        print("PASS memory across lines")
    for path in sorted(glob.glob(os.path.join(SESSIONS, "*.repl"))):
        name = os.path.basename(path)
        problem = run_session(dlc, path, args.update)
        if problem:
            failed += 1
            print("FAIL %s: %s" % (name, problem))
        else:
            passed += 1
            print("PASS %s" % name)
    if not args.no_pty:
        problem = run_pty(dlc)
        if problem:
            failed += 1
            print("FAIL pseudo-terminal session: %s" % problem)
        else:
            passed += 1
            print("PASS pseudo-terminal session")
    if not args.no_robustness:
        problems, count = run_robustness(dlc)
        for p in problems:
            print("FAIL robustness: %s" % p)
        failed += len(problems)
        passed += count - len(problems)
        print("%s robustness: %d sessions from tests/programs, %d problems" %
              ("PASS" if not problems else "FAIL", count, len(problems)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
