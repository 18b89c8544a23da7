/* Tensor reductions (over all elements or one axis) and the broadcast
 * adjoints sum_to and broadcast_to. Float sums use NumPy's pairwise
 * summation along a contiguous run and plain row-by-row accumulation across
 * rows, as numpy.sum does, so results agree with NumPy and PyTorch to the
 * last few bits rather than drifting like a running float sum. */
#include "runtime/tensor_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const reduceNames[DLRT_REDUCE_COUNT] = {
    [DLRT_SUM] = "sum",  [DLRT_MEAN] = "mean",     [DLRT_RMAX] = "max",
    [DLRT_RMIN] = "min", [DLRT_ARGMAX] = "argmax", [DLRT_LOGSUMEXP] = "logSumExp",
};

/* Blocks of up to 128 are summed with 8 interleaved accumulators; longer
 * runs split in halves (at a multiple of 8), so the rounding error grows
 * with log n. Starting from -0.0 keeps the sum of negative zeros -0. */
#define PAIRWISE_SUM(NAME, T)                                                                      \
  T NAME(const T *x, int64_t n) {                                                                  \
    if (n < 8) {                                                                                   \
      T s = (T)-0.0;                                                                               \
      for (int64_t i = 0; i < n; ++i)                                                              \
        s += x[i];                                                                                 \
      return s;                                                                                    \
    }                                                                                              \
    if (n <= 128) {                                                                                \
      T r[8];                                                                                      \
      for (int j = 0; j < 8; ++j)                                                                  \
        r[j] = x[j];                                                                               \
      int64_t i = 8;                                                                               \
      for (; i < n - n % 8; i += 8)                                                                \
        for (int j = 0; j < 8; ++j)                                                                \
          r[j] += x[i + j];                                                                        \
      T s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));                     \
      for (; i < n; ++i)                                                                           \
        s += x[i];                                                                                 \
      return s;                                                                                    \
    }                                                                                              \
    int64_t half = n / 2;                                                                          \
    half -= half % 8;                                                                              \
    return NAME(x, half) + NAME(x + half, n - half);                                               \
  }

PAIRWISE_SUM(dlrtSumF32, float)
PAIRWISE_SUM(dlrtSumF64, double)

static int64_t sumI64(const int64_t *x, int64_t n) {
  uint64_t s = 0; /* wraps, like the elementwise Int operations */
  for (int64_t i = 0; i < n; ++i)
    s += (uint64_t)x[i];
  return (int64_t)s;
}

static DLRT_NORETURN void failEmpty(const char *loc) {
  dlrt_fail(loc, "reduction of an empty tensor");
}

static void checkReduce(int32_t op, const DlTensor *a, const char *loc) {
  if (op < 0 || op >= DLRT_REDUCE_COUNT)
    dlrt_fail(loc, "internal error: unknown tensor reduction");
  bool defined =
      a->kind == DLRT_F32 || a->kind == DLRT_F64 || (a->kind == DLRT_I64 && op != DLRT_LOGSUMEXP);
  if (!defined)
    dlrtFailKind(loc, reduceNames[op], a->kind);
}

/* --- Over all elements ------------------------------------------------------------ */

/* max/min of a run, NaN if any element is NaN (as numpy.max). Kept in 32
 * interleaved lanes: gcc does not vectorize a conditional reduction into
 * one variable, but does vectorize this elementwise update of the lanes
 * (4x faster). Once a lane holds NaN no comparison replaces it. */
#define EXTREMUM_RUN(NAME, T, CMP)                                                                 \
  static T NAME(const T *x, int64_t n) {                                                           \
    enum { kLanes = 32 };                                                                          \
    T m = x[0];                                                                                    \
    int64_t i = 0;                                                                                 \
    if (n >= 2 * kLanes) {                                                                         \
      T lane[kLanes];                                                                              \
      for (int j = 0; j < kLanes; ++j)                                                             \
        lane[j] = x[j];                                                                            \
      for (i = kLanes; i + kLanes <= n; i += kLanes)                                               \
        for (int j = 0; j < kLanes; ++j) {                                                         \
          T v = x[i + j];                                                                          \
          lane[j] = (v CMP lane[j] || v != v) ? v : lane[j];                                       \
        }                                                                                          \
      for (int j = 0; j < kLanes; ++j) {                                                           \
        T v = lane[j];                                                                             \
        m = (v CMP m || v != v) ? v : m;                                                           \
      }                                                                                            \
    }                                                                                              \
    for (; i < n; ++i) {                                                                           \
      T v = x[i];                                                                                  \
      m = (v CMP m || v != v) ? v : m;                                                             \
    }                                                                                              \
    return m;                                                                                      \
  }

