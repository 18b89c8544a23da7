#!/usr/bin/env python3
"""Golden test runner for dlc: runs every tests/programs/**/*.dl and checks the
expectations written in its comments (CHECK, CHECK-SUB, EXPECT-ERROR, ...).
Input: a dlc binary and test files or folders. Output: PASS/FAIL per test and a
final "N passed, N failed" line; exit status 1 when any test failed.
The directive format is described in tests/README.md. Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile

TIMEOUT_S = 60
SCRIPT_DIR = os.path.dirname(os.path.abspath(__file__))
DEFAULT_DIR = os.path.join(SCRIPT_DIR, "programs")

# `// CHECK: text`, `// CHECK:` (empty line), `// CHECK-SUB: text` and
# `// CHECK-NOT: text` (no line of stdout contains text).
CHECK_RE = re.compile(r"//\s*(CHECK|CHECK-SUB):(?: (.*))?$")
CHECK_NOT_RE = re.compile(r"//\s*CHECK-NOT: (.+)$")
# `// EXPECT-ERROR: msg`, `// EXPECT-WARNING@+2: msg`, `// EXPECT-NOTE@-1 col 7: msg`,
# `// EXPECT-RUNTIME-ERROR@+1: msg`.
EXPECT_RE = re.compile(
    r"//\s*EXPECT-(ERROR|WARNING|NOTE|RUNTIME-ERROR)(?:@([+-]\d+))?(?:\s+col\s+(\d+))?:(.*)$")
ARGS_RE = re.compile(r"//\s*ARGS:(.*)$")
RUN_ARGS_RE = re.compile(r"//\s*RUN-ARGS:(.*)$")
EXIT_RE = re.compile(r"//\s*EXPECT-EXIT:\s*(-?\d+)\s*$")
RUNTIME_ERROR_RE = re.compile(r"^runtime error: (.*):(\d+):(\d+): (.*)$")


class TestSpec:
    """Everything a test file says about itself."""

    def __init__(self, path):
        self.path = path
        self.args = ["run"]
        self.args_given = False
        self.run_args = []
        self.checks = []          # list of str (exact lines)
        self.check_subs = []      # list of str (substrings, in order)
        self.check_nots = []      # list of str (substrings no line may contain)
        self.expects = []         # list of (severity, line, col or None, msg, directive line)
        self.runtime_errors = []  # list of (line, col or None, msg, directive line)
        self.exit_code = None
        self.problems = []        # malformed-test messages


def parse_test(path):
    spec = TestSpec(path)
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for index, raw in enumerate(lines):
        lineno = index + 1
        m = CHECK_RE.search(raw)
        if m:
            text = (m.group(2) or "").rstrip()
            (spec.checks if m.group(1) == "CHECK" else spec.check_subs).append(text)
            continue
        m = CHECK_NOT_RE.search(raw)
        if m:
            spec.check_nots.append(m.group(1).rstrip())
            continue
        m = EXPECT_RE.search(raw)
        if m:
            kind, offset, col, msg = m.group(1), m.group(2), m.group(3), m.group(4).strip()
            target = lineno + (int(offset) if offset else 0)
            col = int(col) if col else None
            if kind == "RUNTIME-ERROR":
                spec.runtime_errors.append((target, col, msg, lineno))
            else:
                spec.expects.append((kind.lower(), target, col, msg, lineno))
            continue
        m = ARGS_RE.search(raw)
        if m:
            words = shlex.split(m.group(1))
            if not words:
                spec.problems.append("line %d: empty ARGS" % lineno)
            else:
                spec.args = words
                spec.args_given = True
            continue
        m = RUN_ARGS_RE.search(raw)
        if m:
            spec.run_args = shlex.split(m.group(1))
            continue
        m = EXIT_RE.search(raw)
        if m:
            spec.exit_code = int(m.group(1))
            continue
        if re.search(r"//\s*(CHECK|EXPECT)[A-Z-]*[@:]", raw):
            spec.problems.append("line %d: malformed directive: %s" % (lineno, raw.strip()))
    if spec.checks and spec.check_subs:
        spec.problems.append("uses both CHECK and CHECK-SUB")
    name = os.path.basename(path)
    if name.startswith("fail_"):
        if not any(e[0] == "error" for e in spec.expects):
            spec.problems.append("a fail_ test needs at least one EXPECT-ERROR")
        if spec.exit_code not in (None, 1):
            spec.problems.append("a fail_ test must exit with status 1")
    if spec.exit_code is None:
        has_error = any(e[0] == "error" for e in spec.expects) or spec.runtime_errors
        spec.exit_code = 1 if has_error else 0
    return spec


def is_helper(path):
    """Files imported by other tests: under an `inputs/` folder or named lib_*.dl."""
    parts = os.path.normpath(path).split(os.sep)
    return "inputs" in parts[:-1] or parts[-1].startswith("lib_")


def collect(paths):
    """The test files named by `paths` (files, or folders searched recursively)."""
    tests = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(root, name)
                    if name.endswith(".dl") and not is_helper(os.path.relpath(full, p)):
                        tests.append(full)
        elif os.path.isfile(p):
            tests.append(p)
        else:
            sys.stderr.write("run_golden.py: no such file or directory: %s\n" % p)
            sys.exit(2)
    unique = []
    for t in (os.path.abspath(t) for t in tests):
        if t not in unique:
            unique.append(t)
    return unique


def build_command(dlc, spec, workdir):
    """`dlc <subcommand> --diagnostics json <flags...> FILE [-- run args]`.

    `%s` in ARGS stands for the test file and `%t` for a scratch folder; when ARGS
    contains `%s` the words are used verbatim (no implicit FILE or --diagnostics json),
    which is what command-line tests need."""
    name = os.path.basename(spec.path)
    words = [w.replace("%t", workdir) for w in spec.args]
    if any("%s" in w for w in words):
        cmd = [dlc] + [w.replace("%s", name) for w in words]
    else:
        cmd = [dlc, words[0], "--diagnostics", "json"] + words[1:] + [name]
    if spec.run_args:
        cmd += ["--"] + spec.run_args
    return cmd


def run_process(cmd, cwd, timeout):
    """Runs cmd in its own process group; returns (status, stdout, stderr, timed_out)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, err = proc.communicate()
        return proc.returncode, out, err, True


