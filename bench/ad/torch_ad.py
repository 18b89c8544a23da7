#!/usr/bin/python3
"""PyTorch autograd implementation of the AD benchmark (bench/README.md).

Run with Debian's interpreter, which is where Debian's python3-torch installs:

    /usr/bin/python3 bench/ad/torch_ad.py [--tuned-malloc] [loop|gmm]...

--tuned-malloc stops glibc from returning freed memory to the kernel (see
tune_malloc); without it the GMM times are dominated by page faults.

Each workload is written the way a PyTorch user would write it:

* loop: a Python loop over 0-d float64 tensors, gradient by
  torch.autograd.grad; one intra-op thread (a scalar op cannot use more).
* gmm:  vectorized float64 tensor code over all points and components at once,
  gradient by torch.autograd.grad; timed with one thread, and again with the
  default thread count when that differs.

"primal" is the same code under torch.no_grad(); "grad" records the tape and
runs the backward pass (value and gradient together, as `grad` in DL and the
hand-written C gradient produce).

Timing follows bench_timer.h: a warm-up call, the calls per timed region
doubled until a region takes >= 50 ms, then the fastest of 5 regions, reported
in seconds per call. Call r of a region shifts one input by 1e-15 * r, as the C
and DL versions do.
"""

import ctypes
import math
import sys
import time

import torch

MIN_REGION_S = 0.05
TRIALS = 5
PERTURB = 1e-15
F64 = torch.float64


def bench_time(body):
    """Seconds per call of body(reps), by the protocol of bench_timer.h."""
    body(1)
    reps = 1
    while True:
        t0 = time.perf_counter()
        body(reps)
        if time.perf_counter() - t0 >= MIN_REGION_S:
            break
        reps *= 2
    best = math.inf
    for _ in range(TRIALS):
        t0 = time.perf_counter()
        body(reps)
        best = min(best, (time.perf_counter() - t0) / reps)
    return best


def tune_malloc():
    """Keep freed memory in the process instead of returning it to the kernel.

    With glibc's defaults, every tensor of a few MB is a fresh mmap (or heap
    top that is trimmed on free), so each GMM call pays page faults for all of
    its [n, K, d] temporaries. On this VM that costs 5-10x and makes the times
    bimodal. Raising the mmap threshold to its maximum (32 MiB on 64-bit) and
    never trimming the heap removes that: memory is reused from call to call,
    as a caching allocator would. Equivalent to running with
    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824.
    """
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    if not (libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) and libc.mallopt(M_TRIM_THRESHOLD, 1 << 30)):
        sys.exit("torch_ad.py: mallopt failed")


# ---------------------------------------------------------------------------
# (a) scalar loop

LOOP_STEPS = 1000
LOOP_X0 = 0.5
LOOP_W = 1.5


def loop(x0, w):
    x = x0
    for _ in range(LOOP_STEPS):
        x = torch.sin(x) * w + torch.cos(x * w)
    return x


def loop_value_and_grad(x0, w):
    x0 = torch.tensor(x0, dtype=F64, requires_grad=True)
    w = torch.tensor(w, dtype=F64, requires_grad=True)
    y = loop(x0, w)
    g0, g1 = torch.autograd.grad(y, (x0, w))
    return y.item(), g0.item(), g1.item()


def bench_loop(malloc):
    torch.set_num_threads(1)

    def primal(reps):
        with torch.no_grad():
            w = torch.tensor(LOOP_W, dtype=F64)
            for r in range(reps):
                loop(torch.tensor(LOOP_X0 + PERTURB * r, dtype=F64), w).item()

    def grad(reps):
        for r in range(reps):
            loop_value_and_grad(LOOP_X0 + PERTURB * r, LOOP_W)

    primal_s = bench_time(primal)
    grad_s = bench_time(grad)
    value, g0, g1 = loop_value_and_grad(LOOP_X0, LOOP_W)
    print(f"loop primal_s={primal_s:.6g} grad_s={grad_s:.6g} ratio={grad_s / primal_s:.3f} "
          f"value={value!r} g0={g0!r} g1={g1!r} threads=1 malloc={malloc}", flush=True)


# ---------------------------------------------------------------------------
# (b) GMM objective of ADBench; see gmm.c for the definition

D, K, N = 10, 25, 1000
ICF = D * (D + 1) // 2
WISHART_GAMMA = 1.0
WISHART_M = 0


def gmm_inputs():
    """The fixed formulas of gmm.c's gen_inputs, evaluated with libm's sin and
    cos (math.*) so the inputs are bit-identical to the C and DL ones."""
    x = [math.sin(0.37 * j + 0.1) for j in range(N * D)]
    alphas = [0.5 * math.sin(1.3 * j + 0.2) for j in range(K)]
    means = [math.sin(0.71 * j + 0.3) for j in range(K * D)]
    icf = [0.3 * math.cos(0.53 * j + 0.7) for j in range(K * ICF)]
    return (torch.tensor(alphas, dtype=F64),
            torch.tensor(means, dtype=F64).reshape(K, D),
            torch.tensor(icf, dtype=F64).reshape(K, ICF),
            torch.tensor(x, dtype=F64).reshape(N, D))