EXTREMUM_RUN(maxF32, float, >)
EXTREMUM_RUN(minF32, float, <)
EXTREMUM_RUN(maxF64, double, >)
EXTREMUM_RUN(minF64, double, <)
EXTREMUM_RUN(maxI64, int64_t, >)
EXTREMUM_RUN(minI64, int64_t, <)

/* The first index of the maximum; the first NaN wins over everything, as in
 * numpy.argmax. */
#define ARGMAX_RUN(NAME, T)                                                                        \
  static int64_t NAME(const T *x, int64_t n, int64_t stride) {                                     \
    int64_t best = 0;                                                                              \
    T m = x[0];                                                                                    \
    for (int64_t i = 0; i < n; ++i) {                                                              \
      T v = x[i * stride];                                                                         \
      if (v != v)                                                                                  \
        return i;                                                                                  \
      if (v > m) {                                                                                 \
        m = v;                                                                                     \
        best = i;                                                                                  \
      }                                                                                            \
    }                                                                                              \
    return best;                                                                                   \
  }

ARGMAX_RUN(argmaxF32, float)
ARGMAX_RUN(argmaxF64, double)
ARGMAX_RUN(argmaxI64, int64_t)

/* log(sum(exp(x))) shifted by the maximum so no exp overflows; an infinite
 * or NaN maximum is not subtracted (that would make inf - inf = NaN), which
 * gives -inf for all -inf, inf for any inf, NaN for any NaN. The exps are
 * summed in double, in four sums to keep the additions independent. */
#define LOGSUMEXP_RUN(NAME, T, S, MAX)                                                             \
  static T NAME(const T *x, int64_t n) {                                                           \
    T m = MAX(x, n);                                                                               \
    T shift = isfinite(m) ? m : (T)0;                                                              \
    double s[4] = {0, 0, 0, 0};                                                                    \
    int64_t i = 0;                                                                                 \
    for (; i + 4 <= n; i += 4)                                                                     \
      for (int j = 0; j < 4; ++j)                                                                  \
        s[j] += exp##S(x[i + j] - shift);                                                          \
    for (; i < n; ++i)                                                                             \
      s[0] += exp##S(x[i] - shift);                                                                \
    return (T)((double)shift + log((s[0] + s[1]) + (s[2] + s[3])));                                \
  }

LOGSUMEXP_RUN(logSumExpF32, float, f, maxF32)
LOGSUMEXP_RUN(logSumExpF64, double, , maxF64)

double dlrt_t_reduce_all(int32_t op, const DlTensor *a, const char *loc) {
  if (!a) {
    if (op == DLRT_SUM || op == DLRT_MEAN)
      return 0;
    dlrtFailZero(loc, op >= 0 && op < DLRT_REDUCE_COUNT ? reduceNames[op] : "reduce");
  }
  checkReduce(op, a, loc);
  int64_t n = a->count;
  if (n == 0 && op != DLRT_SUM)
    failEmpty(loc);
  const void *x = a->data;
  switch (a->kind) {
  case DLRT_F32:
    switch (op) {
    case DLRT_SUM:
      return dlrtSumF32(x, n);
    case DLRT_MEAN:
      return dlrtSumF32(x, n) / (float)n;
    case DLRT_RMAX:
      return maxF32(x, n);
    case DLRT_RMIN:
      return minF32(x, n);
    case DLRT_ARGMAX:
      return (double)argmaxF32(x, n, 1);
    case DLRT_LOGSUMEXP:
      return logSumExpF32(x, n);
    }
    break;
  case DLRT_F64:
    switch (op) {
    case DLRT_SUM:
      return dlrtSumF64(x, n);
    case DLRT_MEAN:
      return dlrtSumF64(x, n) / (double)n;
    case DLRT_RMAX:
      return maxF64(x, n);
    case DLRT_RMIN:
      return minF64(x, n);
    case DLRT_ARGMAX:
      return (double)argmaxF64(x, n, 1);
    case DLRT_LOGSUMEXP:
      return logSumExpF64(x, n);
    }
    break;
  case DLRT_I64:
    switch (op) {
    case DLRT_SUM:
      return (double)sumI64(x, n);
    case DLRT_MEAN:
      return (double)sumI64(x, n) / (double)n;
    case DLRT_RMAX:
      return (double)maxI64(x, n);
    case DLRT_RMIN:
      return (double)minI64(x, n);
    case DLRT_ARGMAX:
      return (double)argmaxI64(x, n, 1);
    }
    break;
  }
  return 0;
}