def describe_status(status):
    if status < 0:
        try:
            return "killed by signal %s" % signal.Signals(-status).name
        except ValueError:
            return "killed by signal %d" % -status
    return "exit status %d" % status


def split_lines(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l.rstrip() for l in lines]


def parse_stderr(text):
    """Splits stderr into JSON diagnostics and other lines."""
    diags, other = [], []
    for line in split_lines(text):
        if line.startswith("{"):
            try:
                d = json.loads(line)
                if isinstance(d, dict) and "severity" in d:
                    diags.append(d)
                    continue
            except ValueError:
                pass
        other.append(line)
    return diags, other


def max_matching(expects, diags, fits):
    """Pairs each expectation with a distinct diagnostic (bipartite matching).
    Returns (matched expectation indices -> diag index)."""
    owner = {}  # diag index -> expectation index

    def augment(e, seen):
        for d in range(len(diags)):
            if d in seen or not fits(expects[e], diags[d]):
                continue
            seen.add(d)
            if d not in owner or augment(owner[d], seen):
                owner[d] = e
                return True
        return False

    for e in range(len(expects)):
        augment(e, set())
    return {e: d for d, e in owner.items()}


def fmt_diag(d):
    return "%s:%s:%s: %s: %s [%s]" % (os.path.basename(str(d.get("file", ""))), d.get("line"),
                                      d.get("col"), d.get("severity"), d.get("message"),
                                      d.get("id", ""))


def fmt_expect(e):
    sev, line, col, msg, directive = e
    where = "line %d" % line + (" col %d" % col if col else "")
    return "%s at %s containing %r (directive on line %d)" % (sev, where, msg, directive)


def same_file(diag_file, spec, cwd):
    if not diag_file:
        return False
    full = os.path.realpath(os.path.join(cwd, str(diag_file)))
    return full == os.path.realpath(spec.path)


