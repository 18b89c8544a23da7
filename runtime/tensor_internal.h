/* What the tensor sources of dlrt share and compiled code does not see:
 * allocation of tensors (tensor.c), shape text for messages, the broadcasting
 * walker over runs of the innermost axis, and NumPy's pairwise summation.
 * Names start with `dlrt` + UpperCamel so they never collide with the C ABI
 * (dlrt_*) or with a user's exported functions; all are hidden. */
#ifndef DLRT_TENSOR_INTERNAL_H
#define DLRT_TENSOR_INTERNAL_H

#include "runtime/dlrt.h"

#define DLRT_HIDDEN __attribute__((visibility("hidden")))

/* --- Allocation (tensor.c) ------------------------------------------------ */
/* A tensor with refcount 1 and an uninitialized buffer (from the cache when
 * one of the right size class is free). `shape` may be NULL when rank is 0. */
DLRT_HIDDEN DlTensor *dlrtTensorNew(int32_t kind, int32_t rank, const int64_t *shape);
/* The same, zero-filled. */
DLRT_HIDDEN DlTensor *dlrtTensorZeros(int32_t kind, int32_t rank, const int64_t *shape);
/* A new tensor shaped like `like`, of `kind`, uninitialized. */
DLRT_HIDDEN DlTensor *dlrtTensorLike(const DlTensor *like, int32_t kind);
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

#endif /* DLRT_TENSOR_INTERNAL_H */
