/* bench_timer.h — the timing protocol shared by the C benchmarks.
 *
 * Every implementation of the AD benchmark (C, PyTorch, DL) times a call the
 * same way, so that their numbers can be compared:
 *
 *   1. one untimed warm-up call;
 *   2. calibration: the number of calls per timed region doubles, starting
 *      from 1, until one region takes at least BENCH_MIN_REGION_S seconds;
 *   3. BENCH_TRIALS timed regions of that many calls; the result is the
 *      fastest region divided by its number of calls (seconds per call).
 *
 * The minimum over trials is the usual estimator on a shared machine: noise
 * from other processes only ever adds time.
 */
#ifndef BENCH_TIMER_H
#define BENCH_TIMER_H

#include <time.h>

#define BENCH_MIN_REGION_S 0.05
#define BENCH_TRIALS 5

static double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A benchmark body: performs `reps` calls and returns a value depending on
 * all of them, so the compiler cannot drop any call. */
typedef double (*bench_body)(void *ctx, int reps);

/* Seconds per call of `body`, by the protocol above. `sink` accumulates the
 * bodies' results; the caller prints it (or otherwise uses it). */
static double bench_time(bench_body body, void *ctx, double *sink) {
    *sink += body(ctx, 1); /* warm-up */
    int reps = 1;
    for (;;) {
        double t0 = bench_now();
        *sink += body(ctx, reps);
        double t = bench_now() - t0;
        if (t >= BENCH_MIN_REGION_S)
            break;
        reps *= 2;
    }
    double best = 1e300;
    for (int trial = 0; trial < BENCH_TRIALS; trial++) {
        double t0 = bench_now();
        *sink += body(ctx, reps);
        double t = (bench_now() - t0) / reps;
        if (t < best)
            best = t;
    }
    return best;
}

#endif /* BENCH_TIMER_H */
