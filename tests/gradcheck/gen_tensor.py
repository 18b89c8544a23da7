#!/usr/bin/env python3
"""Generate random DL programs that check derivatives of tensor code.

Each program defines `fn f(x: Tensor<Double>) -> Double` on a [3, 4] input:
a few `let`s of random tensor expressions (elementwise math, broadcasting
arithmetic against constant rows, columns and scalars, pow, min/max, where,
reductions over an axis broadcast back, softmax, matmul with and without a
transposed operand, transpose, reshape/flatten/unsqueeze round trips, concat
and stack of an array value), a loop
or a branch on an active value, and a scalar reduction as the result. So the
derivative rules of stdlib/derivatives.dl, their inlining and fusion, and the
compiler's own rules meet in random combinations. A third of the programs
make f the directional derivative `sum(grad(f0)(x) * v)` of such a function,
so that second derivatives are checked the same way (reverse over reverse,
forward over reverse, differences of the gradient).

The program prints gen.py's output protocol, one parameter per element of x:
`gradcheck 1 12`, a `v` line (f, the value jvp returns, the value
valueAndGrad returns), per element a `g` line (grad, jvp along that element's
unit vector, central differences with h = 1e-6 and 1e-5) and a `w` line
(valueAndGrad's gradient), then `end`; run.py checks them as it checks
gen.py's programs.

Values stay bounded: every expression carries a bound on its magnitude and
is squashed with tanh past LIMIT; divisors are 1 + e*e, logs and square roots
see 1 + e*e, exp sees tanh(e).

Usage:
    gen_tensor.py --program P [-o FILE]
"""

import argparse
import random
import sys

LIMIT = 6.0
ROWS, COLS = 3, 4


def lit(v):
    return "%.3f" % v


def tensor_lit(rng, shape, lo=0.3, hi=1.5, offset=False):
    """A nested array literal of `shape` with magnitudes in [lo, hi], signs
    mixed. With `offset` every value ends in an extra 5 in the fourth decimal,
    so that it never equals a constant (three decimals): min(x, k) or where(x
    > k) would sit on a kink, where grad picks a side and central differences
    average both."""
    def value():
        v = rng.choice([-1, 1]) * round(rng.uniform(lo, hi), 3)
        return "%.4f" % (v + (0.0005 if v > 0 else -0.0005)) if offset else lit(v)

    def make(dims):
        if len(dims) == 1:
            return "[" + ", ".join(value() for _ in range(dims[0])) + "]"
        return "[" + ", ".join(make(dims[1:]) for _ in range(dims[0])) + "]"
    return "Tensor<Double>(%s)" % make(shape)


