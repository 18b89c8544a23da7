/* What the tensor sources of dlrt share and compiled code does not see:
 * allocation of tensors (tensor.c), shape text for messages, the broadcasting
 * walker over runs of the innermost axis, NumPy's pairwise summation, and the
 * thread pool that splits large elementwise operations (threads.c).
 * Names start with `dlrt` + UpperCamel so they never collide with the C ABI
 * (dlrt_*) or with a user's exported functions; all are hidden. */
#ifndef DLRT_TENSOR_INTERNAL_H
#define DLRT_TENSOR_INTERNAL_H

#include "runtime/dlrt.h"

#include <stdio.h>

#define DLRT_HIDDEN __attribute__((visibility("hidden")))

/* Hot loops that GCC vectorizes are compiled three times, for AVX-512
 * (x86-64-v4), AVX2 with FMA (x86-64-v3) and the baseline, and the loader
 * picks the best the CPU has (an ifunc): the runtime stays portable while
 * the kernels use the machine's vectors. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DLRT_VECTOR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define DLRT_VECTOR_CLONES
#endif

/* A helper of a DLRT_VECTOR_CLONES function that must be compiled into each
 * clone (so with its vectors) rather than called as a baseline function. */
#define DLRT_ALWAYS_INLINE __attribute__((always_inline))

