#!/usr/bin/env python3
"""Formats the AD benchmark's results as a table (used by bench/ad/run.sh).

Reads lines `IMPL<TAB>RESULT` from the file given as argument (or stdin), where
RESULT is a line printed by one implementation:

    loop primal_s=2.06e-05 grad_s=2.8e-05 ratio=1.36 value=1.18 g0=... g1=...
    gmm primal_s=... grad_s=... ratio=... value=... ga0=... ... threads=1 malloc=tuned

DL's print puts a space after each `=`; both forms are accepted. A RESULT of
`FAILED <workload> <reason>` records an implementation that produced nothing.
Lines whose RESULT starts with `#` are ignored. Standard library only.
"""

import sys

WORKLOADS = ["loop", "gmm"]
# The printed results that every implementation must agree on.
RESULT_KEYS = {
    "loop": ["value", "g0", "g1"],
    "gmm": ["value", "ga0", "gm0", "gq0", "ga_norm", "gm_norm", "gq_norm"],
}


def parse(line):
    """(impl, workload, fields) for a result line, None for anything else."""
    if "\t" not in line:
        return None
    impl, rest = line.rstrip("\n").split("\t", 1)
    rest = rest.replace("= ", "=").strip()
    words = rest.split()
    if not words or words[0].startswith("#"):
        return None
    if words[0] == "FAILED":
        return impl, words[1] if len(words) > 1 else "?", {"failed": " ".join(words[2:])}
    fields = {}
    for word in words[1:]:
        if "=" in word:
            key, value = word.split("=", 1)
            fields[key] = value
    return impl, words[0], fields


def label(impl, fields):
    if impl != "pytorch":
        return impl
    threads = fields.get("threads", "?")
    parts = [f"{threads} thread" + ("" if threads == "1" else "s")]
    if fields.get("malloc") == "tuned":
        parts.append("tuned malloc")
    return f"pytorch ({', '.join(parts)})"


def fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1.0:
        return f"{seconds * 1e3:.3f} ms"
    return f"{seconds:.3f} s"


def max_rel_diff(fields, reference, keys):
    """Largest relative difference between two implementations' results."""
    worst = 0.0
    for key in keys:
        try:
            a, b = float(fields[key]), float(reference[key])
        except (KeyError, ValueError):
            return None
        scale = max(abs(a), abs(b))
        if scale > 0:
            worst = max(worst, abs(a - b) / scale)
    return worst


def main():
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    rows = {w: [] for w in WORKLOADS}
    for line in source:
        parsed = parse(line)
        if parsed and parsed[1] in rows:
            rows[parsed[1]].append(parsed)

    header = f"{'workload':<9} {'implementation':<34} {'primal':>11} {'gradient':>11} " \
             f"{'grad/primal':>11} {'grad vs C':>10} {'agrees with C':>13}"
    print(header)
    print("-" * len(header))
    summary = []
    for workload in WORKLOADS:
        if not rows[workload]:
            continue
        c = next((f for impl, _, f in rows[workload] if impl == "c" and "failed" not in f), None)
        for impl, _, fields in rows[workload]:
            name = label(impl, fields)
            if "failed" in fields:
                print(f"{workload:<9} {name:<34} {'failed (' + fields['failed'] + ')':>11}")
                continue
            primal, grad = float(fields["primal_s"]), float(fields["grad_s"])
            vs_c = f"{grad / float(c['grad_s']):.2f}x" if c else "-"
            diff = max_rel_diff(fields, c, RESULT_KEYS[workload]) if c else None
            agree = "-" if diff is None else f"{diff:.1e}"
            print(f"{workload:<9} {name:<34} {fmt_time(primal):>11} {fmt_time(grad):>11} "
                  f"{grad / primal:>10.2f}x {vs_c:>10} {agree:>13}")

        # dlc's gradient against the fastest PyTorch configuration.
        torch = [(float(f["grad_s"]), label(i, f)) for i, _, f in rows[workload]
                 if i == "pytorch" and "failed" not in f]
        dlc = [float(f["grad_s"]) for i, _, f in rows[workload] if i == "dlc" and "failed" not in f]
        if torch and dlc:
            best, name = min(torch)
            speedup = best / dlc[0]
            relation = f"{speedup:.2f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower"
            summary.append(f"{workload}: dlc gradient is {relation} than {name} "
                           f"({fmt_time(dlc[0])} vs {fmt_time(best)})")
        elif torch:
            summary.append(f"{workload}: no dlc result to compare with PyTorch")
    print()
    for line in summary:
        print(line)


if __name__ == "__main__":
    main()