def check_diagnostics(spec, diags, cwd):
    failures = []

    def fits(e, d):
        sev, line, col, msg, _ = e
        return (d.get("severity") == sev and d.get("line") == line and
                (col is None or d.get("col") == col) and msg in str(d.get("message", "")) and
                same_file(d.get("file"), spec, cwd))

    top = [e for e in spec.expects if e[0] != "note"]
    main = [d for d in diags if d.get("severity") in ("error", "warning")]
    matched = max_matching(top, main, fits)
    for i, e in enumerate(top):
        if i not in matched:
            failures.append("expected %s, not found" % fmt_expect(e))
    used = set(matched.values())
    for i, d in enumerate(main):
        if i not in used:
            failures.append("unexpected diagnostic: " + fmt_diag(d))

    notes_expected = [e for e in spec.expects if e[0] == "note"]
    # A note without a location of its own stands at its diagnostic's location.
    notes = [d for d in diags if d.get("severity") == "note"]
    for d in diags:
        for n in d.get("notes", []) or []:
            if isinstance(n, dict) and not n.get("line"):
                n = dict(n, file=d.get("file"), line=d.get("line"), col=d.get("col"))
            notes.append(n)
    matched = max_matching(notes_expected, notes, fits)
    for i, e in enumerate(notes_expected):
        if i not in matched:
            failures.append("expected %s, not found" % fmt_expect(e))
    if failures:
        failures.append("all diagnostics:" + "".join(
            "\n      " + fmt_diag(d) + "".join("\n        " + fmt_diag(n)
                                             for n in d.get("notes", []) or [])
            for d in diags) if diags else "no diagnostics were emitted")
    return failures


def check_runtime_errors(spec, other_lines):
    failures = []
    found = []
    for line in other_lines:
        m = RUNTIME_ERROR_RE.match(line)
        if m:
            found.append((m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)))
    base = os.path.basename(spec.path)
    for (line, col, msg, directive) in spec.runtime_errors:
        ok = any(os.path.basename(f) == base and l == line and (col is None or c == col) and
                 msg in text for (f, l, c, text) in found)
        if not ok:
            failures.append("expected 'runtime error: %s:%d%s: ...%s...' on stderr "
                            "(directive on line %d); runtime errors seen: %s" % (
                                base, line, (":%d" % col) if col else "", msg, directive,
                                "; ".join("%s:%d:%d: %s" % f for f in found) or "none"))
    return failures


def check_stdout(spec, out_lines):
    for never in spec.check_nots:
        for line in out_lines:
            if never in line:
                return ["CHECK-NOT %r found in stdout: %s" % (never, line)]
    if spec.check_subs:
        pos = 0
        for want in spec.check_subs:
            while pos < len(out_lines) and want not in out_lines[pos]:
                pos += 1
            if pos == len(out_lines):
                return ["CHECK-SUB %r not found (in order) in stdout:\n%s" % (
                    want, indent(out_lines))]
            pos += 1
        return []
    if out_lines == spec.checks:
        return []
    return ["stdout differs from the CHECK lines:\n" + diff_lines(spec.checks, out_lines)]


def indent(lines, limit=60):
    shown = ["      | " + l for l in lines[:limit]]
    if len(lines) > limit:
        shown.append("      ... (%d more lines)" % (len(lines) - limit))
    return "\n".join(shown) if shown else "      (empty)"


def diff_lines(expected, actual):
    """One row per line: matching lines once, mismatches as expected/actual pairs."""
    rows = []
    for i in range(max(len(expected), len(actual))):
        e = expected[i] if i < len(expected) else None
        a = actual[i] if i < len(actual) else None
        if e == a:
            rows.append("         %3d | %s" % (i + 1, e))
        else:
            rows.append("      !! %3d | expected: %s\n             | actual:   %s" % (
                i + 1, "<no line>" if e is None else repr(e), "<no line>" if a is None else repr(a)))
    if len(rows) > 120:
        rows = rows[:120] + ["      ... (%d more lines)" % (len(rows) - 120)]
    return "\n".join(rows)