class Gen:
    def __init__(self, rng):
        self.rng = rng
        self.consts = {}      # name -> (shape, literal)
        self.lets = []        # names of [3, 4] tensors defined so far, with bounds
        self.lines = []

    def const(self, shape):
        name = "k%d" % len(self.consts)
        self.consts[name] = (shape, tensor_lit(self.rng, shape))
        return name

    def scalar(self, lo=0.3, hi=1.5):
        return lit(self.rng.uniform(lo, hi))

    def squash(self, text, bound):
        if bound > LIMIT:
            return "tanh(%s)" % text, 1.0
        return text, bound

    def leaf(self):
        options = [("x", 1.5)] + self.lets
        return self.rng.choice(options)

    def expr(self, depth):
        """A [3, 4] tensor expression: (text, magnitude bound)."""
        if depth <= 0 or self.rng.random() < 0.2:
            return self.leaf()
        r = self.rng
        kind = r.choice(["unary", "unary", "binary", "binary", "broadcast", "pow", "minmax",
                         "where", "reduce", "softmax", "matmul", "shape"])
        a, ba = self.expr(depth - 1)
        if kind == "unary":
            op = r.choice(["exp", "log", "log1p", "sqrt", "rsqrt", "abs", "sin", "cos", "tanh",
                           "sigmoid", "relu"])
            if op == "exp":
                return "exp(tanh(%s))" % a, 2.72
            if op == "log":
                return "log(1.0 + %s * %s)" % (a, a), 2 * ba + 1
            if op == "log1p":
                return "log1p(%s * %s)" % (a, a), 2 * ba + 1
            if op == "sqrt":
                return "sqrt(1.0 + %s * %s)" % (a, a), ba + 1
            if op == "rsqrt":
                return "rsqrt(1.0 + %s * %s)" % (a, a), 1.0
            if op in ("sin", "cos", "tanh", "sigmoid"):
                return "%s(%s)" % (op, a), 1.0
            return "%s(%s)" % (op, a), ba
        if kind == "binary":
            b, bb = self.expr(depth - 1)
            op = r.choice(["+", "-", "*", "/"])
            if op == "/":
                return self.squash("(%s / (1.0 + %s * %s))" % (a, b, b), ba)
            if op == "*":
                return self.squash("(%s * %s)" % (a, b), ba * bb)
            return self.squash("(%s %s %s)" % (a, op, b), ba + bb)
        if kind == "broadcast":
            form = r.choice(["row", "col", "scalar", "rscalar"])
            if form == "row":
                return self.squash("(%s * %s)" % (a, self.const([COLS])), ba * 1.5)
            if form == "col":
                return self.squash("(%s + %s)" % (a, self.const([ROWS, 1])), ba + 1.5)
            if form == "scalar":
                return self.squash("(%s * %s)" % (a, self.scalar()), ba * 1.5)
            return self.squash("(%s - %s)" % (self.scalar(), a), ba + 1.5)
        if kind == "pow":
            if r.random() < 0.5:
                return self.squash("pow(1.5 + %s * %s, %s)" % (a, a, self.scalar(0.5, 1.5)),
                                   (1.5 + ba * ba) ** 1.5)
            return "pow(%s, tanh(%s))" % (self.scalar(1.2, 2.0), a), 2.0
        if kind == "minmax":
            b, bb = self.expr(depth - 1)
            other = r.choice([b, self.const([COLS])])
            return "%s(%s, %s)" % (r.choice(["max", "min"]), a, other), max(ba, bb, 1.5)
        if kind == "where":
            b, bb = self.expr(depth - 1)
            return "where(%s > %s, %s, %s)" % (a, lit(r.uniform(-0.5, 0.5)), a, b), max(ba, bb)
        if kind == "reduce":
            axis = r.choice(["0", "1", "-1"])
            form = r.choice(["lse", "mean", "sum", "max", "min", "unsqueeze"])
            if form == "lse":
                return self.squash("(%s - logSumExp(%s, axis: %s, keepDims: true))" % (a, a, axis),
                                   2 * ba + 3)
            if form == "mean":
                return self.squash("(%s * mean(%s, axis: %s, keepDims: true))" % (a, a, axis),
                                   ba * ba)
            if form == "sum":
                return "(%s / (1.0 + sum(%s * %s, axis: %s, keepDims: true)))" % (a, a, a, axis), ba
            if form == "unsqueeze":
                # A dropped axis put back: min over rows, as a [1, 4] row.
                return self.squash("(unsqueeze(min(%s, axis: 0), axis: 0) * %s)" % (a, a), ba * ba)
            return self.squash("(%s(%s, axis: %s, keepDims: true) + %s)" % (form, a, axis, a),
                               2 * ba)
        if kind == "softmax":
            return "softmax(%s, axis: %s)" % (a, r.choice(["0", "1"])), 1.0
        if kind == "matmul":
            form = r.choice(["chain", "nt", "tn", "transpose"])
            if form == "chain":
                return self.squash("((%s @ %s) @ %s)" % (a, self.const([COLS, 2]), self.const([2, COLS])),
                                   ba * 4 * 1.5 * 2 * 1.5)
            if form == "nt":
                return self.squash("matmul(%s, %s, transposeB: true)" % (a, self.const([COLS, COLS])),
                                   ba * 4 * 1.5)
            if form == "tn":
                return self.squash("matmul(%s, %s, transposeA: true)" % (self.const([ROWS, ROWS]), a),
                                   ba * 3 * 1.5)
            return "transpose(transpose(%s) * %s)" % (a, self.const([COLS, 1])), ba * 1.5
        # shape round trips
        form = r.choice(["reshape", "flatten", "concat", "stack"])
        if form == "concat":
            # concat of an array value (tensor.join), cut back to [3, 4]
            # across both copies.
            return self.squash("slice(concat(Array(repeating: %s, count: 2), axis: 1) * %s, from: 2, to: 6, axis: 1)"
                               % (a, self.const([8])), ba * 1.5)
        if form == "stack":
            return self.squash("sum(stack(Array(repeating: %s, count: 2), axis: 0) * %s, axis: 0)"
                               % (a, self.const([2, 1, 4])), ba * 3)
        if form == "reshape":
            return self.squash("reshape(reshape(%s, [2, 6]) * %s, [3, 4])" % (a, self.const([6])),
                               ba * 1.5)
        return "reshape(flatten(unsqueeze(%s, axis: 0), from: 1), [3, 4])" % a, ba

    def result(self):
        """The scalar f returns."""
        a, _ = self.expr(2)
        b, _ = self.leaf()
        form = self.rng.choice(["sum", "mean", "lse", "max", "dot", "min"])
        if form == "sum":
            return "sum(%s)" % a
        if form == "mean":
            return "mean(%s) * %s" % (a, self.scalar())
        if form == "lse":
            return "logSumExp(%s)" % a
        if form == "max":
            return "max(%s) + sum(%s)" % (a, b)
        if form == "min":
            return "min(%s) - mean(%s)" % (a, b)
        return "sum(%s * %s)" % (a, b)

    def body(self):
        for _ in range(self.rng.randint(1, 3)):
            name = "t%d" % len(self.lets)
            text, bound = self.expr(self.rng.randint(1, 3))
            self.lines.append("    let %s = %s" % (name, text))
            self.lets.append((name, bound))
        flow = self.rng.choice(["none", "loop", "branch"])
        if flow == "loop":
            t, _ = self.leaf()
            self.lines.append("    var acc = %s" % t)
            self.lines.append("    for k in 0..<%d {" % self.rng.randint(1, 3))
            self.lines.append("        acc = tanh(acc * %s + %s)" % (self.scalar(), t))
            self.lines.append("    }")
            self.lets.append(("acc", 1.0))
        elif flow == "branch":
            t, _ = self.leaf()
            self.lines.append("    var acc = %s" % t)
            self.lines.append("    if sum(%s) > %s {" % (t, lit(self.rng.uniform(-1, 1))))
            self.lines.append("        acc = sigmoid(acc) * x")
            self.lines.append("    } else {")
            self.lines.append("        acc = acc - x * %s" % self.scalar())
            self.lines.append("    }")
            self.lets.append(("acc", 4.0))
        self.lines.append("    return %s" % self.result())


