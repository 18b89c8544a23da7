#!/usr/bin/env python3
"""Generate random DL programs that check compile-time derivatives.

Each program defines a few helpers (plain functions, recursion, `inout`
functions, a struct with methods, tuple- and array-returning functions) and one
function `f` of two or three Double parameters (sometimes one, sometimes with an
extra `n: Int` that gets no tangent).  `main` evaluates, at 2-3 fixed points,
the value of f, its reverse-mode gradient (`grad`, sometimes `valueAndGrad`),
its forward-mode derivatives (`jvp`, one seed per parameter) and two central
finite differences computed in DL.  run.py runs the programs and compares.

Output protocol of a generated program (numbers in DL's round-trip format):

    gradcheck POINTS PARAMS       POINTS points, PARAMS Double parameters
    v P F A...                    f at point P, then the primal values returned
                                  by jvp (one per seed) and valueAndGrad
    g P I REV FWD FD1 FD2         d f / d param I at point P: grad, jvp, central
                                  differences with h = 1e-6 and 1e-5
    w P I VG                      the same derivative from valueAndGrad
    end

With --no-ad the programs contain no AD operator: `v P F` and
`g P I - - FD1 FD2` only, so the primal code can be validated on a compiler
without AD.

Values are kept bounded by construction: every expression carries an upper
bound on its magnitude (interval-style), an expression whose bound grows past
LIMIT is squashed (tanh, sin, ...), divisors are kept away from zero, `log` and
`sqrt` only see positive arguments, `exp` and `tan` only bounded ones.  Inside
loops the variables a loop updates are chosen before its body is written and
their bounds are widened for the largest trip count first, so reads inside the
body see the bound of any iteration.

Usage:
    gen.py --seed S [--count N] [--out DIR]       N programs (seeds derived from S)
    gen.py --program P [-o FILE]                  the single program with seed P
    gen.py ... --stats                            print the feature mix
"""

import argparse
import os
import random
import sys
from collections import Counter

LIMIT = 6.0          # expressions whose magnitude bound exceeds this are squashed
PARAM_BOUND = 3.0    # arguments of helper functions are squashed to this
FIELD_BOUND = 3.0    # struct fields stay within this (methods preserve it)
NMAX = 5             # the largest value of the Int parameter n
MAX_LOOP_DEPTH = 2   # loops nest at most this deep
PROGRAM_SEED_STRIDE = 100000   # program i of run seed S has seed S * STRIDE + i


def program_seed(run_seed, index):
    """The seed of program `index` of a run with seed `run_seed`."""
    return run_seed * PROGRAM_SEED_STRIDE + index


def lit(c):
    """A DL float literal for c (always with a '.' or an exponent)."""
    s = repr(float(c))
    return s if ("." in s or "e" in s or "n" in s) else s + ".0"


# ---------------------------------------------------------------------------
# Values the generator knows about

class Expr:
    """Generated expression text, a bound on its magnitude, and whether it can
    be used as an operand without parentheses."""
    __slots__ = ("text", "bound", "atom")

    def __init__(self, text, bound, atom=False):
        self.text, self.bound, self.atom = text, float(bound), atom

    def par(self):
        return self.text if self.atom else "(" + self.text + ")"


class Val:
    """A Double-valued name: parameter, let, var, tuple element, Double(i)."""
    kind = "D"

    def __init__(self, text, bound, mutable=False, active=True):
        self.text, self.bound, self.mutable, self.active = text, float(bound), mutable, active
        self.uses = 0
        self.level = 0        # loop depth at the declaration


class ArrVar:
    """A [Double] variable: element bound, lower and upper bound of its count."""
    kind = "A"

    def __init__(self, name, elem_bound, minlen, maxlen, mutable):
        self.name, self.elem_bound = name, float(elem_bound)
        self.minlen, self.maxlen, self.mutable = minlen, maxlen, mutable
        self.uses = 0
        self.level = 0
        self.iterating = False   # being iterated by `for v in` right now


class StructVar:
    """A variable holding a struct value; its Double fields stay in FIELD_BOUND."""
    kind = "S"

    def __init__(self, name, sdef, mutable):
        self.name, self.sdef, self.mutable = name, sdef, mutable
        self.uses = 0
        self.level = 0


class IntVar:
    """An Int usable as a trip count (n, a helper's m)."""
    kind = "I"

    def __init__(self, name, maxval):
        self.name, self.maxval = name, maxval
        self.uses = 0
        self.level = 0


class Loop:
    """An enclosing loop: its trip bound and the outer names it may update."""

    def __init__(self, trips):
        self.trips = trips
        self.targets = set()   # ids of outer Val/ArrVar objects this body may update


# ---------------------------------------------------------------------------
# Update statements on a Double location
#
# A "safe" form's bound map g(b) does not depend on the bound of the generated
# expression E (E only appears under a squashing function), so the bound of a
# variable after N executions is known before the loop body is written.

SAFE_FORMS = [
    # (weight, statement template, bound map, stat)
    (3, "{v} += {c} * tanh({E})", lambda b, c: b + c, "compound_assign"),
    (2, "{v} -= {c} * sin({E})", lambda b, c: b + c, "compound_assign"),
    (2, "{v} *= sigmoid({E})", lambda b, c: b, "compound_assign"),
    (1, "{v} *= tanh({E})", lambda b, c: b, "compound_assign"),
    (1, "{v} *= 0.5 + 0.5 * cos({E})", lambda b, c: b, "compound_assign"),
    (2, "{v} /= 1.0 + sigmoid({E})", lambda b, c: b, "compound_assign"),
    (1, "{v} /= 2.0 + cos({E})", lambda b, c: b, "compound_assign"),
    (3, "{v} = {k} * {v} + {c} * tanh({E})", lambda b, c: 0.7 * b + c, "assign"),
    (1, "{v} = tanh({v} + {E})", lambda b, c: max(b, 1.0), "assign"),
]


MATH_FNS = ["sin", "cos", "tan", "exp", "log", "log1p", "sqrt",
            "tanh", "sigmoid", "pow", "relu", "abs"]
MATH_WEIGHTS = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1.2, 0.4, 0.5]


def iterate_bound(g, b, times):
    """Bound after applying the update with bound map g up to `times` times."""
    for _ in range(times):
        nb = max(b, g(b))
        if nb == b:
            break
        b = nb
    return b


# ---------------------------------------------------------------------------
# Program-level definitions

class HelperDef:
    def __init__(self, name, params, bound, labels=None):
        self.name = name
        self.params = params      # list of "D" / "I"
        self.bound = bound
        self.labels = labels or [None] * len(params)


class RecDef:
    def __init__(self, name, ndouble, bound):
        self.name, self.ndouble, self.bound = name, ndouble, bound


class InoutDef:
    def __init__(self, name, nvars, growth, stat):
        self.name, self.nvars, self.growth, self.stat = name, nvars, growth, stat


class StructDef:
    def __init__(self, name, fields, has_count):
        self.name, self.fields, self.has_count = name, fields, has_count
        self.methods = []        # (name, takes_param, bound)
        self.mutating = []       # (name, label)
        self.static_make = None  # name of `static fn make(v:)` or None


# ---------------------------------------------------------------------------