def wants_update(spec):
    return bool(spec.check_subs) or any(w.startswith("--emit") for w in spec.args)


def rewrite_checks(path, out_lines):
    """Replaces the CHECK/CHECK-SUB lines of `path` with `// CHECK:` lines of out_lines."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    kept, insert_at = [], None
    for raw in lines:
        m = CHECK_RE.search(raw)
        if not m:
            kept.append(raw)
            continue
        code = raw[:m.start()].rstrip()
        if code:  # a directive after code on the same line: keep the code
            kept.append(code)
        elif insert_at is None:
            insert_at = len(kept)
    new = [("// CHECK: " + l) if l else "// CHECK:" for l in out_lines]
    if insert_at is None:
        while kept and kept[-1] == "":
            kept.pop()
        insert_at = len(kept)
        if kept:
            new = [""] + new
        new.append("")
    kept[insert_at:insert_at] = new
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(kept))


def run_test(dlc, path, update):
    """Returns (passed, message)."""
    rel = os.path.relpath(path)
    try:
        spec = parse_test(path)
    except (OSError, UnicodeDecodeError) as e:
        return False, "FAIL %s: cannot read: %s" % (rel, e)
    if spec.problems:
        return False, "FAIL %s: malformed test: %s" % (rel, "; ".join(spec.problems))
    cwd = os.path.dirname(path)
    with tempfile.TemporaryDirectory(prefix="dlc-golden-") as workdir:
        cmd = build_command(dlc, spec, workdir)
        try:
            status, out, err, timed_out = run_process(cmd, cwd, TIMEOUT_S)
        except OSError as e:
            return False, "FAIL %s: cannot run %s: %s" % (rel, dlc, e)
    out = out.decode("utf-8", "replace")
    err = err.decode("utf-8", "replace")
    shown_cmd = " ".join(shlex.quote(c) for c in cmd)
    diags, other = parse_stderr(err)
    tail = "\n    command: %s (in %s)\n    stderr (besides JSON diagnostics):\n%s" % (
        shown_cmd, os.path.relpath(cwd), indent(other, 40))
    if timed_out:
        return False, "FAIL %s: timed out after %d s%s" % (rel, TIMEOUT_S, tail)
    if status < 0:
        return False, "FAIL %s: %s%s" % (rel, describe_status(status), tail)

    out_lines = split_lines(out)
    updated = ""
    if update and wants_update(spec):
        rewrite_checks(path, out_lines)
        spec = parse_test(path)
        updated = " (CHECK lines updated)"

    failures = []
    if status != spec.exit_code:
        failures.append("expected exit status %d, got %s" % (spec.exit_code,
                                                              describe_status(status)))
    failures += check_diagnostics(spec, diags, cwd)
    failures += check_runtime_errors(spec, other)
    failures += check_stdout(spec, out_lines)
    if failures:
        return False, "FAIL %s:%s\n  - %s%s" % (rel, updated, "\n  - ".join(failures), tail)
    return True, "PASS %s%s" % (rel, updated)


def main():
    parser = argparse.ArgumentParser(description="Run dlc golden tests.")
    parser.add_argument("--dlc", required=True, help="path to the dlc binary")
    parser.add_argument("--update", action="store_true",
                        help="rewrite CHECK lines of dump tests (CHECK-SUB or --emit) to the "
                             "actual output")
    parser.add_argument("-j", type=int, default=os.cpu_count() or 1, help="parallel jobs")
    parser.add_argument("paths", nargs="*", help="test files or folders (default: programs/)")
    args = parser.parse_args()

    dlc = os.path.abspath(args.dlc)
    if not (os.path.isfile(dlc) and os.access(dlc, os.X_OK)):
        sys.stderr.write("run_golden.py: dlc is not an executable file: %s\n" % dlc)
        return 2
    tests = collect(args.paths or [DEFAULT_DIR])
    if not tests:
        sys.stderr.write("run_golden.py: no tests found\n")
        return 2

    passed = failed = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        for ok, message in pool.map(lambda p: run_test(dlc, p, args.update), tests):
            print(message, flush=True)
            if ok:
                passed += 1
            else:
                failed += 1
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