def generate(program_seed):
    rng = random.Random(program_seed)
    g = Gen(rng)
    g.body()
    out = ["// Generated by tests/gradcheck/gen_tensor.py --program %d" % program_seed]
    # A third of the programs check second derivatives: f is then the
    # directional derivative <grad f0(x), v>, so its gradient is a
    # Hessian-vector product (reverse over reverse), its jvp forward over
    # reverse, and its differences those of the gradient.
    second = rng.random() < 1.0 / 3
    out.append("fn %s(x: Tensor<Double>) -> Double {" % ("f0" if second else "f"))
    for name, (shape, text) in g.consts.items():
        out.append("    let %s = %s" % (name, text))
    out.extend(g.lines)
    out.append("}")
    if second:
        out.append("fn f(x: Tensor<Double>) -> Double {")
        out.append("    return sum(grad(f0)(x) * %s)" % tensor_lit(rng, [ROWS, COLS]))
        out.append("}")
    n = ROWS * COLS
    out.append('''fn unit(i: Int, h: Double) -> Tensor<Double> {
    var e: [Double] = Array(repeating: 0.0, count: %d)
    e[i] = h
    return reshape(Tensor(e), [%d, %d])
}
fn at(t: Tensor<Double>, i: Int) -> Double { return reshape(t, [%d])[i].item() }
// Central differences along element i, divided by the step actually taken.
fn fd(x: Tensor<Double>, i: Int, h: Double) -> Double {
    let d = unit(i, h)
    return (f(x + d) - f(x - d)) / (at(x + d, i) - at(x - d, i))
}
fn main() {
    let x = %s
    let g = grad(f)(x)
    let (vg, g2) = valueAndGrad(f)(x)
    print("gradcheck", 1, %d)
    print("v", 0, f(x), jvp(f)(x, unit(0, 1.0)).0, vg)
    for i in 0..<%d {
        print("g", 0, i, at(g, i), jvp(f)(x, unit(i, 1.0)).1, fd(x, i, 1e-6), fd(x, i, 1e-5))
        print("w", 0, i, at(g2, i))
    }
    print("end")
}''' % (n, ROWS, COLS, n, tensor_lit(rng, [ROWS, COLS], 0.1, 1.5, offset=True), n, n))
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--program", type=int, required=True, help="the program seed")
    ap.add_argument("-o", "--out", help="output file (default: stdout)")
    args = ap.parse_args(argv)
    src = generate(args.program)
    if args.out:
        with open(args.out, "w") as f:
            f.write(src)
    else:
        sys.stdout.write(src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