def log_gamma_half_int(a):
    """log Gamma(a) for a a positive multiple of 1/2 (as in gmm.c)."""
    s = 0.0
    while a > 1.25:
        a -= 1.0
        s += math.log(a)
    if a < 0.75:
        s += 0.5 * math.log(math.pi)
    return s


def gmm_constant():
    """The parameter-independent part of the objective: C - K * Cw."""
    nw = D + WISHART_M + 1
    log_multigamma = 0.25 * D * (D - 1) * math.log(math.pi) + sum(
        log_gamma_half_int(0.5 * nw + 0.5 * (1 - j)) for j in range(1, D + 1))
    cw = nw * D * (math.log(WISHART_GAMMA) - 0.5 * math.log(2.0)) - log_multigamma
    return -0.5 * N * D * math.log(2.0 * math.pi) - K * cw


# Row and column of each strictly-lower entry of Q_k, in icf's column-major order.
_LOWER_ROWS, _LOWER_COLS = zip(*[(r, c) for c in range(D) for r in range(c + 1, D)])
LOWER_ROWS = torch.tensor(_LOWER_ROWS)
LOWER_COLS = torch.tensor(_LOWER_COLS)
GMM_CONSTANT = gmm_constant()


def gmm(alphas, means, icf, x):
    """The GMM objective, vectorized over points and components."""
    logdiag = icf[:, :D]                                  # [K, d]
    lower = icf[:, D:]                                    # [K, d(d-1)/2]
    qdiag = torch.exp(logdiag)
    sumq = logdiag.sum(1)                                 # [K]
    # Strictly-lower part of Q_k as dense [K, d, d] matrices.
    L = torch.zeros(K, D, D, dtype=icf.dtype)
    L[:, LOWER_ROWS, LOWER_COLS] = lower
    z = x[:, None, :] - means[None, :, :]                 # [n, K, d]
    y = qdiag * z + torch.einsum("krc,nkc->nkr", L, z)    # Q_k (x_i - mu_k)
    terms = alphas + sumq - 0.5 * (y * y).sum(2)          # [n, K]
    slse = torch.logsumexp(terms, 1).sum()
    prior = (0.5 * WISHART_GAMMA ** 2 * ((qdiag * qdiag).sum() + (lower * lower).sum())
             - WISHART_M * sumq.sum())
    return GMM_CONSTANT + slse - N * torch.logsumexp(alphas, 0) + prior


def gmm_value_and_grad(alphas, means, icf, x):
    params = [p.detach().requires_grad_() for p in (alphas, means, icf)]
    f = gmm(*params, x)
    ga, gm, gq = torch.autograd.grad(f, params)
    return f, ga, gm, gq


def bench_gmm(threads, malloc):
    torch.set_num_threads(threads)
    alphas, means, icf, x = gmm_inputs()
    # Call r of a region shifts alphas[0] by PERTURB * r, as gmm.c does.
    shift = torch.zeros(K, dtype=F64)

    def shifted(r):
        shift[0] = PERTURB * r
        return alphas + shift

    def primal(reps):
        with torch.no_grad():
            for r in range(reps):
                gmm(shifted(r), means, icf, x).item()

    def grad(reps):
        for r in range(reps):
            gmm_value_and_grad(shifted(r), means, icf, x)

    primal_s = bench_time(primal)
    grad_s = bench_time(grad)
    f, ga, gm, gq = gmm_value_and_grad(alphas, means, icf, x)
    print(f"gmm primal_s={primal_s:.6g} grad_s={grad_s:.6g} ratio={grad_s / primal_s:.3f} "
          f"value={f.item()!r} ga0={ga[0].item()!r} gm0={gm[0, 0].item()!r} "
          f"gq0={gq[0, 0].item()!r} ga_norm={ga.norm().item()!r} gm_norm={gm.norm().item()!r} "
          f"gq_norm={gq.norm().item()!r} threads={threads} malloc={malloc}", flush=True)


def main():
    args = sys.argv[1:]
    malloc = "default"
    if "--tuned-malloc" in args:
        args.remove("--tuned-malloc")
        tune_malloc()
        malloc = "tuned"
    default_threads = torch.get_num_threads()
    for name in args or ["loop", "gmm"]:
        if name == "loop":
            bench_loop(malloc)
        elif name == "gmm":
            bench_gmm(1, malloc)
            if default_threads != 1:
                bench_gmm(default_threads, malloc)
        else:
            sys.exit(f"usage: torch_ad.py [--tuned-malloc] [loop|gmm]...  (unknown '{name}')")


if __name__ == "__main__":
    main()