class Writer:
    """Writes the body of one function: keeps the scope, the bounds and the loops."""

    def __init__(self, prog, indent=1, allow_structs=True):
        self.prog = prog
        self.rng = prog.rng
        self.stats = prog.stats
        self.lines = []
        self.depth = indent
        self.frames = [[]]
        self.loops = []
        self.allow_structs = allow_structs
        self.ret_bound = 0.0
        self.callable_helpers = list(prog.helpers)   # helpers defined so far

    # -- scope ------------------------------------------------------------
    def fresh(self, base):
        return self.prog.fresh(base)

    def emit(self, s):
        self.lines.append("    " * self.depth + s)

    def declare(self, obj):
        obj.level = len(self.loops)
        self.frames[-1].append(obj)
        return obj

    def open_block(self, header):
        self.emit(header + " {")
        self.frames.append([])
        self.depth += 1

    def close_block(self, tail="}"):
        self.frames.pop()
        self.depth -= 1
        self.emit(tail)

    def visible(self, kind):
        return [o for fr in self.frames for o in fr if o.kind == kind]

    def can_update(self, obj):
        """Straight-line updates are allowed on names declared at this loop
        depth; outer names only when they are targets of the innermost loop."""
        if obj.level == len(self.loops):
            return True
        return bool(self.loops) and id(obj) in self.loops[-1].targets

    def in_loop_target(self, obj):
        return obj.level < len(self.loops)

    # -- leaves and expressions ------------------------------------------
    def leaves(self):
        """Readable Double terms: (text, bound, owner) triples."""
        out = [(v.text, v.bound, v) for v in self.visible("D")]
        if self.allow_structs:
            for s in self.visible("S"):
                for fld in s.sdef.fields:
                    out.append((s.name + "." + fld, FIELD_BOUND, s))
        for a in self.visible("A"):
            if a.minlen > 0:
                i = self.rng.randrange(a.minlen)
                out.append(("%s[%d]" % (a.name, i), a.elem_bound, a))
        return out

    def leaf(self):
        cands = self.leaves()
        # Prefer terms used little so far, and active ones.
        weights = []
        for text, bound, owner in cands:
            w = 3.0 if owner.uses == 0 else 1.0 / (1 + owner.uses)
            if isinstance(owner, Val) and not owner.active:
                w *= 0.3
            weights.append(w)
        text, bound, owner = self.rng.choices(cands, weights)[0]
        owner.uses += 1
        if "[" in text:
            self.stats["elem_read"] += 1
        elif "." in text and isinstance(owner, StructVar):
            self.stats["field_read"] += 1
        return Expr(text, bound, atom=True)

    def const(self, lo=0.2, hi=1.5):
        return lit(round(self.rng.uniform(lo, hi), 2))

    def squash(self, e, keep_small=False):
        """An expression of bound <= 2 computed from e."""
        r = self.rng.random()
        if e.bound <= 2.0 and keep_small:
            return e
        if r < 0.4:
            self.stats["tanh"] += 1
            return Expr("tanh(%s)" % e.text, 1.0, True)
        if r < 0.6 and e.bound <= 12:
            self.stats["sin"] += 1
            return Expr("sin(%s)" % e.text, 1.0, True)
        if r < 0.8:
            self.stats["tanh"] += 1
            return Expr("2.0 * tanh(0.5 * %s)" % e.par(), 2.0)
        self.stats["sigmoid"] += 1
        return Expr("sigmoid(%s)" % e.text, 1.0, True)

    def small(self, depth=1):
        """An expression with bound <= 2."""
        return self.squash(self.expr(depth), keep_small=True)

    def expr(self, depth=2):
        if depth <= 0 or self.rng.random() < 0.22:
            return self.leaf()
        ops = [
            (6, self.e_add), (5, self.e_mul), (2, self.e_div), (2, self.e_affine),
            (1, self.e_neg), (9, self.e_math), (2, self.e_minmax),
            (1, self.e_ternary), (3, self.e_call),
        ]
        fn = self.rng.choices([o for _, o in ops], [w for w, _ in ops])[0]
        e = fn(depth - 1)
        if e is None:
            e = self.leaf()
        if e.bound > LIMIT:
            e = self.squash(e)
        return e

    def cover(self, e, names):
        """e, plus a smooth term in each of `names` that e does not mention,
        so that no parameter is silently ignored (its derivative would be 0)."""
        toks = set(_tokens(e.text))
        for name in names:
            if name.split(".")[-1] not in toks:
                fn = self.rng.choice(["sin", "tanh", "sigmoid"])
                self.stats[fn] += 1
                e = Expr("%s + %s * %s(%s)" % (e.text, self.const(0.2, 0.8), fn, name), e.bound + 1.0)
        return e

    def e_add(self, d):
        a, b = self.expr(d), self.expr(d)
        op = self.rng.choice(["+", "-"])
        if a.text == b.text:
            op = "+"      # not `a - a`: identically zero
        self.stats["add" if op == "+" else "sub"] += 1
        return Expr("%s %s %s" % (a.text, op, b.par()), a.bound + b.bound)

    def e_mul(self, d):
        a, b = self.expr(d), self.expr(d)
        if a.bound * b.bound > 4 * LIMIT:
            b = self.squash(b)
        self.stats["mul"] += 1
        return Expr("%s * %s" % (a.par(), b.par()), a.bound * b.bound)

    def e_div(self, d):
        a, b = self.expr(d), self.expr(max(d - 1, 0))
        self.stats["div"] += 1
        r = self.rng.random()
        if r < 0.35 and b.atom:
            return Expr("%s / (1.0 + %s * %s)" % (a.par(), b.text, b.text), a.bound)
        if r < 0.6:
            return Expr("%s / (2.0 + cos(%s))" % (a.par(), b.text), a.bound)
        if r < 0.8:
            self.stats["abs"] += 1
            return Expr("%s / (1.0 + abs(%s))" % (a.par(), b.text), a.bound)
        return Expr("%s / (0.5 + sigmoid(%s))" % (a.par(), b.text), 2 * a.bound)

    def e_affine(self, d):
        a = self.expr(d)
        c = self.const()
        form = self.rng.randrange(4)
        if form == 0:
            return Expr("%s * %s" % (c, a.par()), float(c) * a.bound)
        if form == 1:
            return Expr("%s + %s" % (a.text, c), a.bound + float(c))
        if form == 2:
            return Expr("%s - %s" % (a.text, c), a.bound + float(c))
        return Expr("%s - %s" % (c, a.par()), a.bound + float(c))

    def e_neg(self, d):
        a = self.expr(d)
        self.stats["neg"] += 1
        return Expr("-" + a.par(), a.bound)

    def e_math(self, d):
        a = self.expr(d)
        # relu and abs are flat or kinked: rarer, so that derivatives are seldom zero.
        fn = self.rng.choices(MATH_FNS, MATH_WEIGHTS)[0]
        self.stats[fn] += 1
        sq = "%s * %s" % (a.par(), a.par()) if len(a.text) <= 24 else None
        if fn in ("sin", "cos", "tanh", "sigmoid"):
            return Expr("%s(%s)" % (fn, a.text), 1.0, True)
        if fn in ("relu", "abs"):
            return Expr("%s(%s)" % (fn, a.text), a.bound, True)
        if fn == "tan":
            if a.bound <= 1.2:
                return Expr("tan(%s)" % a.text, 2.6, True)
            self.stats["tanh"] += 1
            return Expr("tan(0.8 * tanh(%s))" % a.text, 1.03, True)
        if fn == "exp":
            if a.bound <= 2.5:
                return Expr("exp(%s)" % a.text, 2.718281828 ** a.bound, True)
            if sq and self.rng.random() < 0.5:
                return Expr("exp(-(%s))" % sq, 1.0, True)
            self.stats["tanh"] += 1
            return Expr("exp(tanh(%s))" % a.text, 2.72, True)
        if fn == "log":
            r = self.rng.random()
            if sq and r < 0.4:
                return Expr("log(1.0 + %s)" % sq, 1.0 + 2.0 * max(1.0, a.bound) ** 0.5, True)
            if r < 0.7:
                return Expr("log(2.0 + sin(%s))" % a.text, 1.1, True)
            self.stats["exp"] += 1
            return Expr("log(1.0 + exp(%s))" % a.text, a.bound + 1.0, True)
        if fn == "log1p":
            r = self.rng.random()
            if sq and r < 0.5:
                return Expr("log1p(%s)" % sq, 1.0 + 2.0 * max(1.0, a.bound) ** 0.5, True)
            if r < 0.75:
                self.stats["sigmoid"] += 1
                return Expr("log1p(sigmoid(%s))" % a.text, 0.7, True)
            self.stats["tanh"] += 1
            return Expr("log1p(0.5 * tanh(%s))" % a.text, 0.7, True)
        if fn == "sqrt":
            r = self.rng.random()
            if sq and r < 0.5:
                return Expr("sqrt(1.0 + %s)" % sq, 1.0 + a.bound, True)
            if r < 0.75:
                return Expr("sqrt(2.0 + sin(%s))" % a.text, 1.8, True)
            self.stats["sigmoid"] += 1
            return Expr("sqrt(0.25 + sigmoid(%s))" % a.text, 1.2, True)
        # pow(positive base, bounded exponent)
        r = self.rng.random()
        if sq and a.bound <= 2.0 and r < 0.4:
            base, bmin, bmax = "1.5 + %s" % sq, 1.5, 1.5 + a.bound * a.bound
        elif r < 0.7:
            base, bmin, bmax = "2.0 + sin(%s)" % a.text, 1.0, 3.0
        else:
            self.stats["sigmoid"] += 1
            base, bmin, bmax = "1.0 + sigmoid(%s)" % a.text, 1.0, 2.0
        if self.rng.random() < 0.3:
            p = self.rng.choice(["2.0", "0.5", "1.5", "3.0"])
            return Expr("pow(%s, %s)" % (base, p), bmax ** float(p), True)
        ex = self.expr(max(d - 1, 0))
        if ex.bound > 2.0:
            ex = self.squash(ex)
        pb = max(bmax ** ex.bound, bmin ** -ex.bound)
        return Expr("pow(%s, %s)" % (base, ex.text), pb, True)

    def e_minmax(self, d):
        a = self.expr(d)
        fn = self.rng.choice(["min", "max"])
        self.stats[fn] += 1
        if self.rng.random() < 0.12:
            # A clamp against a constant: flat on one side.
            c = self.const(0.0, 0.8)
            return Expr("%s(%s, %s)" % (fn, a.text, c), max(a.bound, float(c)), True)
        b = self.expr(d)
        return Expr("%s(%s, %s)" % (fn, a.text, b.text), max(a.bound, b.bound), True)

    def e_ternary(self, d):
        c = self.cond()
        a, b = self.expr(d), self.expr(d)
        self.stats["ternary"] += 1
        return Expr("(%s ? %s : %s)" % (c, a.text, b.text), max(a.bound, b.bound), True)

    def e_call(self, d):
        """A call of a helper, a recursive function, a method or a struct helper."""
        choices = []
        if self.callable_helpers:
            choices.append(self.call_helper)
        if self.prog.recs:
            choices.append(self.call_rec)
        if self.allow_structs and self.visible("S"):
            choices.append(self.call_method)
        if not choices:
            return None
        return self.rng.choice(choices)(d)

    def arg(self, d):
        """An argument for a helper: bound <= PARAM_BOUND."""
        e = self.expr(d)
        if e.bound > PARAM_BOUND:
            e = self.squash(e)
        return e

    def int_arg(self, maxval):
        ints = [i for i in self.visible("I") if i.maxval <= maxval]
        if ints and self.rng.random() < 0.6:
            i = self.rng.choice(ints)
            i.uses += 1
            self.stats["int_param_use"] += 1
            return i.name, i.maxval
        k = self.rng.randint(1, min(4, maxval))
        return str(k), k

    def call_helper(self, d):
        h = self.rng.choice(self.callable_helpers)
        args = []
        for kind, label in zip(h.params, h.labels):
            a = self.arg(d).text if kind == "D" else self.int_arg(NMAX)[0]
            args.append(label + ": " + a if label else a)
        self.stats["call"] += 1
        self.prog.called[h.name] += 1
        if any(h.labels):
            self.stats["labelled_call"] += 1
        return Expr("%s(%s)" % (h.name, ", ".join(args)), h.bound, True)

    def call_rec(self, d):
        r = self.rng.choice(self.prog.recs)
        args = [self.arg(d).text for _ in range(r.ndouble)]
        args.append(self.int_arg(NMAX)[0])
        self.stats["recursion_call"] += 1
        return Expr("%s(%s)" % (r.name, ", ".join(args)), r.bound, True)

    def call_method(self, d):
        s = self.rng.choice(self.visible("S"))
        s.uses += 1
        sd = s.sdef
        r = self.rng.random()
        if r < 0.25 and sd.name in self.prog.struct_helpers:
            h = self.prog.struct_helpers[sd.name]
            self.stats["struct_param"] += 1
            return Expr("%s(%s, %s)" % (h.name, s.name, self.arg(d).text), h.bound, True)
        name, takes, bound = self.rng.choice(sd.methods)
        self.stats["method_call"] += 1
        a = self.arg(d).text if takes else ""
        return Expr("%s.%s(%s)" % (s.name, name, a), bound, True)

    def cond(self, allow_int=True):
        """A Bool condition on active values (sometimes on a loop index)."""
        ints = [v for v in self.visible("D") if not v.active]
        if allow_int and ints and self.rng.random() < 0.15:
            i = self.rng.choice(ints).text[len("Double("):-1]
            self.stats["int_condition"] += 1
            return self.rng.choice(["%s == 1" % i, "%s %% 2 == 0" % i, "%s > 2" % i])
        a = self.expr(1)
        r = self.rng.random()
        if r < 0.35:
            c = self.rng.choice(["-0.5", "-0.2", "0.0", "0.1", "0.3", "0.5", "0.8"])
            text = "%s %s %s" % (a.text, self.rng.choice(["<", ">", "<=", ">="]), c)
        elif r < 0.5:
            text = "sin(%s) > %s" % (a.text, self.rng.choice(["0.0", "0.2", "-0.3"]))
            self.stats["sin"] += 1
        else:
            b = self.expr(1)
            text = "%s %s %s" % (a.text, self.rng.choice(["<", ">", "<=", ">="]), b.text)
        self.stats["active_condition"] += 1
        if self.rng.random() < 0.12:
            other = self.cond(allow_int=False)
            op = self.rng.choice(["&&", "||"])
            self.stats["logical_op"] += 1
            return "%s %s %s" % (text, op, other)
        if self.rng.random() < 0.05:
            self.stats["not"] += 1
            return "!(%s)" % text
        return text

    # -- updates ----------------------------------------------------------
    def safe_form(self):
        w = [f[0] for f in SAFE_FORMS]
        return self.rng.choices(SAFE_FORMS, w)[0]

    def render_safe(self, form, target):
        _, tmpl, g, stat = form
        c = self.rng.choice(["0.1", "0.2", "0.3"]) if "{c}" in tmpl else "0"
        if "{k}" in tmpl:
            c = self.rng.choice(["0.5", "0.8", "1.0"])
        k = self.rng.choice(["0.5", "0.6", "0.7"])
        e = self.expr(1)
        self.stats[stat] += 1
        return tmpl.format(v=target, c=c, k=k, E=e.text), (lambda b: g(b, float(c)))

    def update_straight(self, v):
        """Emit one update of Double variable v (declared at this loop depth)."""
        r = self.rng.random()
        if r < 0.5 or v.bound > 4 * LIMIT:
            stmt, g = self.render_safe(self.safe_form(), v.text)
            v.bound = g(v.bound)
            v.uses += 1
            self.emit(stmt)
            return
        e = self.expr(2)
        op = self.rng.choice(["+=", "-=", "*=", "/=", "="])
        if op == "*=" and v.bound * e.bound > 4 * LIMIT:
            e = self.squash(e)
        if op in ("+=", "-="):
            v.bound += e.bound
            self.stats["compound_assign"] += 1
            self.emit("%s %s %s" % (v.text, op, e.text))
        elif op == "*=":
            v.bound *= e.bound
            self.stats["compound_assign"] += 1
            self.emit("%s *= %s" % (v.text, e.text))
        elif op == "/=":
            self.stats["compound_assign"] += 1
            self.stats["div"] += 1
            if e.atom:
                self.emit("%s /= 1.0 + %s * %s" % (v.text, e.text, e.text))
            else:
                self.emit("%s /= 1.5 + sin(%s)" % (v.text, e.text))
                v.bound *= 2.0
        else:
            self.stats["assign"] += 1
            v.bound = e.bound
            self.emit("%s = %s" % (v.text, e.text))
        v.uses += 1

    def update_target(self, v):
        """Update v: straight-line if declared here, else with the safe form
        chosen when the enclosing loop was opened."""
        if self.in_loop_target(v):
            form = self.prog.loop_forms[id(v)]
            stmt, _ = self.render_safe(form, v.text)
            self.emit(stmt)
            v.uses += 1
        else:
            self.update_straight(v)

    def updatable_vals(self):
        return [v for v in self.visible("D") if v.mutable and self.can_update(v)]

    def ensure_var(self):
        """A Double var that may be updated here (declares one if needed)."""
        cands = self.updatable_vals()
        if cands and self.rng.random() < 0.8:
            return self.rng.choice(cands)
        return self.new_var()

    def new_var(self):
        name = self.fresh("v")
        e = self.expr(2)
        if self.rng.random() < 0.3:
            self.emit("var %s: Double = %s" % (name, e.text))
        else:
            self.emit("var %s = %s" % (name, e.text))
        self.stats["var"] += 1
        return self.declare(Val(name, e.bound, mutable=True))

    # -- statement blocks -------------------------------------------------
    def block(self, menu):
        names = [m for m, _ in menu]
        weights = [w for _, w in menu]
        getattr(self, "b_" + self.rng.choices(names, weights)[0])()

    def b_let(self):
        name = self.fresh("l")
        e = self.expr(self.rng.choice([1, 2, 2, 3]))
        if self.rng.random() < 0.3:
            self.emit("let %s: Double = %s" % (name, e.text))
        else:
            self.emit("let %s = %s" % (name, e.text))
        self.stats["let"] += 1
        self.declare(Val(name, e.bound))

    def b_var(self):
        v = self.new_var()
        for _ in range(self.rng.randint(1, 2)):
            self.update_straight(v)

    def b_update(self):
        self.update_target(self.ensure_var())

    def b_if(self):
        """`if` / `else if` / `else` updating one or two variables."""
        targets = [self.ensure_var()]
        others = [v for v in self.updatable_vals() if v is not targets[0]]
        if others and self.rng.random() < 0.4:
            targets.append(self.rng.choice(others))
        kinds = ["if"] + ["else if"] * self.rng.choice([0, 0, 1]) + \
            (["else"] if self.rng.random() < 0.7 else [])
        before = {id(v): v.bound for v in targets}
        # Without an `else` the variables may keep their old values.
        after = {id(v): (before[id(v)] if kinds[-1] != "else" else 0.0) for v in targets}
        self.stats["if"] += 1
        for bi, kind in enumerate(kinds):
            if kind == "if":
                self.open_block("if " + self.cond())
            else:
                # Leave the previous branch's scope before writing the condition.
                self.frames.pop()
                self.depth -= 1
                cond = " " + self.cond() if kind == "else if" else ""
                self.emit("} " + kind + cond + " {")
                self.frames.append([])
                self.depth += 1
                self.stats[kind.replace(" ", "_")] += 1
            for v in targets:
                v.bound = before[id(v)]
            if self.rng.random() < 0.3:
                self.b_let()
            for v in targets:
                self.update_target(v)
            for v in targets:
                after[id(v)] = max(after[id(v)], v.bound)
        self.close_block()
        for v in targets:
            v.bound = after[id(v)]

    def b_deferred_let(self):
        name = self.fresh("r")
        self.emit("let %s: Double" % name)
        self.stats["deferred_let"] += 1
        self.stats["if"] += 1
        self.stats["else"] += 1
        a = self.expr(2)
        self.open_block("if " + self.cond())
        self.emit("%s = %s" % (name, a.text))
        self.close_block("} else {")
        self.frames.append([])
        self.depth += 1
        b = self.expr(2)
        self.emit("%s = %s" % (name, b.text))
        self.close_block()
        self.declare(Val(name, max(a.bound, b.bound)))

    def b_ternary(self):
        name = self.fresh("t")
        c = self.cond()
        a, b = self.expr(2), self.expr(2)
        self.emit("let %s = %s ? %s : %s" % (name, c, a.text, b.text))
        self.stats["ternary"] += 1
        self.declare(Val(name, max(a.bound, b.bound)))

    def active_names(self):
        return [v.text for v in self.visible("D") if v.active]

    def b_early_return(self):
        e = self.expr(2)
        names = self.active_names()
        if names and not set(_tokens(e.text)) & set(_tokens(" ".join(names))):
            e = self.cover(e, [self.rng.choice(names)])   # not a constant
        self.ret_bound = max(self.ret_bound, e.bound)
        self.open_block("if " + self.cond())
        self.emit("return " + e.text)
        self.close_block()
        self.stats["early_return"] += 1

    # -- loops --------------------------------------------------------------
    def choose_targets(self, trips):
        """Pick the outer names a loop body of `trips` iterations will update and
        widen their bounds for every iteration before the body is written."""
        loop = Loop(trips)
        vals = self.updatable_vals()
        if not vals or self.rng.random() < 0.25:
            vals.append(self.new_var())
        chosen = self.rng.sample(vals, min(len(vals), self.rng.choice([1, 1, 2, 2, 3])))
        # At most three update sites run per iteration at each level (the target's
        # own update and up to two extra items), and a nested loop runs at most
        # 5 trips: 3 + 3 * 5 updates per iteration when a nested loop may follow.
        times = trips * (3 + 3 * 5 if len(self.loops) + 1 < MAX_LOOP_DEPTH else 3)
        for v in chosen:
            if self.in_loop_target(v):
                # Already a target of an enclosing loop, whose widening counted
                # the updates of this nested loop: keep its form and bound.
                loop.targets.add(id(v))
                continue
            form = self.safe_form()
            self.prog.loop_forms[id(v)] = form
            g = form[2]
            c = 0.3 if "{c}" in form[1] else 0.0
            if "{k}" in form[1]:
                c = 1.0
            v.bound = iterate_bound(lambda b: g(b, c), v.bound, times)
            loop.targets.add(id(v))
        for a in self.visible("A"):
            if a.mutable and self.can_update(a) and not a.iterating and self.rng.random() < 0.35:
                # Element writes are `a[i] = k * a[i] + c * tanh(E)`, appends `tanh(E)`.
                a.elem_bound = max(a.elem_bound, 1.0 / 0.5)
                loop.targets.add(id(a))
        # Outer targets stay targets of nested loops.
        if self.loops:
            loop.targets |= self.loops[-1].targets
        return loop, chosen

    def loop_body(self, loop, targets, extra_items=()):
        """Items of a loop body: each target updated once, plus other statements."""
        items = [("update", v) for v in targets]
        items += [(it, None) for it in extra_items]
        for _ in range(self.rng.randint(0, 2)):
            items.append((self.rng.choices(
                ["let", "break", "continue", "return", "if", "nested", "inout", "struct", "array"],
                [4, 2, 1.5, 1, 2, 1.2, 1, 1, 1.5])[0], None))
        self.rng.shuffle(items)
        for kind, v in items:
            if kind == "update":
                if self.rng.random() < 0.3:
                    self.stats["if"] += 1
                    self.open_block("if " + self.cond())
                    self.update_target(v)
                    self.close_block()
                else:
                    self.update_target(v)
            elif kind == "let":
                self.b_let()
            elif kind == "break":
                self.emit_jump("break")
            elif kind == "continue":
                self.emit_jump("continue")
            elif kind == "return":
                self.b_early_return()
            elif kind == "if":
                self.b_if()
            elif kind == "nested" and len(self.loops) < MAX_LOOP_DEPTH:
                self.stats["nested_loop"] += 1
                self.b_for()
            elif kind == "inout":
                self.inout_call(loop_ok=True)
            elif kind == "struct":
                self.struct_in_loop()
            elif kind == "array":
                self.array_in_loop()

    def emit_jump(self, kw):
        self.open_block("if " + self.cond())
        self.emit(kw)
        self.close_block()
        self.stats[kw] += 1

    def b_for(self, use_int=False):
        """`for i in 0..<N` with an Int trip count (literal, or n / m)."""
        ints = self.visible("I")
        closed = self.rng.random() < 0.2
        if ints and (use_int or self.rng.random() < 0.5):
            iv = self.rng.choice(ints)
            iv.uses += 1
            bound_text, trips = iv.name, iv.maxval
            self.stats["for_int_param"] += 1
            rng_text = "0..<%s" % bound_text
        else:
            trips = self.rng.randint(2, 5)
            rng_text = "0...%d" % (trips - 1) if closed else "0..<%d" % trips
            if closed:
                self.stats["for_closed_range"] += 1
        self.stats["for_range"] += 1
        loop, targets = self.choose_targets(trips)
        ivar = self.fresh("i")
        self.open_block("for %s in %s" % (ivar, rng_text))
        self.loops.append(loop)
        self.declare(Val("Double(%s)" % ivar, trips, active=False))
        self.loop_body(loop, targets)
        self.loops.pop()
        self.close_block()

    def b_for_n(self):
        self.b_for(use_int=True)

    def b_while(self):
        """A `while` loop whose trip count depends on the active values."""
        self.stats["while"] += 1
        k = self.fresh("k")
        if self.rng.random() < 0.6:
            # Accumulate until a threshold: 3 to 14 trips, capped at 20.
            s = self.fresh("s")
            init = self.small()
            self.emit("var %s: Double = sigmoid(%s)" % (s, init.text))
            self.stats["sigmoid"] += 1
            self.emit("var %s = 0" % k)
            trips = 20
            loop, targets = self.choose_targets(trips)
            thr = self.rng.choice(["3.0", "4.0", "5.0"])
            self.open_block("while %s < %s && %s < %d" % (s, thr, k, trips))
            self.loops.append(loop)
            self.emit("%s += 1" % k)
            inc = self.expr(1)
            self.emit("%s += 0.3 + sigmoid(%s)" % (s, inc.text))
            self.stats["sigmoid"] += 1
            self.loop_body(loop, targets)
            self.loops.pop()
            self.close_block()
            self.declare(Val(s, float(thr) + 1.3))
        else:
            # Fixed cap, exits early on a data-dependent condition.
            trips = self.rng.randint(4, 12)
            self.emit("var %s = 0" % k)
            loop, targets = self.choose_targets(trips)
            self.open_block("while %s < %d" % (k, trips))
            self.loops.append(loop)
            self.emit("%s += 1" % k)
            self.loop_body(loop, targets, extra_items=["break"])
            self.loops.pop()
            self.close_block()

    # -- calls --------------------------------------------------------------
    def b_call(self):
        if not self.callable_helpers:
            return self.b_let()
        name = self.fresh("c")
        e = self.call_helper(2)
        self.emit("let %s = %s" % (name, e.text))
        self.declare(Val(name, e.bound))

    def b_recursion(self):
        if not self.prog.recs:
            return self.b_let()
        name = self.fresh("rc")
        e = self.call_rec(1)
        self.emit("let %s = %s" % (name, e.text))
        self.declare(Val(name, e.bound))

    def inout_call(self, loop_ok=False):
        if not self.prog.inouts:
            return
        h = self.rng.choice(self.prog.inouts)
        if self.loops:
            # Only locals of this loop body: their bound is straight-line.
            vals = [v for v in self.updatable_vals() if v.level == len(self.loops)]
        else:
            vals = self.updatable_vals()
        while len(vals) < h.nvars:
            vals.append(self.new_var())
        vs = self.rng.sample(vals, h.nvars)
        e = self.arg(1)
        for v in vs:
            v.uses += 1
        self.emit("%s(%s, %s)" % (h.name, ", ".join("&" + v.text for v in vs), e.text))
        self.stats["inout"] += 1
        self.stats[h.stat] += 1
        new = h.growth([v.bound for v in vs])
        for v, b in zip(vs, new):
            v.bound = max(v.bound, b)

    def b_inout(self):
        if not self.prog.inouts:
            return self.b_update()
        self.inout_call()

    # -- tuples ---------------------------------------------------------------
    def b_tuple(self):
        r = self.rng.random()
        if r < 0.4:
            t = self.fresh("tp")
            a, b = self.expr(2), self.expr(2)
            self.emit("let %s = (%s, %s)" % (t, a.text, b.text))
            self.stats["tuple"] += 1
            if self.rng.random() < 0.5:
                u, w = self.fresh("u"), self.fresh("w")
                self.emit("let (%s, %s) = %s" % (u, w, t))
                self.stats["tuple_destructure"] += 1
                self.declare(Val(u, a.bound))
                self.declare(Val(w, b.bound))
            else:
                self.declare(Val(t + ".0", a.bound))
                self.declare(Val(t + ".1", b.bound))
                self.stats["tuple_element"] += 1
        elif r < 0.7 and self.prog.pairs:
            p = self.rng.choice(self.prog.pairs)
            u, w = self.fresh("u"), self.fresh("w")
            self.emit("let (%s, %s) = %s(%s, %s)" % (u, w, p.name, self.arg(1).text, self.arg(1).text))
            self.stats["tuple_return"] += 1
            self.stats["tuple_destructure"] += 1
            self.declare(Val(u, p.bound))
            self.declare(Val(w, p.bound))
        else:
            u, w = self.fresh("u"), self.fresh("w")
            a, b = self.expr(2), self.expr(2)
            self.emit("let (%s, %s) = (%s, %s)" % (u, w, a.text, b.text))
            self.stats["tuple"] += 1
            self.stats["tuple_destructure"] += 1
            self.declare(Val(u, a.bound))
            self.declare(Val(w, b.bound))

    # -- arrays ---------------------------------------------------------------
    def b_array(self):
        name = self.fresh("arr")
        r = self.rng.random()
        if r < 0.55:
            n = self.rng.randint(2, 4)
            es = [self.expr(1) for _ in range(n)]
            self.emit("var %s: [Double] = [%s]" % (name, ", ".join(e.text for e in es)))
            self.stats["array_literal"] += 1
            a = self.declare(ArrVar(name, max(e.bound for e in es), n, n, True))
        elif r < 0.8:
            n = self.rng.randint(2, 5)
            self.emit("var %s: [Double] = Array(repeating: 0.0, count: %d)" % (name, n))
            self.stats["array_repeating"] += 1
            a = self.declare(ArrVar(name, 0.0, n, n, True))
            i = self.fresh("i")
            self.open_block("for %s in 0..<%s.count" % (i, name))
            self.loops.append(Loop(n))
            self.declare(Val("Double(%s)" % i, n, active=False))
            e = self.expr(1)
            self.emit("%s[%s] = sin(%s + 0.3 * Double(%s))" % (name, i, e.text, i))
            self.stats["sin"] += 1
            self.stats["elem_write"] += 1
            self.stats["for_range"] += 1
            self.loops.pop()
            self.close_block()
            a.elem_bound = 1.0
        else:
            if not self.prog.array_makers:
                return self.b_tuple()
            mk = self.rng.choice(self.prog.array_makers)
            self.emit("var %s = %s(%s)" % (name, mk.name, self.arg(1).text))
            self.stats["array_return"] += 1
            a = self.declare(ArrVar(name, mk.bound, 3, 3, True))
        for _ in range(self.rng.randint(1, 3)):
            op = self.rng.choice(["append", "write", "for_in", "read", "count"])
            if op == "append":
                e = self.expr(1)
                self.emit("%s.append(%s)" % (name, e.text))
                a.elem_bound = max(a.elem_bound, e.bound)
                a.minlen += 1
                a.maxlen += 1
                self.stats["append"] += 1
            elif op == "write":
                e = self.expr(2)
                idx = self.rng.randrange(a.minlen)
                self.emit("%s[%d] = %s" % (name, idx, e.text))
                a.elem_bound = max(a.elem_bound, e.bound)
                self.stats["elem_write"] += 1
            elif op == "for_in":
                self.for_in(a)
            elif op == "read":
                self.b_let()
            else:
                v = self.ensure_var()
                self.emit("%s += 0.1 * Double(%s.count)" % (v.text, name))
                v.bound += 0.1 * a.maxlen
                self.stats["array_count"] += 1
        if self.prog.array_reducers and self.rng.random() < 0.5:
            red = self.rng.choice(self.prog.array_reducers)
            c = self.fresh("c")
            self.emit("let %s = %s(%s)" % (c, red.name, name))
            self.stats["array_param"] += 1
            a.uses += 1
            self.declare(Val(c, red.bound))

    def for_in(self, a):
        """`for e in arr`, reducing into an outer var."""
        e = self.fresh("e")
        a.uses += 1
        a.iterating = True
        loop, targets = self.choose_targets(a.maxlen)
        self.open_block("for %s in %s" % (e, a.name))
        self.loops.append(loop)
        self.declare(Val(e, a.elem_bound))
        self.stats["for_in"] += 1
        self.loop_body(loop, targets)
        self.loops.pop()
        self.close_block()
        a.iterating = False

    def array_in_loop(self):
        arrs = [a for a in self.visible("A") if a.mutable and not a.iterating
                and (a.level == len(self.loops) or id(a) in self.loops[-1].targets)]
        if not arrs:
            return self.b_let()
        a = self.rng.choice(arrs)
        e = self.expr(1)
        if a.level < len(self.loops):
            # Outer array: bound-independent writes (elem_bound was widened to 2).
            if self.rng.random() < 0.5 and a.minlen > 0:
                idx = self.rng.randrange(a.minlen)
                self.emit("%s[%d] = 0.5 * %s[%d] + tanh(%s)" % (a.name, idx, a.name, idx, e.text))
                self.stats["elem_write"] += 1
            else:
                self.emit("%s.append(tanh(%s))" % (a.name, e.text))
                trips = 1
                for lp in self.loops:
                    trips *= lp.trips
                a.maxlen += trips
                self.stats["append"] += 1
            self.stats["tanh"] += 1
        else:
            self.emit("%s.append(%s)" % (a.name, e.text))
            a.elem_bound = max(a.elem_bound, e.bound)
            a.minlen += 1
            a.maxlen += 1
            self.stats["append"] += 1

    # -- structs ------------------------------------------------------------
    def struct_args(self, sd):
        args = []
        for fld in sd.fields:
            e = self.expr(1)
            if e.bound > FIELD_BOUND:
                e = self.squash(e)
            args.append("%s: %s" % (fld, e.text))
        if sd.has_count:
            args.append("count: 0")
        return ", ".join(args)

    def b_struct(self):
        if not self.prog.structs or not self.allow_structs:
            return self.b_tuple()
        sd = self.rng.choice(self.prog.structs)
        name = self.fresh("p")
        if sd.static_make and self.rng.random() < 0.3:
            self.emit("var %s = %s.%s(v: %s)" % (name, sd.name, sd.static_make, self.arg(1).text))
            self.stats["static_fn"] += 1
        else:
            self.emit("var %s = %s(%s)" % (name, sd.name, self.struct_args(sd)))
            self.stats["struct_init"] += 1
        s = self.declare(StructVar(name, sd, True))
        for _ in range(self.rng.randint(1, 3)):
            self.struct_op(s)
        if self.rng.random() < 0.25:
            # Value semantics: a copy changed independently.
            q = self.fresh("q")
            self.emit("var %s = %s" % (q, name))
            self.stats["struct_copy"] += 1
            s2 = self.declare(StructVar(q, sd, True))
            self.struct_op(s2, write_only=True)

    def struct_op(self, s, write_only=False):
        sd = s.sdef
        r = self.rng.random()
        if r < 0.35 or write_only:
            fld = self.rng.choice(sd.fields)
            tgt = "%s.%s" % (s.name, fld)
            form = self.rng.choice([
                "{t} = 2.0 * tanh({E})", "{t} *= tanh({E})", "{t} /= 1.0 + sigmoid({E})",
                "{t} = 0.5 * {t} + sin({E})"])
            self.emit(form.format(t=tgt, E=self.expr(2).text))
            self.stats["field_write"] += 1
        elif r < 0.7:
            name, label = self.rng.choice(sd.mutating)
            self.emit("%s.%s(%s: %s)" % (s.name, name, label, self.arg(1).text))
            self.stats["mutating_call"] += 1
        else:
            c = self.fresh("m")
            e = self.call_method(1)
            self.emit("let %s = %s" % (c, e.text))
            self.declare(Val(c, e.bound))
        s.uses += 1

    def struct_in_loop(self):
        ss = [s for s in self.visible("S") if s.mutable]
        if not ss or not self.allow_structs:
            return self.b_let()
        # Struct fields stay within FIELD_BOUND whatever the trip count.
        self.struct_op(self.rng.choice(ss))

    # -- the result -----------------------------------------------------------
    def result_expr(self, max_terms=8):
        """A sum over the names in scope, so that what the body computed matters:
        first the unused values, the variables, arrays and structs (they may have
        been changed after their last read), then other values."""
        first, rest = [], []
        for fr in self.frames:
            for o in fr:
                if isinstance(o, Val) and o.active:
                    (first if o.uses == 0 or o.mutable else rest).append(Expr(o.text, o.bound, True))
                elif isinstance(o, StructVar):
                    fld = self.rng.choice(o.sdef.fields)
                    first.append(Expr("%s.%s" % (o.name, fld), FIELD_BOUND, True))
                elif isinstance(o, ArrVar) and o.minlen > 0:
                    first.append(Expr("%s[%d]" % (o.name, o.minlen - 1), o.elem_bound, True))
        self.rng.shuffle(rest)
        terms = (first + rest)[:max_terms] or [self.expr(2)]
        out = terms[0].text
        bound = terms[0].bound
        for t in terms[1:]:
            coef = self.rng.choice(["", "", "0.5 * ", "0.3 * "])
            op = self.rng.choice([" + ", " + ", " - "])
            t2 = t if t.bound <= LIMIT * 4 else self.squash(t)
            out += op + coef + t2.text
            bound += t2.bound
        return Expr(out, bound)


