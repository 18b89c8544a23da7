#!/usr/bin/env python3
"""Robustness test for dlc: every golden program cut at every token boundary must be
rejected cleanly. For each prefix, `dlc check PREFIX` must exit 0, or 1 with an
`error:` on stderr, within 10 s; a crash, a hang or any other status is a failure.
Files of more than MAX_PREFIXES tokens (the generated value tables) are cut at
every boundary of their first and last EDGE_PREFIXES tokens and at evenly
spaced ones in between, MAX_PREFIXES in all.
Input: a dlc binary and test files or folders. Output: PASS/FAIL per program file and
a final "N passed, N failed" line; exit status 1 when any failed. Standard library only.
"""

import argparse
import concurrent.futures
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading

# The golden runner owns the rules for which files are tests.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_golden  # noqa: E402

TIMEOUT_S = 10
MAX_FAILURES_PER_FILE = 5
MAX_PREFIXES = 1500
EDGE_PREFIXES = 300
SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(SCRIPT_DIR, "programs")

OPERATORS = ["..<", "...", "->", "==", "!=", "<=", ">=", "&&", "||", "+=", "-=", "*=", "/="]
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
NUMBER_RE = re.compile(
    r"0[xX][0-9A-Fa-f_]+"
    r"|[0-9][0-9_]*(?:\.[0-9][0-9_]*)?(?:[eE][+-]?[0-9][0-9_]*)?")


def tokenize(text):
    """Returns the (start, end) offsets of DL tokens in `text`. Whitespace and comments
    are skipped; an unterminated comment or string ends the token list (or the token)."""
    tokens = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("/*", i):
            depth, i = 1, i + 2
            while i < n and depth:
                if text.startswith("/*", i):
                    depth, i = depth + 1, i + 2
                elif text.startswith("*/", i):
                    depth, i = depth - 1, i + 2
                else:
                    i += 1
            continue
        start = i
        if c == '"':
            i += 1
            while i < n and text[i] != '"' and text[i] != "\n":
                i += 2 if text[i] == "\\" else 1
            i = min(i + 1, n)
        elif c == "@":
            m = IDENT_RE.match(text, i + 1)
            i = m.end() if m else i + 1
        elif IDENT_RE.match(text, i):
            i = IDENT_RE.match(text, i).end()
        elif c.isdigit():
            # `0..<n` lexes as `0` `..<`: a fraction needs a digit after the dot.
            i = NUMBER_RE.match(text, i).end()
        else:
            op = next((o for o in OPERATORS if text.startswith(o, i)), None)
            i += len(op) if op else 1
        tokens.append((start, i))
    return tokens


def collect(paths):
    """The golden programs named by `paths`, less those marked SKIP-TRUNCATION."""
    tests = run_golden.collect(paths)
    result = []
    for t in tests:
        with open(t, encoding="utf-8") as f:
            if not re.search(r"//\s*SKIP-TRUNCATION\b", f.read()):
                result.append(os.path.abspath(t))
    return result


def describe_status(status):
    if status < 0:
        try:
            return "killed by signal %s" % signal.Signals(-status).name
        except ValueError:
            return "killed by signal %d" % -status
    return "exit status %d" % status


class FileState:
    def __init__(self, path, text, tokens):
        self.path = path
        self.text = text
        self.tokens = tokens
        self.failures = []  # (k, message)
        self.lock = threading.Lock()


def check_prefix(dlc, state, k, scratch):
    """Runs `dlc check` on the prefix that ends after token k (k = -1: empty file)."""
    with state.lock:
        if len(state.failures) >= MAX_FAILURES_PER_FILE:
            return
    end = state.tokens[k][1] if k >= 0 else 0
    folder = tempfile.mkdtemp(dir=scratch)
    tmp = os.path.join(folder, os.path.basename(state.path))
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(state.text[:end])
    proc = subprocess.Popen([dlc, "check", tmp], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=TIMEOUT_S)
        problem = None
        if proc.returncode < 0 or proc.returncode not in (0, 1):
            problem = describe_status(proc.returncode)
        elif proc.returncode == 1 and b"error:" not in err:
            problem = "exit status 1 without any 'error:' on stderr"
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        _, err = proc.communicate()
        problem = "timed out after %d s" % TIMEOUT_S
    finally:
        os.remove(tmp)
        os.rmdir(folder)
    if problem is None:
        return
    last = [state.text[s:e] for (s, e) in state.tokens[max(0, k - 7):k + 1]] if k >= 0 else []
    stderr_tail = err.decode("utf-8", "replace").strip().splitlines()[-8:]
    line = state.text[:end].count("\n") + 1
    message = "k=%d (prefix of %d chars, ends on line %d) last tokens %s: %s%s" % (
        k, end, line, " ".join(last) if last else "<empty file>", problem,
        "".join("\n        | " + l for l in stderr_tail))
    with state.lock:
        state.failures.append((k, message))


def cut_points(n):
    """The prefixes to check of a file of n tokens: every one (-1 is the empty
    file), or for a long file the edges and evenly spaced ones between."""
    if n + 1 <= MAX_PREFIXES:
        return list(range(-1, n))
    middle = MAX_PREFIXES - 2 * EDGE_PREFIXES
    step = (n - 2 * EDGE_PREFIXES) / middle
    points = set(range(-1, EDGE_PREFIXES)) | set(range(n - EDGE_PREFIXES, n))
    points |= {EDGE_PREFIXES + int(i * step) for i in range(middle)}
    return sorted(points)


def main():
    parser = argparse.ArgumentParser(description="Run dlc check on every token prefix of "
                                                 "the golden programs.")
    parser.add_argument("--dlc", required=True, help="path to the dlc binary")
    parser.add_argument("-j", type=int, default=os.cpu_count() or 1, help="parallel jobs")
    parser.add_argument("paths", nargs="*", help="test files or folders (default: programs/)")
    args = parser.parse_args()

    dlc = os.path.abspath(args.dlc)
    if not (os.path.isfile(dlc) and os.access(dlc, os.X_OK)):
        sys.stderr.write("truncation.py: dlc is not an executable file: %s\n" % dlc)
        return 2
    files = collect(args.paths or [DEFAULT_DIR])
    if not files:
        sys.stderr.write("truncation.py: no programs found\n")
        return 2

    states = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        states.append(FileState(path, text, tokenize(text)))

    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix="dlc-truncation-") as scratch, \
            concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        # Submit file by file so results can be reported as each file completes.
        pending = [[pool.submit(check_prefix, dlc, s, k, scratch)
                    for k in cut_points(len(s.tokens))] for s in states]
        for state, futures in zip(states, pending):
            for fut in futures:
                fut.result()
            rel = os.path.relpath(state.path)
            if state.failures:
                failed += 1
                state.failures.sort()
                print("FAIL %s: %d of %d prefixes failed%s\n  - %s" % (
                    rel, len(state.failures), len(state.tokens) + 1,
                    " (stopped after %d)" % MAX_FAILURES_PER_FILE
                    if len(state.failures) >= MAX_FAILURES_PER_FILE else "",
                    "\n  - ".join(m for _, m in state.failures)), flush=True)
            else:
                passed += 1
                print("PASS %s (%d prefixes)" % (rel, len(cut_points(len(state.tokens)))),
                      flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
