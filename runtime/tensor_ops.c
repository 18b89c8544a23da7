/* Elementwise tensor operations: unary math, binary arithmetic and
 * comparisons with NumPy broadcasting, and where(c, a, b). Every loop is
 * written out per element kind with its operation inlined (macros generate
 * them), so the compiler vectorizes what it can; dispatch on the operation
 * and the kind happens once per call, or once per run of the innermost axis
 * when operands broadcast.
 *
 * Large operations are split across the thread pool (threads.c) by ranges of
 * the flat output: every element is computed by the same code whatever the
 * split, so results are bit-identical with any number of threads. All checks
 * that can fail happen before the split, on the calling thread. */
#include "runtime/tensor_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* --- Splitting ------------------------------------------------------------------ */

/* Elements per unit of the parallel split: ranges then start at multiples of
 * 64 elements, which are 64-byte boundaries of every output (the buffers are
 * 64-byte aligned), so threads never write to one cache line and each
 * range's vector loop starts aligned. */
enum { kBlock = 64 };

typedef void (*RangeBody)(void *ctx, int64_t lo, int64_t hi);

typedef struct Blocks {
  RangeBody body;
  void *ctx;
  int64_t count;
} Blocks;

static void runBlocks(void *p, int64_t begin, int64_t end) {
  const Blocks *b = p;
  int64_t hi = end * kBlock;
  b->body(b->ctx, begin * kBlock, hi < b->count ? hi : b->count);
}

/* body(ctx, lo, hi) over the elements [0, count), on the pool when count
 * elements of `cost` units each (DLRT_PARALLEL_MIN_WORK's) pay for it;
 * smaller operations call body directly. */
static void forElements(int64_t count, int64_t cost, RangeBody body, void *ctx) {
  if (count < DLRT_PARALLEL_MIN_WORK / cost) {
    body(ctx, 0, count);
    return;
  }
  Blocks b = {body, ctx, count};
  dlrtParallelFor((count + kBlock - 1) / kBlock, cost * kBlock, runBlocks, &b);
}

/* --- Unary --------------------------------------------------------------------- */

static const char *const unaryNames[DLRT_UNARY_COUNT] = {
    [DLRT_NEG] = "unary -", [DLRT_EXP] = "exp",         [DLRT_LOG] = "log",
    [DLRT_LOG1P] = "log1p", [DLRT_SQRT] = "sqrt",       [DLRT_RSQRT] = "rsqrt",
    [DLRT_ABS] = "abs",     [DLRT_SIN] = "sin",         [DLRT_COS] = "cos",
    [DLRT_TANH] = "tanh",   [DLRT_SIGMOID] = "sigmoid", [DLRT_RELU] = "relu",
    [DLRT_SIGN] = "sign",   [DLRT_FLOOR] = "floor",     [DLRT_CEIL] = "ceil",
    [DLRT_ROUND] = "round", [DLRT_STEP] = "step",       [DLRT_NOT] = "!",
};

#define UNARY_LOOP(T, EXPR)                                                                        \
  do {                                                                                             \
    const T *in = pin; /* may be `out`: a buffer reused in place */                                \
    T *out = pout;                                                                                 \
    for (int64_t i = 0; i < n; ++i) {                                                              \
      T x = in[i];                                                                                 \
      out[i] = (EXPR);                                                                             \
    }                                                                                              \
  } while (0)

/* The unary operations on Float (S = f: expf, ...) or Double (S empty). The
 * sigmoid takes e = exp(-|x|) only, so it never overflows: 1 / (1 + e) for
 * x >= 0 and e / (1 + e) below; the exps go first in a loop of their own so
 * the select is a vectorized blend, not a branch mispredicted half the
 * time (4x faster on random signs). ROUND rounds halfway cases away from
 * zero. */