/* --- Over one axis ----------------------------------------------------------------
 * The tensor is viewed as [outer, n, inner] with n the reduced axis. When
 * inner is 1 each output element reduces a contiguous run; otherwise whole
 * rows of `inner` elements are combined into the output row, a loop over
 * contiguous memory the compiler vectorizes. */

#define SUM_AXIS(NAME, T, ROW_SUM)                                                                 \
  static void NAME(const T *x, T *out, int64_t outer, int64_t n, int64_t inner) {                  \
    for (int64_t o = 0; o < outer; ++o) {                                                          \
      const T *xo = x + o * n * inner;                                                             \
      T *restrict oo = out + o * inner;                                                            \
      if (inner == 1) {                                                                            \
        oo[0] = ROW_SUM(xo, n);                                                                    \
        continue;                                                                                  \
      }                                                                                            \
      for (int64_t j = 0; j < inner; ++j)                                                          \
        oo[j] = 0;                                                                                 \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        const T *restrict row = xo + i * inner;                                                    \
        for (int64_t j = 0; j < inner; ++j)                                                        \
          oo[j] += row[j];                                                                         \
      }                                                                                            \
    }                                                                                              \
  }

static void sumAxisI64(const int64_t *x, int64_t *out, int64_t outer, int64_t n, int64_t inner) {
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t *xo = x + o * n * inner;
    uint64_t *restrict oo = (uint64_t *)(out + o * inner);
    for (int64_t j = 0; j < inner; ++j)
      oo[j] = 0;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t *restrict row = xo + i * inner;
      for (int64_t j = 0; j < inner; ++j)
        oo[j] += (uint64_t)row[j];
    }
  }
}

SUM_AXIS(sumAxisF32, float, dlrtSumF32)
SUM_AXIS(sumAxisF64, double, dlrtSumF64)

/* max/min over the axis, propagating NaN: once an output is NaN no
 * comparison replaces it. */