# ---------------------------------------------------------------------------

class Program:
    """Generates one program from one seed."""

    TOP_MENU = [
        ("let", 3), ("var", 2.5), ("update", 1), ("if", 2), ("deferred_let", 0.4),
        ("ternary", 1.2), ("while", 1.3), ("for", 2), ("early_return", 0.6),
        ("call", 2), ("recursion", 1), ("struct", 1.4), ("tuple", 1.2), ("array", 1.6),
        ("inout", 1.2),
    ]
    HELPER_MENU = [
        ("let", 3), ("var", 2), ("if", 1.5), ("ternary", 1), ("for", 1), ("while", 0.6),
        ("early_return", 0.5), ("call", 1), ("tuple", 0.5), ("array", 0.4),
    ]

    def __init__(self, seed, ad=True, conformance=True):
        self.seed = seed
        self.rng = random.Random(seed)
        self.ad = ad
        self.conformance = conformance
        self.stats = Counter()
        self.counter = 0
        self.helpers, self.recs, self.inouts, self.pairs = [], [], [], []
        self.array_makers, self.array_reducers = [], []
        self.structs, self.struct_helpers = [], {}
        self.loop_forms = {}
        self.called = Counter()   # calls of each general helper so far
        self.decls = []    # text of the top-level declarations before f

    def fresh(self, base):
        self.counter += 1
        return "%s%d" % (base, self.counter)

    def c(self, lo=0.3, hi=0.95):
        return lit(round(self.rng.uniform(lo, hi), 2))

    # -- definitions --------------------------------------------------------
    def def_recursion(self):
        name = self.fresh("rec")
        kind = self.rng.randrange(6)
        a, b = self.c(0.5, 0.9), self.c(0.2, 0.6)
        pb = PARAM_BOUND
        if kind == 0:
            src = ("fn {n}(x: Double, k: Int) -> Double {{\n"
                   "    if k == 0 {{ return x }}\n"
                   "    return sin({n}(x, k - 1)) * {a} + x\n}}").format(n=name, a=a)
            self.recs.append(RecDef(name, 1, pb + 1.0))
        elif kind == 1:
            src = ("fn {n}(x: Double, k: Int) -> Double {{ k == 0 ? x : tanh({n}(x, k - 1) * x) + {b} * x }}"
                   ).format(n=name, b=b)
            self.recs.append(RecDef(name, 1, max(pb, 1.0 + pb)))
        elif kind == 2:
            src = ("fn {n}(a: Double, b: Double, k: Int) -> Double {{\n"
                   "    if k <= 0 {{ return a * b }}\n"
                   "    return {n}(0.5 * a + tanh(b), cos(a) * b, k - 1)\n}}").format(n=name)
            self.recs.append(RecDef(name, 2, pb * pb))
        elif kind == 3:
            src = ("fn {n}(x: Double, k: Int) -> Double {{\n"
                   "    if k == 0 {{ return x }}\n"
                   "    let r = {n}(x, k - 1)\n"
                   "    return r * sigmoid(x) + {b} * cos(r)\n}}").format(n=name, b=b)
            self.recs.append(RecDef(name, 1, pb + 0.6 * NMAX))
        elif kind == 4:
            other = self.fresh("rec")
            src = ("fn {n}(x: Double, k: Int) -> Double {{\n"
                   "    if k == 0 {{ return x }}\n"
                   "    return {a} * {o}(x * 0.9, k - 1) + sin(x)\n}}\n"
                   "fn {o}(x: Double, k: Int) -> Double {{\n"
                   "    if k == 0 {{ return cos(x) }}\n"
                   "    return tanh({n}(x, k - 1)) + {b} * x\n}}").format(n=name, o=other, a=a, b=b)
            self.stats["mutual_recursion"] += 1
            self.recs.append(RecDef(name, 1, pb + 2.0))
        else:
            src = ("fn {n}(x: Double, k: Int) -> Double {{\n"
                   "    if k == 0 {{ return x }}\n"
                   "    if x > {b} {{\n"
                   "        return {n}(x - 0.7, k - 1) * {a} + 0.2\n"
                   "    }}\n"
                   "    return {n}(x * 0.6, k - 1) + sin(x)\n}}").format(n=name, a=a, b=b)
            self.stats["recursion_branch"] += 1
            self.recs.append(RecDef(name, 1, pb + NMAX + 1.0))
        self.stats["recursion_def"] += 1
        self.decls.append(src)

    def def_inout(self):
        name = self.fresh("bump")
        kind = self.rng.randrange(4)
        if kind == 0:
            body = "z = z * tanh(by) + 1.0"
            d = InoutDef(name, 1, lambda bs: [bs[0] + 1.0], "inout_assign")
        elif kind == 1:
            body = "z = %s * z + sin(by * z)" % self.c(0.3, 0.7)
            d = InoutDef(name, 1, lambda bs: [0.7 * bs[0] + 1.0], "inout_assign")
        elif kind == 2:
            body = "z += 0.3 * tanh(by)\n    z *= sigmoid(by + z)"
            d = InoutDef(name, 1, lambda bs: [bs[0] + 0.3], "inout_compound")
        else:
            src = ("fn {n}(p: inout Double, q: inout Double, w: Double) {{\n"
                   "    let t = p\n"
                   "    p = 0.6 * p + 0.4 * q\n"
                   "    q = 0.6 * q + tanh(t * w)\n}}").format(n=name)
            self.decls.append(src)
            self.inouts.append(InoutDef(name, 2, lambda bs: [max(bs), 0.6 * bs[1] + 1.0], "inout_two"))
            return
        self.decls.append("fn %s(z: inout Double, by: Double) {\n    %s\n}" % (name, body))
        self.inouts.append(d)

    def def_helper(self):
        """A general helper built with the statement generator."""
        name = self.fresh("h")
        shape = self.rng.choice(["DD", "DD", "D", "DDI", "Dlabel"])
        w = Writer(self, allow_structs=False)
        params, kinds, labels = [], [], []
        for i, k in enumerate(shape.replace("label", "L")):
            pname = "ab"[i] if k in "DL" else "m"
            if k == "D":
                params.append("%s: Double" % pname)
                kinds.append("D")
                labels.append(None)
                w.declare(Val(pname, PARAM_BOUND))
            elif k == "L":
                params.append("by %s: Double" % "s")
                kinds.append("D")
                labels.append("by")
                w.declare(Val("s", PARAM_BOUND))
                self.stats["labelled_param"] += 1
            else:
                params.append("m: Int")
                kinds.append("I")
                labels.append(None)
                w.declare(IntVar("m", NMAX))
        head = "fn %s(%s) -> Double" % (name, ", ".join(params))
        dnames = [v.text for v in w.visible("D")]
        if self.rng.random() < 0.25:
            e = w.cover(w.expr(3), dnames)
            self.decls.append("%s { %s }" % (head, e.text))
            self.stats["expression_body"] += 1
            bound = e.bound
        else:
            for _ in range(self.rng.randint(1, 3)):
                w.block(self.HELPER_MENU)
            e = w.result_expr(4)
            if e.bound > LIMIT * 4:
                e = w.squash(e)
            e = w.cover(e, [n for n in dnames if n not in _tokens("\n".join(w.lines))])
            w.emit("return " + e.text)
            self.decls.append("%s {\n%s\n}" % (head, "\n".join(w.lines)))
            bound = max(e.bound, w.ret_bound)
        self.helpers.append(HelperDef(name, kinds, bound, labels))
        self.stats["helper_def"] += 1

    def def_pair(self):
        name = self.fresh("pair")
        w = Writer(self, allow_structs=False)
        w.declare(Val("a", PARAM_BOUND))
        w.declare(Val("b", PARAM_BOUND))
        e1, e2 = w.small(2), w.small(2)
        e2 = w.squash(w.cover(e2, [n for n in ("a", "b") if n not in _tokens(e1.text)]), True)
        self.decls.append("fn %s(a: Double, b: Double) -> (Double, Double) {\n    return (%s, %s)\n}"
                          % (name, e1.text, e2.text))
        self.pairs.append(HelperDef(name, ["D", "D"], 2.0))

    def def_array_helpers(self):
        if self.rng.random() < 0.5:
            name = self.fresh("mk")
            c = self.c()
            self.decls.append(
                "fn %s(a: Double) -> [Double] {\n"
                "    var r: [Double] = []\n"
                "    for i in 0..<3 {\n"
                "        r.append(sin(a * Double(i) + %s))\n"
                "    }\n"
                "    return r\n}" % (name, c))
            self.array_makers.append(HelperDef(name, ["D"], 1.0))
        name = self.fresh("red")
        k = self.c(0.4, 0.8)
        if self.rng.random() < 0.5:
            body = ("    var s: Double = 0.0\n"
                    "    for e in v {\n"
                    "        s = %s * s + tanh(e)\n"
                    "    }\n"
                    "    return s" % k)
        else:
            body = ("    var s: Double = 0.0\n"
                    "    for i in 0..<v.count {\n"
                    "        s = %s * s + sin(v[i] * (1.0 + 0.1 * Double(i)))\n"
                    "    }\n"
                    "    return s" % k)
        self.decls.append("fn %s(v: [Double]) -> Double {\n%s\n}" % (name, body))
        self.array_reducers.append(HelperDef(name, ["A"], 1.0 / (1.0 - float(k))))

    def def_struct(self):
        name = "S%d" % (len(self.structs) + 1)
        fields = self.rng.choice([("a", "b"), ("u", "w"), ("re", "im"), ("pos", "vel")])
        has_count = self.rng.random() < 0.3
        sd = StructDef(name, fields, has_count)
        lines = ["struct %s%s {" % (name, ": Differentiable" if self.conformance else "")]
        for fld in fields:
            lines.append("    var %s: Double" % fld)
        if has_count:
            lines.append("    var count: Int")
            self.stats["struct_int_field"] += 1
        # A value method (implicit or explicit self) and one with a parameter.
        for mi in range(self.rng.randint(1, 2)):
            mname = self.rng.choice(["energy", "norm", "score", "mix"]) + str(mi + 1)
            explicit = self.rng.random() < 0.4
            w = Writer(self, allow_structs=False)
            w.callable_helpers = []
            prefix = "self." if (explicit or self.rng.random() < 0.3) else ""
            for fld in fields:
                w.declare(Val(prefix + fld, FIELD_BOUND))
            takes = self.rng.random() < 0.5
            if takes:
                w.declare(Val("t", PARAM_BOUND))
            e = w.cover(w.expr(2), ["t"] if takes else [])
            if has_count and self.rng.random() < 0.5:
                e = Expr("%s + 0.1 * tanh(Double(count))" % e.text, e.bound + 0.1)
            recv = "self" + (", " if takes else "") if explicit else ""
            plist = recv + ("t: Double" if takes else "")
            lines.append("    fn %s(%s) -> Double { return %s }" % (mname, plist, e.text))
            sd.methods.append((mname, takes, e.bound))
            if explicit:
                self.stats["explicit_self"] += 1
        # A mutating method that keeps the fields within FIELD_BOUND.
        mname = self.rng.choice(["step", "nudge", "advance"])
        label = self.rng.choice(["by", "with"])
        w = Writer(self, allow_structs=False)
        w.callable_helpers = []
        for fld in fields:
            w.declare(Val(fld, FIELD_BOUND))
        w.declare(Val("s", PARAM_BOUND))
        body = []
        for fld in fields:
            e = w.expr(1)
            form = self.rng.choice(["{f} = 0.5 * {f} + tanh({E})", "{f} *= sigmoid({E})",
                                    "{f} = 2.0 * tanh({f} + {E})"])
            body.append(form.format(f=fld, E=e.text))
        if has_count:
            body.append("count += 1")
        lines.append("    mutating fn %s(%s s: Double) {" % (mname, label))
        lines += ["        " + b for b in body]
        lines.append("    }")
        sd.mutating.append((mname, label))
        if self.rng.random() < 0.3:
            sd.static_make = "make"
            args = ", ".join("%s: %s(v)" % (f, fn) for f, fn in zip(fields, ["tanh", "sin"]))
            if has_count:
                args += ", count: 0"
            lines.append("    static fn make(v: Double) -> %s { return %s(%s) }" % (name, name, args))
        lines.append("}")
        self.decls.append("\n".join(lines))
        self.structs.append(sd)
        self.stats["struct_def"] += 1
        if self.rng.random() < 0.5:
            hname = self.fresh("use")
            mname, takes, mb = sd.methods[0]
            call = "p.%s(%s)" % (mname, "t" if takes else "")
            self.decls.append("fn %s(p: %s, t: Double) -> Double {\n    return %s * tanh(t) + p.%s\n}"
                              % (hname, name, call, fields[1]))
            self.struct_helpers[name] = HelperDef(hname, ["S", "D"], mb + FIELD_BOUND)

    # -- f and main ---------------------------------------------------------
    def signature(self):
        r = self.rng.random()
        if r < 0.40:
            params = [("x", "D"), ("y", "D")]
        elif r < 0.65:
            params = [("x", "D"), ("y", "D")]
            params.insert(self.rng.randrange(3), ("n", "I"))
            self.stats["sig_int_param"] += 1
        elif r < 0.85:
            params = [("x", "D"), ("y", "D"), ("z", "D")]
            self.stats["sig_three_doubles"] += 1
        elif r < 0.92:
            params = [("x", "D")]
            self.stats["sig_one_double"] += 1
        else:
            params = [("x", "D"), ("n", "I")]
            self.stats["sig_one_double"] += 1
            self.stats["sig_int_param"] += 1
        if len(params) == 2 and all(k == "D" for _, k in params):
            self.stats["sig_two_doubles"] += 1
        return params

    def gen_f(self, params):
        w = Writer(self)
        for pname, kind in params:
            if kind == "D":
                w.declare(Val(pname, 2.0))
            else:
                w.declare(IntVar(pname, NMAX))
        # Required blocks: use every definition at least once.
        required = []
        if self.structs:
            required.append("struct")
        if self.inouts:
            required.append("inout")
        if self.recs:
            required.append("recursion")
        if self.pairs:
            required.append("tuple")
        if self.array_makers or self.array_reducers:
            required.append("array")
        if any(k == "I" for _, k in params):
            required.append("for_n")
        nblocks = self.rng.randint(4, 7)
        names = [m for m, _ in self.TOP_MENU]
        weights = [wt for _, wt in self.TOP_MENU]
        plan = required + self.rng.choices(names, weights, k=max(0, nblocks - len(required)))
        self.rng.shuffle(plan)
        # A let first, so the parameters are mixed early.
        plan.insert(0, "let")
        for b in plan:
            getattr(w, "b_" + b)()
        for h in w.callable_helpers:
            if not self.called[h.name]:
                c = w.fresh("c")
                args = []
                for kind, label in zip(h.params, h.labels):
                    a = w.arg(1).text if kind == "D" else w.int_arg(NMAX)[0]
                    args.append(label + ": " + a if label else a)
                w.emit("let %s = %s(%s)" % (c, h.name, ", ".join(args)))
                w.declare(Val(c, h.bound))
                self.stats["call"] += 1
        e = w.result_expr(10)
        # Every Double parameter appears in the result expression or the body.
        body = "\n".join(w.lines)
        for pname, kind in params:
            if kind == "D" and pname not in e.text.split() and \
               not any(tok == pname for tok in _tokens(body)):
                e = Expr("%s + 0.5 * %s" % (e.text, pname), e.bound + 1.0)
        w.emit("return " + e.text)
        sig = ", ".join("%s: %s" % (p, "Double" if k == "D" else "Int") for p, k in params)
        return "fn f(%s) -> Double {\n%s\n}" % (sig, "\n".join(w.lines))

    def gen_main(self, params):
        dparams = [p for p, k in params if k == "D"]
        nd = len(dparams)
        npoints = self.rng.choice([2, 3, 3])
        use_vag = self.rng.random() < 0.4
        grad_let = self.ad and self.rng.random() < 0.2
        if use_vag and self.ad:
            self.stats["valueAndGrad"] += 1
        if grad_let:
            self.stats["grad_via_let"] += 1
        out = []
        # Finite differences: one function per Double parameter, with the step
        # taken exactly as (p + h) - (p - h).
        sig = ", ".join("%s: %s" % (p, "Double" if k == "D" else "Int") for p, k in params)
        for p in dparams:
            args_p = ", ".join(("%sp" % q) if q == p else q for q, _ in params)
            args_m = ", ".join(("%sm" % q) if q == p else q for q, _ in params)
            out.append(
                "fn fd_%s(%s, h: Double) -> Double {\n"
                "    let %sp = %s + h\n"
                "    let %sm = %s - h\n"
                "    return (f(%s) - f(%s)) / (%sp - %sm)\n}"
                % (p, sig, p, p, p, p, args_p, args_m, p, p))
        m = ["fn main() {",
             "    let step1: Double = 1e-6",
             "    let step2: Double = 1e-5",
             '    print("gradcheck", %d, %d)' % (npoints, nd)]
        if grad_let:
            m.append("    let df = grad(f)")
        points = []
        for pi in range(npoints):
            pt = {}
            for p, k in params:
                if k == "D":
                    while True:
                        v = round(self.rng.uniform(-1.5, 1.5), 6)
                        if abs(v) > 0.05 and all(abs(abs(v) - abs(u)) > 0.05
                                                 for u in pt.values() if isinstance(u, float)):
                            break
                    pt[p] = v
                else:
                    pt[p] = self.rng.randint(1, NMAX)
            points.append(pt)
        for pi, pt in enumerate(points):
            m.append("    // point %d" % pi)
            for p, k in params:
                if k == "D":
                    m.append("    let %s_%d: Double = %s" % (p, pi, lit(pt[p])))
                else:
                    m.append("    let %s_%d = %d" % (p, pi, pt[p]))
            args = ", ".join("%s_%d" % (p, pi) for p, _ in params)
            m.append("    let v_%d = f(%s)" % (pi, args))
            vline = ['"v"', str(pi), "v_%d" % pi]
            if self.ad:
                m.append("    let g_%d = %s(%s)" % (pi, "df" if grad_let else "grad(f)", args))
                for j in range(nd):
                    seeds = ", ".join("1.0" if i == j else "0.0" for i in range(nd))
                    m.append("    let j_%d_%d = jvp(f)(%s, %s)" % (pi, j, args, seeds))
                    vline.append("j_%d_%d.0" % (pi, j))
                if use_vag:
                    m.append("    let (vv_%d, vg_%d) = valueAndGrad(f)(%s)" % (pi, pi, args))
                    vline.append("vv_%d" % pi)
            m.append("    print(%s)" % ", ".join(vline))
            for j, p in enumerate(dparams):
                fd = "fd_%s(%s, step1), fd_%s(%s, step2)" % (p, args, p, args)
                if self.ad:
                    rev = "g_%d" % pi if nd == 1 else "g_%d.%d" % (pi, j)
                    m.append('    print("g", %d, %d, %s, j_%d_%d.1, %s)' % (pi, j, rev, pi, j, fd))
                    if use_vag:
                        vg = "vg_%d" % pi if nd == 1 else "vg_%d.%d" % (pi, j)
                        m.append('    print("w", %d, %d, %s)' % (pi, j, vg))
                else:
                    m.append('    print("g", %d, %d, "-", "-", %s)' % (pi, j, fd))
        m.append('    print("end")')
        m.append("}")
        out.append("\n".join(m))
        return out

    def generate(self):
        rng = self.rng
        # Choose which kinds of definitions this program has.
        if rng.random() < 0.45:
            self.def_struct()
        if rng.random() < 0.5:
            self.def_recursion()
        if rng.random() < 0.45:
            self.def_inout()
        if rng.random() < 0.3:
            self.def_pair()
        if rng.random() < 0.3:
            self.def_array_helpers()
        for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
            self.def_helper()
        params = self.signature()
        f_src = self.gen_f(params)
        main = self.gen_main(params)
        header = ("// gradcheck program, seed %d: regenerate with\n"
                  "//   python3 tests/gradcheck/gen.py --program %d%s%s\n"
                  % (self.seed, self.seed, "" if self.ad else " --no-ad",
                     "" if self.conformance or not self.ad else " --plain-structs"))
        return header + "\n" + "\n\n".join(self.decls + [f_src] + main) + "\n"