#define FLOAT_UNARY(NAME, T, S)                                                                    \
  DLRT_VECTOR_CLONES static void NAME(int32_t op, const void *pin, void *pout, int64_t n) {        \
    switch (op) {                                                                                  \
    case DLRT_NEG:                                                                                 \
      UNARY_LOOP(T, -x);                                                                           \
      return;                                                                                      \
    case DLRT_EXP:                                                                                 \
      UNARY_LOOP(T, exp##S(x));                                                                    \
      return;                                                                                      \
    case DLRT_LOG:                                                                                 \
      UNARY_LOOP(T, log##S(x));                                                                    \
      return;                                                                                      \
    case DLRT_LOG1P:                                                                               \
      UNARY_LOOP(T, log1p##S(x));                                                                  \
      return;                                                                                      \
    case DLRT_SQRT:                                                                                \
      UNARY_LOOP(T, sqrt##S(x));                                                                   \
      return;                                                                                      \
    case DLRT_RSQRT:                                                                               \
      UNARY_LOOP(T, (T)1 / sqrt##S(x));                                                            \
      return;                                                                                      \
    case DLRT_ABS:                                                                                 \
      UNARY_LOOP(T, fabs##S(x));                                                                   \
      return;                                                                                      \
    case DLRT_SIN:                                                                                 \
      UNARY_LOOP(T, sin##S(x));                                                                    \
      return;                                                                                      \
    case DLRT_COS:                                                                                 \
      UNARY_LOOP(T, cos##S(x));                                                                    \
      return;                                                                                      \
    case DLRT_TANH:                                                                                \
      UNARY_LOOP(T, tanh##S(x));                                                                   \
      return;                                                                                      \
    case DLRT_SIGMOID: {                                                                           \
      /* `out` may be `in` (a buffer reused in place): the first loop keeps                        \
       * x's sign on e, so the second never reads x again. */                                      \
      const T *in = pin;                                                                           \
      T *out = pout;                                                                               \
      for (int64_t i = 0; i < n; ++i)                                                              \
        out[i] = copysign##S(exp##S(-fabs##S(in[i])), in[i]);                                      \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        T v = out[i], e = fabs##S(v);                                                              \
        out[i] = (signbit(v) ? e : (T)1) / ((T)1 + e);                                             \
      }                                                                                            \
      return;                                                                                      \
    }                                                                                              \
    case DLRT_RELU:                                                                                \
      UNARY_LOOP(T, x < 0 ? (T)0 : x);                                                             \
      return;                                                                                      \
    case DLRT_SIGN:                                                                                \
      UNARY_LOOP(T, (T)((x > 0) - (x < 0)));                                                       \
      return;                                                                                      \
    case DLRT_FLOOR:                                                                               \
      UNARY_LOOP(T, floor##S(x));                                                                  \
      return;                                                                                      \
    case DLRT_CEIL:                                                                                \
      UNARY_LOOP(T, ceil##S(x));                                                                   \
      return;                                                                                      \
    case DLRT_ROUND:                                                                               \
      UNARY_LOOP(T, round##S(x));                                                                  \
      return;                                                                                      \
    case DLRT_STEP:                                                                                \
      UNARY_LOOP(T, x > 0 ? (T)1 : (T)0);                                                          \
      return;                                                                                      \
    }                                                                                              \
  }

FLOAT_UNARY(unaryF32, float, f)
FLOAT_UNARY(unaryF64, double, )

/* Int arithmetic wraps (through uint64_t, which C defines). */
static void unaryI64(int32_t op, const void *pin, void *pout, int64_t n) {
  switch (op) {
  case DLRT_NEG:
    UNARY_LOOP(int64_t, (int64_t)(0 - (uint64_t)x));
    return;
  case DLRT_ABS:
    UNARY_LOOP(int64_t, x < 0 ? (int64_t)(0 - (uint64_t)x) : x);
    return;
  case DLRT_SIGN:
    UNARY_LOOP(int64_t, (int64_t)((x > 0) - (x < 0)));
    return;
  case DLRT_RELU:
    UNARY_LOOP(int64_t, x < 0 ? 0 : x);
    return;
  case DLRT_STEP:
    UNARY_LOOP(int64_t, (int64_t)(x > 0));
    return;
  case DLRT_FLOOR:
  case DLRT_CEIL:
  case DLRT_ROUND:
    UNARY_LOOP(int64_t, x);
    return;
  }
}

static bool unaryDefined(int32_t op, int32_t kind) {
  switch (kind) {
  case DLRT_F32:
  case DLRT_F64:
    return op != DLRT_NOT;
  case DLRT_I64:
    return op == DLRT_NEG || op == DLRT_ABS || op == DLRT_SIGN || op == DLRT_RELU ||
           op == DLRT_STEP || op == DLRT_FLOOR || op == DLRT_CEIL || op == DLRT_ROUND;
  case DLRT_BOOL:
    return op == DLRT_NOT;
  }
  return false;
}

/* Applies unary `op` to n elements of `kind` (out may be in: see "In place"). */
static void runUnary(int32_t op, int32_t kind, const void *pin, void *pout, int64_t n) {
  switch (kind) {
  case DLRT_F32:
    unaryF32(op, pin, pout, n);
    break;
  case DLRT_F64:
    unaryF64(op, pin, pout, n);
    break;
  case DLRT_I64:
    unaryI64(op, pin, pout, n);
    break;
  case DLRT_BOOL:
    UNARY_LOOP(uint8_t, (uint8_t)!x);
    break;
  }
}

/* The cost of one element in DLRT_PARALLEL_MIN_WORK's units (a quarter of
 * a nanosecond), from the times measured for Float on the development VM:
 * calls into libm take 1-10 ns (tanh the most); the rest are vector
 * instructions bound by memory, where 8-byte elements count double. */
static int64_t unaryCost(int32_t op, int32_t kind) {
  bool isFloat = kind == DLRT_F32 || kind == DLRT_F64;
  switch (op) {
  case DLRT_TANH:
    return 40;
  case DLRT_LOG1P:
    return 24;
  case DLRT_SIN:
  case DLRT_COS:
    return 16;
  case DLRT_EXP:
  case DLRT_LOG:
  case DLRT_SIGMOID:
    return 8;
  case DLRT_FLOOR:
  case DLRT_CEIL:
  case DLRT_ROUND:
    if (isFloat) /* libm calls too (no SSE4.1 rounding in the baseline) */
      return 4;
    break;
  case DLRT_RSQRT:
    return 2;
  }
  return dlrtKindSize(kind) == 8 ? 2 : 1;
}

typedef struct UnaryJob {
  int32_t op, kind;
  int64_t size; /* bytes per element */
  const char *in;
  char *out;
} UnaryJob;

static void unaryRange(void *p, int64_t lo, int64_t hi) {
  const UnaryJob *job = p;
  runUnary(job->op, job->kind, job->in + lo * job->size, job->out + lo * job->size, hi - lo);
}

/* Applies unary `op` to the n elements of `kind` at in into out (which may be
 * in), across threads when large. */
static void unaryAll(int32_t op, int32_t kind, const void *in, void *out, int64_t n) {
  UnaryJob job = {op, kind, dlrtKindSize(kind), in, out};
  forElements(n, unaryCost(op, kind), unaryRange, &job);
}

DlTensor *dlrt_t_unary(int32_t op, const DlTensor *a, const char *loc) {
  if (op < 0 || op >= DLRT_UNARY_COUNT)
    dlrt_fail(loc, "internal error: unknown unary tensor operation");
  if (!a) {
    if (op == DLRT_NEG)
      return NULL;
    dlrtFailZero(loc, unaryNames[op]);
  }
  if (!unaryDefined(op, a->kind))
    dlrtFailKind(loc, unaryNames[op], a->kind);
  DlTensor *r = dlrtTensorLike(a, a->kind);
  unaryAll(op, a->kind, a->data, r->data, a->count);
  return r;
}

/* --- Binary ---------------------------------------------------------------------- */

static const char *const binaryNames[DLRT_BINARY_COUNT] = {
    [DLRT_ADD] = "+",   [DLRT_SUB] = "-",   [DLRT_MUL] = "*", [DLRT_DIV] = "/",  [DLRT_POW] = "pow",
    [DLRT_MIN] = "min", [DLRT_MAX] = "max", [DLRT_EQ] = "==", [DLRT_NE] = "!=",  [DLRT_LT] = "<",
    [DLRT_LE] = "<=",   [DLRT_GT] = ">",    [DLRT_GE] = ">=", [DLRT_AND] = "&&", [DLRT_OR] = "||",
};

/* How a run's operands step: both along the run, or one of them fixed. */
enum { kVecVec, kVecScalar, kScalarVec };

/* out[i] = EXPR(x = a[i], y = b[i]) over a run of n, in one of three loops
 * so each is a plain loop the vectorizer sees through. */
typedef void (*BinaryKernel)(const void *a, const void *b, void *out, int64_t n, int mode);

#define BINARY_KERNEL(NAME, T, R, EXPR)                                                            \
  DLRT_VECTOR_CLONES static void NAME(const void *pa, const void *pb, void *pout, int64_t n,       \
                                      int mode) {                                                  \
    const T *restrict a = pa;                                                                      \
    const T *restrict b = pb;                                                                      \
    R *restrict out = pout;                                                                        \
    if (mode == kVecVec) {                                                                         \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        T x = a[i], y = b[i];                                                                      \
        out[i] = (EXPR);                                                                           \
      }                                                                                            \
    } else if (mode == kVecScalar) {                                                               \
      const T y = b[0];                                                                            \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        T x = a[i];                                                                                \
        out[i] = (EXPR);                                                                           \
      }                                                                                            \
    } else {                                                                                       \
      const T x = a[0];                                                                            \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        T y = b[i];                                                                                \
        out[i] = (EXPR);                                                                           \
      }                                                                                            \
    }                                                                                              \
  }

/* Comparisons, shared by every kind. */
#define COMPARE_KERNELS(K, T)                                                                      \
  BINARY_KERNEL(eq##K, T, uint8_t, x == y)                                                         \
  BINARY_KERNEL(ne##K, T, uint8_t, x != y)                                                         \
  BINARY_KERNEL(lt##K, T, uint8_t, x < y)                                                          \
  BINARY_KERNEL(le##K, T, uint8_t, x <= y)                                                         \
  BINARY_KERNEL(gt##K, T, uint8_t, x > y)                                                          \
  BINARY_KERNEL(ge##K, T, uint8_t, x >= y)

/* min and max propagate NaN, as NumPy's minimum/maximum and PyTorch do. */
#define FLOAT_KERNELS(K, T, S)                                                                     \
  BINARY_KERNEL(add##K, T, T, x + y)                                                               \
  BINARY_KERNEL(sub##K, T, T, x - y)                                                               \
  BINARY_KERNEL(mul##K, T, T, x *y)                                                                \
  BINARY_KERNEL(div##K, T, T, x / y)                                                               \
  BINARY_KERNEL(pow##K, T, T, pow##S(x, y))                                                        \
  BINARY_KERNEL(min##K, T, T, (x < y || x != x) ? x : y)                                           \
  BINARY_KERNEL(max##K, T, T, (x > y || x != x) ? x : y)                                           \
  COMPARE_KERNELS(K, T)

FLOAT_KERNELS(F32, float, f)
FLOAT_KERNELS(F64, double, )

/* Int arithmetic wraps; division truncates, and INT64_MIN / -1 wraps instead
 * of trapping (zero divisors were rejected before the loop). */
BINARY_KERNEL(addI64, int64_t, int64_t, (int64_t)((uint64_t)x + (uint64_t)y))
BINARY_KERNEL(subI64, int64_t, int64_t, (int64_t)((uint64_t)x - (uint64_t)y))
BINARY_KERNEL(mulI64, int64_t, int64_t, (int64_t)((uint64_t)x *(uint64_t)y))
BINARY_KERNEL(divI64, int64_t, int64_t, y == -1 ? (int64_t)(0 - (uint64_t)x) : x / y)
BINARY_KERNEL(minI64, int64_t, int64_t, x < y ? x : y)
BINARY_KERNEL(maxI64, int64_t, int64_t, x > y ? x : y)
COMPARE_KERNELS(I64, int64_t)

BINARY_KERNEL(andBool, uint8_t, uint8_t, x &y)
BINARY_KERNEL(orBool, uint8_t, uint8_t, x | y)
COMPARE_KERNELS(Bool, uint8_t)

#define COMPARE_ENTRIES(K)                                                                         \
  [DLRT_EQ] = eq##K, [DLRT_NE] = ne##K, [DLRT_LT] = lt##K, [DLRT_LE] = le##K, [DLRT_GT] = gt##K,   \
  [DLRT_GE] = ge##K
#define FLOAT_ENTRIES(K)                                                                           \
  [DLRT_ADD] = add##K, [DLRT_SUB] = sub##K, [DLRT_MUL] = mul##K, [DLRT_DIV] = div##K,              \
  [DLRT_POW] = pow##K, [DLRT_MIN] = min##K, [DLRT_MAX] = max##K, COMPARE_ENTRIES(K)

/* NULL where an operation is not defined for a kind. */
static const BinaryKernel binaryKernels[4][DLRT_BINARY_COUNT] = {
    [DLRT_F32] = {FLOAT_ENTRIES(F32)},
    [DLRT_F64] = {FLOAT_ENTRIES(F64)},
    [DLRT_I64] = {[DLRT_ADD] = addI64,
                  [DLRT_SUB] = subI64,
                  [DLRT_MUL] = mulI64,
                  [DLRT_DIV] = divI64,
                  [DLRT_MIN] = minI64,
                  [DLRT_MAX] = maxI64,
                  COMPARE_ENTRIES(I64)},
    [DLRT_BOOL] = {[DLRT_AND] = andBool, [DLRT_OR] = orBool, COMPARE_ENTRIES(Bool)},
};

static bool isComparison(int32_t op) { return op >= DLRT_EQ && op <= DLRT_GE; }

/* Whether b's shape equals the trailing axes of a's (a row broadcast). */
static bool isSuffixOf(const DlTensor *b, const DlTensor *a) {
  if (b->rank > a->rank)
    return false;
  for (int32_t i = 0; i < b->rank; ++i)
    if (b->shape[i] != a->shape[a->rank - b->rank + i])
      return false;
  return true;
}

typedef struct BinaryJob {
  BinaryKernel kernel;
  const DlTensor *a, *b;
  DlTensor *r;
} BinaryJob;

/* The kernel over the elements [lo, hi) of r = a op b (flat, row-major), a
 * and b already known to broadcast to r. Rows and runs cut by lo or hi are
 * done in part. */
static void binaryRange(void *p, int64_t lo, int64_t hi) {
  const BinaryJob *job = p;
  BinaryKernel kernel = job->kernel;
  const DlTensor *a = job->a, *b = job->b;
  DlTensor *r = job->r;
  const char *pa = a->data;
  const char *pb = b->data;
  char *pr = r->data;
  int64_t sa = dlrtKindSize(a->kind), sr = dlrtKindSize(r->kind);
  if (lo >= hi)
    return;
  if (a->count == r->count && b->count == r->count) { /* same shape */
    kernel(pa + lo * sa, pb + lo * sa, pr + lo * sr, hi - lo, kVecVec);
    return;
  }
  if (b->count == 1 && a->count == r->count) {
    kernel(pa + lo * sa, pb, pr + lo * sr, hi - lo, kVecScalar);
    return;
  }
  if (a->count == 1 && b->count == r->count) {
    kernel(pa, pb + lo * sa, pr + lo * sr, hi - lo, kScalarVec);
    return;
  }
  if (a->count == r->count && isSuffixOf(b, a)) { /* e.g. x [B, N] + bias [N] */
    int64_t n = b->count;
    for (int64_t i = lo, col = lo % n; i < hi; col = 0) { /* only the first row is cut */
      int64_t len = n - col < hi - i ? n - col : hi - i;
      kernel(pa + i * sa, pb + col * sa, pr + i * sr, len, kVecVec);
      i += len;
    }
    return;
  }
  if (b->count == r->count && isSuffixOf(a, b)) {
    int64_t n = a->count;
    for (int64_t i = lo, col = lo % n; i < hi; col = 0) {
      int64_t len = n - col < hi - i ? n - col : hi - i;
      kernel(pa + col * sa, pb + i * sa, pr + i * sr, len, kVecVec);
      i += len;
    }
    return;
  }
  const int32_t ranks[3] = {r->rank, a->rank, b->rank};
  const int64_t *shapes[3] = {r->shape, a->shape, b->shape};
  DlrtWalk w;
  dlrtWalkInit(&w, r->rank, r->shape, 3, ranks, shapes);
  int64_t n = dlrtWalkRunLength(&w);
  int64_t stepR = dlrtWalkRunStride(&w, 0), stepA = dlrtWalkRunStride(&w, 1),
          stepB = dlrtWalkRunStride(&w, 2);
  /* A run of one element (every axis broadcast) reads a[0] and b[0] either way. */
  int mode = stepA && !stepB ? kVecScalar : !stepA && stepB ? kScalarVec : kVecVec;
  dlrtWalkSeek(&w, lo / n);
  int64_t i = lo, col = lo % n;
  if (col > 0) { /* a range starting inside a run: its rest */
    int64_t len = n - col < hi - i ? n - col : hi - i;
    kernel(pa + (w.offset[1] + col * stepA) * sa, pb + (w.offset[2] + col * stepB) * sa,
           pr + (w.offset[0] + col * stepR) * sr, len, mode);
    i += len;
    dlrtWalkNext(&w);
  }
  for (; hi - i >= n; i += n, dlrtWalkNext(&w))
    kernel(pa + w.offset[1] * sa, pb + w.offset[2] * sa, pr + w.offset[0] * sr, n, mode);
  if (i < hi) /* a range ending inside a run */
    kernel(pa + w.offset[1] * sa, pb + w.offset[2] * sa, pr + w.offset[0] * sr, hi - i, mode);
}

/* The cost of one element in DLRT_PARALLEL_MIN_WORK's units (a quarter of
 * a nanosecond), measured as for unaryCost: pow calls libm (4 ns), Int
 * division is a scalar divide (3 ns); everything else is a vector
 * instruction bound by memory, where 8-byte elements count double. */
static int64_t binaryCost(int32_t op, int32_t kind) {
  if (op == DLRT_POW)
    return 16;
  if (op == DLRT_DIV && kind == DLRT_I64)
    return 12;
  return dlrtKindSize(kind) == 8 ? 2 : 1;
}

/* Runs the kernel over r = a op b, a and b already known to broadcast to r,
 * across threads when large. */
static void runBinary(int32_t op, BinaryKernel kernel, const DlTensor *a, const DlTensor *b,
                      DlTensor *r) {
  BinaryJob job = {kernel, a, b, r};
  forElements(r->count, binaryCost(op, a->kind), binaryRange, &job);
}

static DLRT_NORETURN void failKinds(const char *loc, const char *op, int32_t a, int32_t b) {
  char message[128];
  snprintf(message, sizeof message, "internal error: element kinds differ in '%s': %s vs %s", op,
           dlrtKindName(a), dlrtKindName(b));
  dlrt_fail(loc, message);
}

/* The zero-tangent rules: ADD/SUB with a NULL operand give the other
 * (negated for SUB), MUL with either NULL and DIV with a NULL left operand
 * give NULL; anything else has no rule for a zero tangent. */
static DlTensor *binaryWithZero(int32_t op, const DlTensor *a, const DlTensor *b, const char *loc) {
  switch (op) {
  case DLRT_ADD:
    if (!a)
      return b ? dlrtTensorRetained(b) : NULL;
    return dlrtTensorRetained(a);
  case DLRT_SUB:
    if (!a)
      return b ? dlrt_t_unary(DLRT_NEG, b, loc) : NULL;
    return dlrtTensorRetained(a);
  case DLRT_MUL:
    return NULL;
  case DLRT_DIV:
    if (!a)
      return NULL;
    break;
  }
  dlrtFailZero(loc, binaryNames[op]);
}

DlTensor *dlrt_t_binary(int32_t op, const DlTensor *a, const DlTensor *b, const char *loc) {
  if (op < 0 || op >= DLRT_BINARY_COUNT)
    dlrt_fail(loc, "internal error: unknown binary tensor operation");
  const char *name = binaryNames[op];
  if (!a || !b)
    return binaryWithZero(op, a, b, loc);
  if (a->kind != b->kind)
    failKinds(loc, name, a->kind, b->kind);
  BinaryKernel kernel = binaryKernels[a->kind][op];
  if (!kernel)
    dlrtFailKind(loc, name, a->kind);
  int32_t rank = 0;
  int64_t shape[DLRT_MAX_RANK];
  const DlTensor *operands[2] = {a, b};
  if (!dlrtBroadcastShapes(2, operands, &rank, shape))
    dlrtFailShapes(loc, name, a->rank, a->shape, b->rank, b->shape);
  DlTensor *r = dlrtTensorNew(isComparison(op) ? DLRT_BOOL : a->kind, rank, shape);
  if (op == DLRT_DIV && a->kind == DLRT_I64 && r->count > 0) {
    /* Every element of b takes part in a nonempty result. */
    const int64_t *y = b->data;
    int64_t zeros = 0;
    for (int64_t i = 0; i < b->count; ++i)
      zeros += y[i] == 0;
    if (zeros > 0)
      dlrt_fail_div_zero(loc);
  }
  runBinary(op, kernel, a, b, r);
  return r;
}

/* --- In place ------------------------------------------------------------------------
 * The compiler passes an operand it will not read again as "owned": when
 * nobody else holds it (refcount 1) and it has the result's kind and shape,
 * the result is written into its buffer. The loops' pointers are
 * restrict-qualified, which formally rules out an output that is an input;
 * but each iteration reads element i and then writes element i and nothing
 * else, which compiles to correct code when the output is exactly an input
 * (the unit tests compare both paths). Without restrict, GCC would fall back
 * to scalar loops whenever the buffers overlap, which is every in-place call. */

DlTensor *dlrt_t_unary_owned(int32_t op, DlTensor *a, const char *loc) {
  if (!a || a->refcount != 1 || op < 0 || op >= DLRT_UNARY_COUNT || !unaryDefined(op, a->kind)) {
    DlTensor *r = dlrt_t_unary(op, a, loc);
    dlrt_t_release(a);
    return r;
  }
  unaryAll(op, a->kind, a->data, a->data, a->count);
  return a;
}

DlTensor *dlrt_t_binary_owned(int32_t op, DlTensor *a, DlTensor *b, int32_t which,
                              const char *loc) {
  DlTensor *own = which == 0 ? a : b;
  if (a && b && own->refcount == 1 && op >= 0 && op < DLRT_BINARY_COUNT && a->kind == b->kind &&
      !isComparison(op) && binaryKernels[a->kind][op] &&
      !(op == DLRT_DIV && a->kind == DLRT_I64)) {
    int32_t rank = 0;
    int64_t shape[DLRT_MAX_RANK];
    const DlTensor *operands[2] = {a, b};
    if (dlrtBroadcastShapes(2, operands, &rank, shape) && rank == own->rank &&
        memcmp(shape, own->shape, (size_t)rank * sizeof(int64_t)) == 0) {
      runBinary(op, binaryKernels[a->kind][op], a, b, own);
      return own;
    }
  }
  DlTensor *r = dlrt_t_binary(op, a, b, loc);
  dlrt_t_release(own);
  return r;
}

/* --- where ------------------------------------------------------------------------ */

/* out[i] = c[i] ? a[i] : b[i] over a run, each operand stepping by 0 or 1;
 * elements are copied as bits of their size. */
#define WHERE_RUN(NAME, T)                                                                         \
  static void NAME(const uint8_t *restrict c, const void *pa, const void *pb, void *pout,          \
                   int64_t n, int64_t sc, int64_t sa, int64_t sb) {                                \
    const T *restrict a = pa;                                                                      \
    const T *restrict b = pb;                                                                      \
    T *restrict out = pout;                                                                        \
    if (sc && sa && sb) {                                                                          \
      for (int64_t i = 0; i < n; ++i)                                                              \
        out[i] = c[i] ? a[i] : b[i];                                                               \
      return;                                                                                      \
    }                                                                                              \
    for (int64_t i = 0; i < n; ++i)                                                                \
      out[i] = c[i * sc] ? a[i * sa] : b[i * sb];                                                  \
  }

WHERE_RUN(where8, uint8_t)
WHERE_RUN(where32, uint32_t)
WHERE_RUN(where64, uint64_t)

typedef struct WhereJob {
  const DlTensor *c, *a, *b;
  DlTensor *r;
} WhereJob;

/* r = where(c, a, b) over the elements [lo, hi) of r, the operands already
 * known to broadcast to r; runs cut by lo or hi are done in part. */
static void whereRange(void *p, int64_t lo, int64_t hi) {
  const WhereJob *job = p;
  const DlTensor *c = job->c, *a = job->a, *b = job->b;
  DlTensor *r = job->r;
  if (lo >= hi)
    return;
  const int32_t ranks[4] = {r->rank, c->rank, a->rank, b->rank};
  const int64_t *shapes[4] = {r->shape, c->shape, a->shape, b->shape};
  DlrtWalk w;
  dlrtWalkInit(&w, r->rank, r->shape, 4, ranks, shapes);
  int64_t n = dlrtWalkRunLength(&w);
  int64_t sr = dlrtWalkRunStride(&w, 0), sc = dlrtWalkRunStride(&w, 1),
          sa = dlrtWalkRunStride(&w, 2), sb = dlrtWalkRunStride(&w, 3);
  int64_t size = dlrtKindSize(r->kind);
  const uint8_t *pc = c->data;
  const char *pa = a->data, *pb = b->data;
  char *pr = r->data;
  dlrtWalkSeek(&w, lo / n);
  for (int64_t i = lo, col = lo % n; i < hi; col = 0, dlrtWalkNext(&w)) {
    int64_t len = n - col < hi - i ? n - col : hi - i;
    const uint8_t *cr = pc + w.offset[1] + col * sc;
    const char *ar = pa + (w.offset[2] + col * sa) * size,
               *br = pb + (w.offset[3] + col * sb) * size;
    char *out = pr + (w.offset[0] + col * sr) * size;
    if (size == 1)
      where8(cr, ar, br, out, len, sc, sa, sb);
    else if (size == 4)
      where32(cr, ar, br, out, len, sc, sa, sb);
    else
      where64(cr, ar, br, out, len, sc, sa, sb);
    i += len;
  }
}

DlTensor *dlrt_t_where(const DlTensor *c, const DlTensor *a, const DlTensor *b, const char *loc) {
  dlrtRequire(c, loc, "where");
  if (!a && !b)
    return NULL;
  if (c->kind != DLRT_BOOL)
    dlrtFailKind(loc, "where", c->kind);
  /* A zero tangent stands for a zero of the other operand's kind. */
  DlTensor *zero = NULL;
  if (!a)
    a = zero = dlrt_t_scalar(b->kind, 0);
  if (!b)
    b = zero = dlrt_t_scalar(a->kind, 0);
  if (a->kind != b->kind)
    failKinds(loc, "where", a->kind, b->kind);
  int32_t rank = 0;
  int64_t shape[DLRT_MAX_RANK];
  const DlTensor *operands[3] = {c, a, b};
  if (!dlrtBroadcastShapes(3, operands, &rank, shape)) {
    char sc[DLRT_SHAPE_TEXT], sa[DLRT_SHAPE_TEXT], sb[DLRT_SHAPE_TEXT];
    char message[3 * DLRT_SHAPE_TEXT + 64];
    dlrtShapeText(sc, c->rank, c->shape);
    dlrtShapeText(sa, a->rank, a->shape);
    dlrtShapeText(sb, b->rank, b->shape);
    snprintf(message, sizeof message, "shape mismatch in 'where': %s vs %s vs %s", sc, sa, sb);
    dlrt_fail(loc, message);
  }
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  WhereJob job = {c, a, b, r};
  forElements(r->count, dlrtKindSize(r->kind) == 8 ? 2 : 1, whereRange, &job);
  dlrt_t_release(zero);
  return r;
}
