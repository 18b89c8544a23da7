/* loop.c — the scalar-loop AD workload, hand-written C baseline.
 *
 *   fn loop(x0, w) { x = x0; repeat 1000 times: x = sin(x) * w + cos(x * w); return x }
 *
 * The primal is the loop itself. The gradient with respect to (x0, w) is a
 * hand-written reverse-mode pass: the forward sweep records the two local
 * partial derivatives of each step,
 *
 *   a_t = d x_{t+1} / d x_t = w * (cos(x_t) - sin(x_t * w))
 *   b_t = d x_{t+1} / d w   = sin(x_t) - x_t * sin(x_t * w)
 *
 * and the reverse sweep runs   wbar += xbar * b_t;  xbar *= a_t   from the
 * last step to the first, starting with xbar = 1, wbar = 0. This is what an
 * ideal reverse-mode AD tool would produce (a tape of 2 doubles per step, no
 * recomputation), so grad_s / primal_s here is the target ratio.
 *
 * Build:  cc -O3 -march=native loop.c -o loop -lm
 * Run:    ./loop            timing line (see bench/README.md)
 *         ./loop --check    compares the hand gradient with central finite
 *                           differences and with forward-mode derivatives
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bench_timer.h"

enum { STEPS = 1000 };

/* The workload's inputs, the same in every implementation. */
static const double X0 = 0.5;
static const double W = 1.5;

/* Calls inside one timed region shift x0 by PERTURB * (call index), so that no
 * compiler can hoist a loop-invariant call out of the timing loop. The shift
 * is far below anything the printed numbers resolve. */
static const double PERTURB = 1e-15;

static double loop_primal(double x0, double w) {
    double x = x0;
    for (int t = 0; t < STEPS; t++)
        x = sin(x) * w + cos(x * w);
    return x;
}

/* Value and gradient (d/dx0, d/dw) by hand-written reverse mode. */
static double loop_grad(double x0, double w, double *gx0, double *gw) {
    double a[STEPS], b[STEPS];
    double x = x0;
    for (int t = 0; t < STEPS; t++) {
        double s = sin(x), c = cos(x);
        double xw = x * w;
        double sw = sin(xw), cw = cos(xw);
        a[t] = w * (c - sw);
        b[t] = s - x * sw;
        x = s * w + cw;
    }
    double xbar = 1.0, wbar = 0.0;
    for (int t = STEPS - 1; t >= 0; t--) {
        wbar += xbar * b[t];
        xbar *= a[t];
    }
    *gx0 = xbar;
    *gw = wbar;
    return x;
}

/* Forward mode (tangents carried alongside the primal), used by --check only:
 * unlike finite differences it resolves d/dx0, which is tiny because the
 * iteration contracts towards a fixed point. */
static void loop_forward(double x0, double w, double *gx0, double *gw) {
    double x = x0, dx0 = 1.0, dw = 0.0;
    for (int t = 0; t < STEPS; t++) {
        double a = w * (cos(x) - sin(x * w));
        double b = sin(x) - x * sin(x * w);
        dx0 = a * dx0;
        dw = a * dw + b;
        x = sin(x) * w + cos(x * w);
    }
    *gx0 = dx0;
    *gw = dw;
}

static double body_primal(void *ctx, int reps) {
    (void)ctx;
    double sink = 0.0;
    for (int r = 0; r < reps; r++)
        sink += loop_primal(X0 + PERTURB * r, W);
    return sink;
}

static double body_grad(void *ctx, int reps) {
    (void)ctx;
    double sink = 0.0;
    for (int r = 0; r < reps; r++) {
        double g0, g1;
        loop_grad(X0 + PERTURB * r, W, &g0, &g1);
        sink += g0 + g1;
    }
    return sink;
}

static double rel_err(double got, double want) {
    double scale = fabs(want) > 1e-300 ? fabs(want) : 1.0;
    return fabs(got - want) / scale;
}

static int check(void) {
    double g0, g1, f0, f1;
    double v = loop_grad(X0, W, &g0, &g1);
    double vp = loop_primal(X0, W);
    loop_forward(X0, W, &f0, &f1);
    const double h = 1e-6;
    double fd0 = (loop_primal(X0 + h, W) - loop_primal(X0 - h, W)) / (2 * h);
    double fd1 = (loop_primal(X0, W + h) - loop_primal(X0, W - h)) / (2 * h);

    int ok = 1;
    printf("value        grad %.17g  primal %.17g\n", v, vp);
    ok &= v == vp;
    printf("d/dx0        reverse %.17g  forward %.17g  fd %.3g\n", g0, f0, fd0);
    /* The true d/dx0 is ~1e-45, far below what a difference quotient resolves:
     * check it against forward mode, and only check |fd| is tiny too. */
    ok &= rel_err(g0, f0) < 1e-10 && fabs(fd0) < 1e-8;
    printf("d/dw         reverse %.17g  forward %.17g  fd %.17g\n", g1, f1, fd1);
    ok &= rel_err(g1, f1) < 1e-10 && rel_err(g1, fd1) < 1e-6;
    printf("%s\n", ok ? "check: ok" : "check: FAILED");
    return ok ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--check") == 0)
        return check();

    double sink = 0.0;
    double primal_s = bench_time(body_primal, NULL, &sink);
    double grad_s = bench_time(body_grad, NULL, &sink);
    double g0, g1;
    double value = loop_grad(X0, W, &g0, &g1);
    printf("loop primal_s=%.6g grad_s=%.6g ratio=%.3f value=%.17g g0=%.17g g1=%.17g\n",
           primal_s, grad_s, grad_s / primal_s, value, g0, g1);
    /* Printing the sink keeps every timed call observable. */
    fprintf(stderr, "loop.c sink=%g\n", sink);
    return 0;
}