def _tokens(text):
    tok, out = "", []
    for ch in text:
        if ch.isalnum() or ch == "_":
            tok += ch
        else:
            if tok:
                out.append(tok)
            tok = ""
    if tok:
        out.append(tok)
    return out


def generate(seed, ad=True, plain_structs=False):
    """(source text, feature Counter) of the program with this seed."""
    p = Program(seed, ad=ad, conformance=ad and not plain_structs)
    src = p.generate()
    return src, p.stats


def format_stats(per_program, total):
    """A table: feature, programs using it, total occurrences."""
    n = len(per_program)
    present = Counter()
    for st in per_program:
        for k, v in st.items():
            if v:
                present[k] += 1
    lines = ["feature mix over %d programs (feature: programs using it, occurrences)" % n]
    for k in sorted(total, key=lambda k: (-present[k], k)):
        lines.append("  %-22s %5d  %6d" % (k, present[k], total[k]))
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1, help="run seed (default 1)")
    ap.add_argument("--count", type=int, default=300, help="number of programs (default 300)")
    ap.add_argument("--out", help="directory to write the programs into")
    ap.add_argument("--program", type=int, help="write only the program with this program seed")
    ap.add_argument("-o", dest="output", help="file for --program (default stdout)")
    ap.add_argument("--no-ad", action="store_true", help="no AD operators (primal and FD only)")
    ap.add_argument("--plain-structs", action="store_true",
                    help="declare structs without ': Differentiable'")
    ap.add_argument("--stats", action="store_true", help="print the feature mix")
    args = ap.parse_args(argv)
    ad = not args.no_ad
    if args.program is not None:
        src, st = generate(args.program, ad, args.plain_structs)
        if args.output:
            with open(args.output, "w") as fh:
                fh.write(src)
        else:
            sys.stdout.write(src)
        if args.stats:
            print(format_stats([st], st), file=sys.stderr)
        return 0
    per, total = [], Counter()
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    for i in range(args.count):
        ps = program_seed(args.seed, i)
        src, st = generate(ps, ad, args.plain_structs)
        per.append(st)
        total.update(st)
        if args.out:
            with open(os.path.join(args.out, "gc_%d.dl" % ps), "w") as fh:
                fh.write(src)
    if args.stats or not args.out:
        print(format_stats(per, total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