#ifdef __cplusplus /* the unit tests include this header */
extern "C" {
#endif

/* --- Allocation (tensor.c) ------------------------------------------------ */
/* A tensor with refcount 1 and an uninitialized buffer (from the cache when
 * one of the right size class is free). `shape` may be NULL when rank is 0. */
DLRT_HIDDEN DlTensor *dlrtTensorNew(int32_t kind, int32_t rank, const int64_t *shape);
/* The same, zero-filled. */
DLRT_HIDDEN DlTensor *dlrtTensorZeros(int32_t kind, int32_t rank, const int64_t *shape);
/* A new tensor shaped like `like`, of `kind`, uninitialized. */
DLRT_HIDDEN DlTensor *dlrtTensorLike(const DlTensor *like, int32_t kind);
/* Element i of t from a value read as the double d, or for an Int tensor as
 * the integer n (exact beyond 2^53); Bool is d != 0. */
DLRT_HIDDEN void dlrtSetElement(DlTensor *t, int64_t i, double d, int64_t n);
/* The same from a double alone: Float rounds, Int truncates. */
static inline void dlrtStoreDouble(DlTensor *t, int64_t i, double v) {
  dlrtSetElement(t, i, v, (int64_t)v);
}
/* A copy of `t` (refcount 1). */
DLRT_HIDDEN DlTensor *dlrtTensorCopy(const DlTensor *t);
/* A retained `t` (the function returns it as a new reference). */
DLRT_HIDDEN DlTensor *dlrtTensorRetained(const DlTensor *t);

/* The elements of an [Int] array (a shape or a permutation). */
static inline const int64_t *dlrtArrayInts(const DlArray *a) {
  return (const int64_t *)((const char *)a + DLRT_ARRAY_HEADER_SIZE);
}

static inline int64_t dlrtKindSize(int32_t kind) {
  return kind == DLRT_BOOL ? 1 : kind == DLRT_F32 ? 4 : 8;
}

/* --- Messages ------------------------------------------------------------- */
enum { DLRT_SHAPE_TEXT = 8 * 24 + 8 }; /* "[d0, ..., d7]" with 20-digit dims */
/* "[2, 3]" into buf (at least DLRT_SHAPE_TEXT bytes). */
DLRT_HIDDEN void dlrtShapeText(char *buf, int32_t rank, const int64_t *shape);
/* "Tensor<Float>" and friends. */
DLRT_HIDDEN const char *dlrtKindName(int32_t kind);
/* "shape mismatch in '<op>': [a] vs [b]". */
DLRT_HIDDEN DLRT_NORETURN void dlrtFailShapes(const char *loc, const char *op, int32_t rankA,
                                              const int64_t *shapeA, int32_t rankB,
                                              const int64_t *shapeB);
/* "<what> [2, 3]". */
DLRT_HIDDEN DLRT_NORETURN void dlrtFailShape(const char *what, int32_t rank, const int64_t *shape,
                                             const char *loc);
/* "internal error: zero tangent passed to '<op>'": generated derivative code
 * handed NULL to an operation that has no rule for it. */
DLRT_HIDDEN DLRT_NORETURN void dlrtFailZero(const char *loc, const char *op);
/* "'<op>' is not defined for Tensor<Kind>". */
DLRT_HIDDEN DLRT_NORETURN void dlrtFailKind(const char *loc, const char *op, int32_t kind);
/* --- Files (tensor_io.c) --------------------------------------------------- */
/* "'<path>' <what>" at loc. */
DLRT_HIDDEN DLRT_NORETURN void dlrtFailFile(const char *loc, const DlString *path, const char *what);
/* The whole file at `path` (plain or gzip-compressed) in a malloc'ed buffer
 * (*size bytes, plus a NUL after them); fails when it cannot be opened or
 * read. The caller frees it. */
DLRT_HIDDEN char *dlrtReadFile(const DlString *path, int64_t *size, const char *loc);
/* Writes `path` atomically: the bytes go to a new temporary file in the same
 * directory, which is flushed to disk and renamed over `path`, so an
 * interrupted write never leaves a damaged file in place of a good one. The
 * writer is handed a FILE and returns false on a write error. */
typedef bool (*DlrtWriter)(FILE *f, void *context);
DLRT_HIDDEN void dlrtWriteFileAtomic(const DlString *path, DlrtWriter write, void *context,
                                     const char *loc);

/* The normalized axis (negative counts from the end); fails when out of range. */
DLRT_HIDDEN int32_t dlrtAxis(int64_t axis, int32_t rank, const char *loc);

/* Fails as dlrtFailZero unless t is a real tensor: for operands that are
 * not [zero-ok]. */
static inline void dlrtRequire(const DlTensor *t, const char *loc, const char *op) {
  if (!t)
    dlrtFailZero(loc, op);
}

static inline bool dlrtSameShape(const DlTensor *a, const DlTensor *b) {
  if (a->rank != b->rank)
    return false;
  for (int32_t i = 0; i < a->rank; ++i)
    if (a->shape[i] != b->shape[i])
      return false;
  return true;
}

/* --- Broadcasting ---------------------------------------------------------- */
/* The NumPy broadcast of `n` shapes (aligned on the right; each dimension
 * equal or 1) into rank/shape; false when they do not broadcast. */
DLRT_HIDDEN bool dlrtBroadcastShapes(int n, const DlTensor *const *ts, int32_t *rank,
                                     int64_t *shape);

/* Walks a row-major index space of up to four operands in runs along the
 * innermost axis. Each operand has an element stride per axis (0 where it is
 * broadcast). Axes of size 1 are dropped and neighbouring axes that every
 * operand steps through contiguously are merged, so [64, 32, 32] + [32, 32]
 * walks 64 runs of 1024 and same-shaped operands walk one run. */
enum { DLRT_WALK_MAX = 4 };
typedef struct DlrtWalk {
  int nops;
  int32_t rank;                 /* >= 1 after setup */
  int64_t shape[DLRT_MAX_RANK]; /* shape[rank-1]: the run length */
  int64_t strides[DLRT_WALK_MAX][DLRT_MAX_RANK];
  int64_t index[DLRT_MAX_RANK];
  int64_t offset[DLRT_WALK_MAX]; /* element offsets of the current run */
  int64_t runs;                  /* number of runs */
} DlrtWalk;

/* Sets up a walk over `shape` for `nops` operands; operand i has the shape
 * opRank[i]/opShape[i], which must broadcast to `shape`. */
DLRT_HIDDEN void dlrtWalkInit(DlrtWalk *w, int32_t rank, const int64_t *shape, int nops,
                              const int32_t *opRank, const int64_t *const *opShape);

/* The stride of operand `op` along the run (0 or 1). */
static inline int64_t dlrtWalkRunStride(const DlrtWalk *w, int op) {
  return w->strides[op][w->rank - 1];
}
static inline int64_t dlrtWalkRunLength(const DlrtWalk *w) { return w->shape[w->rank - 1]; }

/* Moves to run number `run` (0 <= run < runs), where `run` calls of
 * dlrtWalkNext from the start would: a thread starts its part of a walk here. */
static inline void dlrtWalkSeek(DlrtWalk *w, int64_t run) {
  for (int k = 0; k < w->nops; ++k)
    w->offset[k] = 0;
  for (int32_t d = w->rank - 2; d >= 0; --d) {
    w->index[d] = run % w->shape[d];
    run /= w->shape[d];
    for (int k = 0; k < w->nops; ++k)
      w->offset[k] += w->index[d] * w->strides[k][d];
  }
}

/* Advances to the next run. */
static inline void dlrtWalkNext(DlrtWalk *w) {
  for (int32_t d = w->rank - 2; d >= 0; --d) {
    ++w->index[d];
    for (int k = 0; k < w->nops; ++k)
      w->offset[k] += w->strides[k][d];
    if (w->index[d] < w->shape[d])
      return;
    for (int k = 0; k < w->nops; ++k)
      w->offset[k] -= w->strides[k][d] * w->shape[d];
    w->index[d] = 0;
  }
}

/* --- Summation (tensor_reduce.c) ------------------------------------------ */
/* NumPy's pairwise summation (8 accumulators in blocks of 128), so Float sums
 * round like numpy.sum and torch.sum of float32 do, not like a running sum. */
DLRT_HIDDEN float dlrtSumF32(const float *x, int64_t n);
DLRT_HIDDEN double dlrtSumF64(const double *x, int64_t n);

/* --- Convolution (tensor_nn.c, tensor_conv.c) -------------------------------
 * The geometry shared by convolution and pooling: the input [n, h, w, c], a
 * kh x kw window moved by `stride` over the input padded by `padding` on
 * each side, the result's spatial size oh x ow, and its channels o (pooling:
 * o = c). */
typedef struct DlrtWindow {
  int64_t n, h, w, c;
  int64_t kh, kw, o;
  int64_t stride, padding;
  int64_t oh, ow;
} DlrtWindow;

/* Along one axis: the part of the window of output index `o` that lies
 * inside the input. The window starts at input index *start, and its offsets
 * [*k0, *k1) are inside [0, extent) (an empty range when none is). */
static inline void dlrtWindowSpan(int64_t o, int64_t stride, int64_t padding, int64_t size,
                                  int64_t extent, int64_t *start, int64_t *k0, int64_t *k1) {
  int64_t s = o * stride - padding;
  *start = s;
  *k0 = s < 0 ? -s : 0;
  *k1 = s + size > extent ? extent - s : size;
}

/* The converse: the output indices [*o0, *o1) (of outExtent) whose window
 * offset k lies inside [0, extent), i.e. 0 <= o * stride - padding + k <
 * extent. */
static inline void dlrtOutputSpan(int64_t k, int64_t stride, int64_t padding, int64_t extent,
                                  int64_t outExtent, int64_t *o0, int64_t *o1) {
  int64_t lo = padding - k, hi = extent - 1 + padding - k; /* o * stride in [lo, hi] */
  *o0 = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  *o1 = hi < 0 ? 0 : hi / stride + 1;
  if (*o1 > outExtent)
    *o1 = outExtent;
  if (*o1 < *o0)
    *o1 = *o0;
}

/* Rows [row0, row0 + rows) of the column matrix of x (elements of elemSize
 * bytes) into `cols`: row (n, oh, ow) holds the window under that output
 * pixel in (kh, kw, c) order, zeros where it lies in the padding. */
DLRT_HIDDEN void dlrtIm2col(const DlrtWindow *g, const char *x, int64_t elemSize, int64_t row0,
                            int64_t rows, char *cols);

/* Float conv2d and its adjoints without a column matrix in memory, for
 * output channels in whole vectors (tensor_conv.c says which cases); each
 * returns false, having written nothing, when g is not one of them. out is
 * [N, OH, OW, O], dx like x, df like the filter; all are overwritten. */
DLRT_HIDDEN bool dlrtConvTiledForward(const DlrtWindow *g, const float *x, const float *f,
                                      float *out);
DLRT_HIDDEN bool dlrtConvTiledInput(const DlrtWindow *g, const float *gy, const float *f,
                                    float *dx);
DLRT_HIDDEN bool dlrtConvTiledFilter(const DlrtWindow *g, const float *x, const float *gy,
                                     float *df);
/* The instruction-set level of the tiled kernels that run: 4 (AVX-512), 3
 * (AVX2 with FMA) or 0 (none: im2col). Tests may lower it (never above what
 * the CPU has) with dlrtSetConvLevelForTests; -1 restores the CPU's. */
DLRT_HIDDEN int dlrtConvLevel(void);
DLRT_HIDDEN void dlrtSetConvLevelForTests(int level);

/* --- Threads (threads.c) ----------------------------------------------------
 * A persistent pool for large elementwise operations. Work is counted in
 * units of about a quarter of a nanosecond on one core: one element of a
 * Float add (faster from cache, slower from memory); an element of exp
 * counts 8 (tensor_ops.c has the measured costs). Below
 * DLRT_PARALLEL_MIN_WORK units a call runs on the calling thread alone.
 * Measured on the 2-core development VM: an F32 add of [128, 512] (64K
 * units, 6.7 us alone) is about where two threads that are already awake
 * start to win (1.1-1.4x; [256, 512] 1.3-2x, [512, 512] 3x, the two cores'
 * caches holding what one could not); half of it gains nothing. Waking a
 * sleeping worker costs far more (threads.c, kWakeWork). */
enum { DLRT_PARALLEL_MIN_WORK = 1 << 16 };

/* Runs fn(ctx, begin, end) over [0, n) split into contiguous ranges, on the
 * pool's threads plus the calling one, when n * costPerItem is large enough
 * to pay for it (else on the calling thread alone, as fn(ctx, 0, n)).
 * Returns when every range is done. Ranges never overlap, so kernels that
 * write disjoint outputs need no locking; the split is a pure function of n,
 * costPerItem and the thread count (which thread runs a range is not), so
 * results are deterministic. Nested calls run inline. fn must not fail
 * (dlrt_fail*): check operands before. */
DLRT_HIDDEN void dlrtParallelFor(int64_t n, int64_t costPerItem,
                                 void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx);
/* The threads a call may use, the calling one included: DLRT_NUM_THREADS if
 * set (>= 1), else the CPUs this process may run on; at most 64. */
DLRT_HIDDEN int dlrtThreadCount(void);
/* Overrides the thread count (n >= 1; 0 restores the default), for tests
 * comparing one thread with many. Not during a parallel call. */
DLRT_HIDDEN void dlrtSetThreadCountForTests(int n);

#ifdef __cplusplus
}
#endif

#endif /* DLRT_TENSOR_INTERNAL_H */