#define EXTREMUM_AXIS(NAME, T, CMP, ROW)                                                           \
  static void NAME(const T *x, T *out, int64_t outer, int64_t n, int64_t inner) {                  \
    for (int64_t o = 0; o < outer; ++o) {                                                          \
      const T *xo = x + o * n * inner;                                                             \
      T *restrict oo = out + o * inner;                                                            \
      if (inner == 1) {                                                                            \
        oo[0] = ROW(xo, n);                                                                        \
        continue;                                                                                  \
      }                                                                                            \
      for (int64_t j = 0; j < inner; ++j)                                                          \
        oo[j] = xo[j];                                                                             \
      for (int64_t i = 1; i < n; ++i) {                                                            \
        const T *restrict row = xo + i * inner;                                                    \
        for (int64_t j = 0; j < inner; ++j) {                                                      \
          T v = row[j], m = oo[j];                                                                 \
          oo[j] = (v CMP m || v != v) ? v : m;                                                     \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

EXTREMUM_AXIS(maxAxisF32, float, >, maxF32)
EXTREMUM_AXIS(minAxisF32, float, <, minF32)
EXTREMUM_AXIS(maxAxisF64, double, >, maxF64)
EXTREMUM_AXIS(minAxisF64, double, <, minF64)
EXTREMUM_AXIS(maxAxisI64, int64_t, >, maxI64)
EXTREMUM_AXIS(minAxisI64, int64_t, <, minI64)

/* argmax: one strided run per output element (rarely taken over a leading
 * axis of a big tensor). */
#define ARGMAX_AXIS(NAME, T, RUN)                                                                  \
  static void NAME(const T *x, int64_t *out, int64_t outer, int64_t n, int64_t inner) {            \
    for (int64_t o = 0; o < outer; ++o)                                                            \
      for (int64_t j = 0; j < inner; ++j)                                                          \
        out[o * inner + j] = RUN(x + o * n * inner + j, n, inner);                                 \
  }

ARGMAX_AXIS(argmaxAxisF32, float, argmaxF32)
ARGMAX_AXIS(argmaxAxisF64, double, argmaxF64)
ARGMAX_AXIS(argmaxAxisI64, int64_t, argmaxI64)

/* logsumexp over the axis: the maxima first (as for max), then the shifted
 * exps of each row summed into a double per output, then the log. */
#define LOGSUMEXP_AXIS(NAME, T, S, MAX_AXIS, RUN)                                                  \
  static void NAME(const T *x, T *out, int64_t outer, int64_t n, int64_t inner) {                  \
    if (inner == 1) {                                                                              \
      for (int64_t o = 0; o < outer; ++o)                                                          \
        out[o] = RUN(x + o * n, n);                                                                \
      return;                                                                                      \
    }                                                                                              \
    MAX_AXIS(x, out, outer, n, inner);                                                             \
    double *sums = malloc((size_t)inner * sizeof(double));                                         \
    if (!sums)                                                                                     \
      dlrt_fail("<runtime>", "out of memory");                                                     \
    for (int64_t o = 0; o < outer; ++o) {                                                          \
      const T *xo = x + o * n * inner;                                                             \
      T *restrict shift = out + o * inner;                                                         \
      for (int64_t j = 0; j < inner; ++j) {                                                        \
        shift[j] = isfinite(shift[j]) ? shift[j] : (T)0;                                           \
        sums[j] = 0;                                                                               \
      }                                                                                            \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        const T *restrict row = xo + i * inner;                                                    \
        for (int64_t j = 0; j < inner; ++j)                                                        \
          sums[j] += exp##S(row[j] - shift[j]);                                                    \
      }                                                                                            \
      for (int64_t j = 0; j < inner; ++j)                                                          \
        shift[j] = (T)((double)shift[j] + log(sums[j]));                                           \
    }                                                                                              \
    free(sums);                                                                                    \
  }

LOGSUMEXP_AXIS(logSumExpAxisF32, float, f, maxAxisF32, logSumExpF32)
LOGSUMEXP_AXIS(logSumExpAxisF64, double, , maxAxisF64, logSumExpF64)

DlTensor *dlrt_t_reduce(int32_t op, const DlTensor *a, int64_t axis, bool keepDims,
                        const char *loc) {
  if (!a) {
    if (op == DLRT_SUM || op == DLRT_MEAN)
      return NULL;
    dlrtFailZero(loc, op >= 0 && op < DLRT_REDUCE_COUNT ? reduceNames[op] : "reduce");
  }
  checkReduce(op, a, loc);
  int32_t ax = dlrtAxis(axis, a->rank, loc);
  int64_t outer = 1, inner = 1, n = a->shape[ax];
  for (int32_t i = 0; i < ax; ++i)
    outer *= a->shape[i];
  for (int32_t i = ax + 1; i < a->rank; ++i)
    inner *= a->shape[i];
  if (n == 0 && op != DLRT_SUM)
    failEmpty(loc);
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = 0;
  for (int32_t i = 0; i < a->rank; ++i) {
    if (i != ax)
      shape[rank++] = a->shape[i];
    else if (keepDims)
      shape[rank++] = 1;
  }
  DlTensor *r = dlrtTensorNew(op == DLRT_ARGMAX ? DLRT_I64 : a->kind, rank, shape);
  const void *x = a->data;
  void *out = r->data;
  switch (a->kind) {
  case DLRT_F32:
    switch (op) {
    case DLRT_SUM:
      sumAxisF32(x, out, outer, n, inner);
      break;
    case DLRT_MEAN: {
      sumAxisF32(x, out, outer, n, inner);
      float *o = out;
      for (int64_t i = 0; i < r->count; ++i)
        o[i] /= (float)n;
      break;
    }
    case DLRT_RMAX:
      maxAxisF32(x, out, outer, n, inner);
      break;
    case DLRT_RMIN:
      minAxisF32(x, out, outer, n, inner);
      break;
    case DLRT_ARGMAX:
      argmaxAxisF32(x, out, outer, n, inner);
      break;
    case DLRT_LOGSUMEXP:
      logSumExpAxisF32(x, out, outer, n, inner);
      break;
    }
    break;
  case DLRT_F64:
    switch (op) {
    case DLRT_SUM:
      sumAxisF64(x, out, outer, n, inner);
      break;
    case DLRT_MEAN: {
      sumAxisF64(x, out, outer, n, inner);
      double *o = out;
      for (int64_t i = 0; i < r->count; ++i)
        o[i] /= (double)n;
      break;
    }
    case DLRT_RMAX:
      maxAxisF64(x, out, outer, n, inner);
      break;
    case DLRT_RMIN:
      minAxisF64(x, out, outer, n, inner);
      break;
    case DLRT_ARGMAX:
      argmaxAxisF64(x, out, outer, n, inner);
      break;
    case DLRT_LOGSUMEXP:
      logSumExpAxisF64(x, out, outer, n, inner);
      break;
    }
    break;
  case DLRT_I64:
    switch (op) {
    case DLRT_SUM:
      sumAxisI64(x, out, outer, n, inner);
      break;
    case DLRT_MEAN: { /* truncating, as Int division */
      sumAxisI64(x, out, outer, n, inner);
      int64_t *o = out;
      for (int64_t i = 0; i < r->count; ++i)
        o[i] /= n;
      break;
    }
    case DLRT_RMAX:
      maxAxisI64(x, out, outer, n, inner);
      break;
    case DLRT_RMIN:
      minAxisI64(x, out, outer, n, inner);
      break;
    case DLRT_ARGMAX:
      argmaxAxisI64(x, out, outer, n, inner);
      break;
    }
    break;
  }
  return r;
}

/* --- Broadcast adjoints ---------------------------------------------------------- */

/* Whether `small` broadcasts to `big`'s shape. */
static bool broadcastsTo(const DlTensor *small, const DlTensor *big) {
  if (small->rank > big->rank)
    return false;
  int32_t lead = big->rank - small->rank;
  for (int32_t i = 0; i < small->rank; ++i)
    if (small->shape[i] != 1 && small->shape[i] != big->shape[lead + i])
      return false;
  return true;
}

/* Adds each run of g into r: a run along which r is broadcast is summed
 * into one element, any other is added elementwise. */
#define SUM_TO_RUNS(NAME, T, ROW_SUM)                                                              \
  static void NAME(DlrtWalk *w, const T *g, T *r) {                                                \
    int64_t n = dlrtWalkRunLength(w);                                                              \
    bool reduced = dlrtWalkRunStride(w, 1) == 0;                                                   \
    for (int64_t run = 0; run < w->runs; ++run, dlrtWalkNext(w)) {                                 \
      const T *restrict in = g + w->offset[0];                                                     \
      T *restrict out = r + w->offset[1];                                                          \
      if (reduced) {                                                                               \
        out[0] += ROW_SUM(in, n);                                                                  \
        continue;                                                                                  \
      }                                                                                            \
      for (int64_t j = 0; j < n; ++j)                                                              \
        out[j] += in[j];                                                                           \
    }                                                                                              \
  }

SUM_TO_RUNS(sumToF32, float, dlrtSumF32)
SUM_TO_RUNS(sumToF64, double, dlrtSumF64)

static void sumToI64(DlrtWalk *w, const int64_t *g, int64_t *r) {
  int64_t n = dlrtWalkRunLength(w);
  bool reduced = dlrtWalkRunStride(w, 1) == 0;
  for (int64_t run = 0; run < w->runs; ++run, dlrtWalkNext(w)) {
    const int64_t *restrict in = g + w->offset[0];
    uint64_t *restrict out = (uint64_t *)(r + w->offset[1]);
    if (reduced) {
      out[0] += (uint64_t)sumI64(in, n);
      continue;
    }
    for (int64_t j = 0; j < n; ++j)
      out[j] += (uint64_t)in[j];
  }
}

DlTensor *dlrt_t_sum_to(const DlTensor *g, const DlTensor *like, const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "sum_to");
  if (!broadcastsTo(like, g))
    dlrtFailShapes(loc, "sum_to", g->rank, g->shape, like->rank, like->shape);
  if (dlrtSameShape(g, like))
    return dlrtTensorRetained(g);
  if (g->kind != DLRT_F32 && g->kind != DLRT_F64 && g->kind != DLRT_I64)
    dlrtFailKind(loc, "sum_to", g->kind);
  DlTensor *r = dlrtTensorZeros(g->kind, like->rank, like->shape);
  const int32_t ranks[2] = {g->rank, like->rank};
  const int64_t *shapes[2] = {g->shape, like->shape};
  DlrtWalk w;
  dlrtWalkInit(&w, g->rank, g->shape, 2, ranks, shapes);
  switch (g->kind) {
  case DLRT_F32:
    sumToF32(&w, g->data, r->data);
    break;
  case DLRT_F64:
    sumToF64(&w, g->data, r->data);
    break;
  case DLRT_I64:
    sumToI64(&w, g->data, r->data);
    break;
  }
  return r;
}

#define FILL_RUN(T)                                                                                \
  do {                                                                                             \
    T *restrict o = (T *)out;                                                                      \
    T v = *(const T *)in;                                                                          \
    for (int64_t j = 0; j < n; ++j)                                                                \
      o[j] = v;                                                                                    \
  } while (0)

/* a, viewed with the shape rank/shape (its own, or with a size-1 axis put
 * back), copied out to like's shape. */
static DlTensor *broadcastView(const DlTensor *a, int32_t rank, const int64_t *shape,
                               const DlTensor *like) {
  DlTensor *r = dlrtTensorNew(a->kind, like->rank, like->shape);
  const int32_t ranks[2] = {r->rank, rank};
  const int64_t *shapes[2] = {r->shape, shape};
  DlrtWalk w;
  dlrtWalkInit(&w, r->rank, r->shape, 2, ranks, shapes);
  int64_t n = dlrtWalkRunLength(&w);
  int64_t size = dlrtKindSize(a->kind);
  bool copies = dlrtWalkRunStride(&w, 1) != 0;
  for (int64_t run = 0; run < w.runs; ++run, dlrtWalkNext(&w)) {
    char *out = (char *)r->data + w.offset[0] * size;
    const char *in = (const char *)a->data + w.offset[1] * size;
    if (copies)
      memcpy(out, in, (size_t)(n * size));
    else if (size == 1)
      memset(out, *in, (size_t)n);
    else if (size == 4)
      FILL_RUN(uint32_t);
    else
      FILL_RUN(uint64_t);
  }
  return r;
}

DlTensor *dlrt_t_broadcast_to(const DlTensor *a, const DlTensor *like, const char *loc) {
  if (!a || !like)
    return NULL; /* a zero tangent broadcasts to a zero tangent; a NULL like: see dlrt.h */
  dlrtRequire(like, loc, "broadcast_to");
  if (!broadcastsTo(a, like))
    dlrtFailShapes(loc, "broadcast_to", a->rank, a->shape, like->rank, like->shape);
  if (dlrtSameShape(a, like))
    return dlrtTensorRetained(a);
  return broadcastView(a, a->rank, a->shape, like);
}

DlTensor *dlrt_t_expand_axis(const DlTensor *g, const DlTensor *like, int64_t axis,
                             const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "expand_axis");
  int32_t ax = dlrtAxis(axis, like->rank, loc);
  /* g's shape must be like's with the axis of size 1 (kept) or left out. */
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, like->shape, sizeof shape);
  shape[ax] = 1;
  bool kept = g->rank == like->rank;
  bool matches = kept || g->rank == like->rank - 1;
  for (int32_t i = 0, j = 0; i < like->rank && matches; ++i) {
    if (i == ax && !kept)
      continue;
    matches = g->shape[j++] == shape[i];
  }
  if (!matches)
    dlrtFailShapes(loc, "expand_axis", g->rank, g->shape, like->rank, like->shape);
  return broadcastView(g, like->rank, shape, like);
}
