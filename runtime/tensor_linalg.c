/* Tensor linear algebra: matmul through OpenBLAS's row-major GEMM/GEMV
 * (Float and Double; a plain loop for Int) with NumPy's rank-1 and batch
 * rules, and axis permutation (transpose) with its adjoint. */
#include "runtime/tensor_internal.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* --- matmul ---------------------------------------------------------------------- */

/* One product C[m, n] = op(A)[m, k] op(B)[k, n], where op transposes when
 * ta/tb is set and A, B are row-major with leading dimensions lda, ldb.
 * m, n, k > 0. OpenBLAS (0.3.21) runs GEMM with one row or column through
 * its general kernels; GEMV is several times faster there. */
static void gemmF32(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float *C) {
  if (n == 1) { /* C = op(A) x, x a column of op(B) */
    cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)(ta ? k : m), (int)(ta ? m : k),
                1.0f, A, (int)lda, B, (int)(tb ? 1 : ldb), 0.0f, C, 1);
    return;
  }
  if (m == 1) { /* C^T = op(B)^T x, x the row of op(A) */
    cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (int)(tb ? n : k), (int)(tb ? k : n),
                1.0f, B, (int)ldb, A, (int)(ta ? lda : 1), 0.0f, C, 1);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
              (int)n, (int)k, 1.0f, A, (int)lda, B, (int)ldb, 0.0f, C, (int)n);
}

static void gemmF64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const double *A, int64_t lda,
                    const double *B, int64_t ldb, double *C) {
  if (n == 1) {
    cblas_dgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)(ta ? k : m), (int)(ta ? m : k),
                1.0, A, (int)lda, B, (int)(tb ? 1 : ldb), 0.0, C, 1);
    return;
  }
  if (m == 1) {
    cblas_dgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (int)(tb ? n : k), (int)(tb ? k : n),
                1.0, B, (int)ldb, A, (int)(ta ? lda : 1), 0.0, C, 1);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
              (int)n, (int)k, 1.0, A, (int)lda, B, (int)ldb, 0.0, C, (int)n);
}

/* Int products wrap, like the elementwise Int operations. */
static void gemmI64(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const int64_t *A,
                    int64_t lda, const int64_t *B, int64_t ldb, int64_t *C) {
  uint64_t *c = (uint64_t *)C;
  for (int64_t i = 0; i < m; ++i) {
    uint64_t *restrict row = c + i * n;
    for (int64_t j = 0; j < n; ++j)
      row[j] = 0;
    for (int64_t p = 0; p < k; ++p) {
      uint64_t aip = (uint64_t)(ta ? A[p * lda + i] : A[i * lda + p]);
      if (tb)
        for (int64_t j = 0; j < n; ++j)
          row[j] += aip * (uint64_t)B[j * ldb + p];
      else
        for (int64_t j = 0; j < n; ++j)
          row[j] += aip * (uint64_t)B[p * ldb + j];
    }
  }
}

/* A matrix operand: its logical rows and columns after the optional
 * transpose, how it is stored, and the batch axes in front. */
typedef struct MatrixView {
  int64_t rows, cols;
  bool transposed;
  int64_t ld;   /* leading dimension of the stored matrix */
  int64_t size; /* elements per matrix */
  int32_t batchRank;
  const int64_t *batchShape;
} MatrixView;

/* A rank-1 operand is a row (left) or a column (right); the transpose flag
 * applies to the last two axes of a matrix only. */
static MatrixView viewOf(const DlTensor *t, bool trans, bool left) {
  MatrixView v;
  v.batchShape = t->shape;
  if (t->rank == 1) {
    int64_t len = t->shape[0];
    v.rows = left ? 1 : len;
    v.cols = left ? len : 1;
    v.transposed = false;
    v.ld = v.cols;
    v.size = len;
    v.batchRank = 0;
    return v;
  }
  int64_t storedRows = t->shape[t->rank - 2], storedCols = t->shape[t->rank - 1];
  v.rows = trans ? storedCols : storedRows;
  v.cols = trans ? storedRows : storedCols;
  v.transposed = trans;
  v.ld = storedCols > 0 ? storedCols : 1;
  v.size = storedRows * storedCols;
  v.batchRank = t->rank - 2;
  return v;
}

static void runGemm(int32_t kind, const MatrixView *va, const MatrixView *vb, const char *a,
                    const char *b, char *c) {
  int64_t m = va->rows, n = vb->cols, k = va->cols;
  switch (kind) {
  case DLRT_F32:
    gemmF32(va->transposed, vb->transposed, m, n, k, (const float *)a, va->ld, (const float *)b,
            vb->ld, (float *)c);
    return;
  case DLRT_F64:
    gemmF64(va->transposed, vb->transposed, m, n, k, (const double *)a, va->ld, (const double *)b,
            vb->ld, (double *)c);
    return;
  case DLRT_I64:
    gemmI64(va->transposed, vb->transposed, m, n, k, (const int64_t *)a, va->ld, (const int64_t *)b,
            vb->ld, (int64_t *)c);
    return;
  }
}

DlTensor *dlrt_t_matmul(const DlTensor *a, const DlTensor *b, bool transA, bool transB,
                        const char *loc) {
  if (!a || !b)
    return NULL;
  if (a->kind != b->kind) {
    char message[128];
    snprintf(message, sizeof message, "internal error: element kinds differ in '@': %s vs %s",
             dlrtKindName(a->kind), dlrtKindName(b->kind));
    dlrt_fail(loc, message);
  }
  if (a->kind == DLRT_BOOL)
    dlrtFailKind(loc, "@", a->kind);
  if (a->rank == 0 || b->rank == 0)
    dlrtFailShapes(loc, "@", a->rank, a->shape, b->rank, b->shape);
  MatrixView va = viewOf(a, transA, true), vb = viewOf(b, transB, false);
  if (va.cols != vb.rows)
    dlrtFailShapes(loc, "@", a->rank, a->shape, b->rank, b->shape);

  /* The batch axes broadcast; the result is batch + [m] + [n], leaving out
   * the axis of a rank-1 operand. */
  DlTensor batchA = {.rank = va.batchRank}, batchB = {.rank = vb.batchRank};
  memcpy(batchA.shape, va.batchShape, (size_t)va.batchRank * sizeof(int64_t));
  memcpy(batchB.shape, vb.batchShape, (size_t)vb.batchRank * sizeof(int64_t));
  const DlTensor *batches[2] = {&batchA, &batchB};
  int32_t rank = 0;
  int64_t shape[DLRT_MAX_RANK];
  if (!dlrtBroadcastShapes(2, batches, &rank, shape))
    dlrtFailShapes(loc, "@", a->rank, a->shape, b->rank, b->shape);
  int32_t batchRank = rank;
  if (a->rank > 1)
    shape[rank++] = va.rows;
  if (b->rank > 1)
    shape[rank++] = vb.cols;
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  int64_t m = va.rows, n = vb.cols, k = va.cols;
  if (r->count == 0)
    return r;
  int64_t size = dlrtKindSize(a->kind);
  if (k == 0) {
    memset(r->data, 0, (size_t)(r->count * size));
    return r;
  }
  const char *pa = a->data, *pb = b->data;
  char *pr = r->data;
  if (batchRank == 0) {
    runGemm(a->kind, &va, &vb, pa, pb, pr);
    return r;
  }
  /* x [B, m, k] @ w [k, n]: the batches of a stacked are one [B*m, k] matrix. */
  if (vb.batchRank == 0 && !va.transposed && va.batchRank == batchRank) {
    MatrixView stacked = va;
    stacked.rows = m * (a->count / va.size);
    runGemm(a->kind, &stacked, &vb, pa, pb, pr);
    return r;
  }
  const int32_t ranks[3] = {batchRank, va.batchRank, vb.batchRank};
  const int64_t *shapes[3] = {shape, va.batchShape, vb.batchShape};
  DlrtWalk w;
  dlrtWalkInit(&w, batchRank, shape, 3, ranks, shapes);
  int64_t runLength = dlrtWalkRunLength(&w);
  int64_t sa = dlrtWalkRunStride(&w, 1), sb = dlrtWalkRunStride(&w, 2);
  for (int64_t run = 0; run < w.runs; ++run, dlrtWalkNext(&w))
    for (int64_t j = 0; j < runLength; ++j)
      runGemm(a->kind, &va, &vb, pa + (w.offset[1] + j * sa) * va.size * size,
              pb + (w.offset[2] + j * sb) * vb.size * size, pr + (w.offset[0] + j) * m * n * size);
  return r;
}

/* --- transpose ------------------------------------------------------------------- */

/* Reads and checks a permutation of `rank` axes (NULL: reversed). */
static void readPermutation(const DlArray *perm, int32_t rank, int64_t *p, const char *loc) {
  if (!perm) {
    for (int32_t i = 0; i < rank; ++i)
      p[i] = rank - 1 - i;
    return;
  }
  const int64_t *items = dlrtArrayInts(perm);
  bool valid = perm->count == rank;
  bool seen[DLRT_MAX_RANK] = {false};
  for (int64_t i = 0; i < perm->count && valid; ++i) {
    valid = items[i] >= 0 && items[i] < rank && !seen[items[i]];
    if (valid)
      seen[items[i]] = true;
  }
  if (valid) {
    memcpy(p, items, (size_t)rank * sizeof(int64_t));
    return;
  }
  char text[DLRT_SHAPE_TEXT];
  char message[DLRT_SHAPE_TEXT + 96];
  if (perm->count <= DLRT_MAX_RANK)
    dlrtShapeText(text, (int32_t)perm->count, items);
  else
    snprintf(text, sizeof text, "of %lld axes", (long long)perm->count);
  snprintf(message, sizeof message, "invalid permutation %s for a tensor of rank %d", text, rank);
  dlrt_fail(loc, message);
}

/* out[j, i] = in[i, j] for `count` matrices of [rows, cols], in tiles that
 * keep both sides in cache. 16 x 16 tiles walked by output row: with 32, a
 * power-of-two row length maps a tile's rows to one cache set (2.7x slower
 * at 1024 x 1024). */
#define TRANSPOSE_2D(NAME, T)                                                                      \
  static void NAME(const T *in, T *out, int64_t count, int64_t rows, int64_t cols) {               \
    enum { kTile = 16 };                                                                           \
    for (int64_t b = 0; b < count; ++b, in += rows * cols, out += rows * cols)                     \
      for (int64_t i0 = 0; i0 < rows; i0 += kTile)                                                 \
        for (int64_t j0 = 0; j0 < cols; j0 += kTile) {                                             \
          int64_t iEnd = i0 + kTile < rows ? i0 + kTile : rows;                                    \
          int64_t jEnd = j0 + kTile < cols ? j0 + kTile : cols;                                    \
          for (int64_t j = j0; j < jEnd; ++j)                                                      \
            for (int64_t i = i0; i < iEnd; ++i)                                                    \
              out[j * rows + i] = in[i * cols + j];                                                \
        }                                                                                          \
  }

TRANSPOSE_2D(transpose8, uint8_t)
TRANSPOSE_2D(transpose32, uint32_t)
TRANSPOSE_2D(transpose64, uint64_t)

/* Any permutation: walks the result in order, reading the input along the
 * stride of the innermost result axis. */
#define PERMUTE(NAME, T)                                                                           \
  static void NAME(const T *in, T *out, int32_t rank, const int64_t *shape,                        \
                   const int64_t *stride) {                                                        \
    int64_t index[DLRT_MAX_RANK] = {0};                                                            \
    int64_t n = shape[rank - 1], s = stride[rank - 1], total = 1, offset = 0;                      \
    for (int32_t d = 0; d < rank; ++d)                                                             \
      total *= shape[d];                                                                           \
    for (int64_t done = 0; done < total; done += n, out += n) {                                    \
      for (int64_t j = 0; j < n; ++j)                                                              \
        out[j] = in[offset + j * s];                                                               \
      for (int32_t d = rank - 2; d >= 0; --d) {                                                    \
        offset += stride[d];                                                                       \
        if (++index[d] < shape[d])                                                                 \
          break;                                                                                   \
        offset -= stride[d] * shape[d];                                                            \
        index[d] = 0;                                                                              \
      }                                                                                            \
    }                                                                                              \
  }

PERMUTE(permute8, uint8_t)
PERMUTE(permute32, uint32_t)
PERMUTE(permute64, uint64_t)

static DlTensor *permuted(const DlTensor *a, const int64_t *p) {
  int32_t rank = a->rank;
  bool identity = true;
  for (int32_t i = 0; i < rank; ++i)
    identity = identity && p[i] == i;
  if (identity)
    return dlrtTensorRetained(a);
  int64_t inStride[DLRT_MAX_RANK], shape[DLRT_MAX_RANK], stride[DLRT_MAX_RANK];
  int64_t s = 1;
  for (int32_t d = rank - 1; d >= 0; --d) {
    inStride[d] = s;
    s *= a->shape[d];
  }
  for (int32_t i = 0; i < rank; ++i) {
    shape[i] = a->shape[p[i]];
    stride[i] = inStride[p[i]];
  }
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  if (r->count == 0)
    return r;
  int64_t size = dlrtKindSize(a->kind);
  /* Swapping the last two axes (x.T of a matrix, or of a batch of them). */
  bool swapsLastTwo = p[rank - 1] == rank - 2 && p[rank - 2] == rank - 1;
  for (int32_t i = 0; i < rank - 2 && swapsLastTwo; ++i)
    swapsLastTwo = p[i] == i;
  if (swapsLastTwo) {
    int64_t rows = a->shape[rank - 2], cols = a->shape[rank - 1];
    int64_t count = a->count / (rows * cols);
    if (size == 1)
      transpose8(a->data, r->data, count, rows, cols);
    else if (size == 4)
      transpose32(a->data, r->data, count, rows, cols);
    else
      transpose64(a->data, r->data, count, rows, cols);
    return r;
  }
  if (size == 1)
    permute8(a->data, r->data, rank, shape, stride);
  else if (size == 4)
    permute32(a->data, r->data, rank, shape, stride);
  else
    permute64(a->data, r->data, rank, shape, stride);
  return r;
}

DlTensor *dlrt_t_transpose(const DlTensor *a, const DlArray *perm, const char *loc) {
  if (!a)
    return NULL;
  int64_t p[DLRT_MAX_RANK];
  readPermutation(perm, a->rank, p, loc);
  return permuted(a, p);
}

DlTensor *dlrt_t_transpose_backward(const DlTensor *g, const DlArray *perm, const char *loc) {
  if (!g)
    return NULL;
  int64_t p[DLRT_MAX_RANK], inverse[DLRT_MAX_RANK];
  readPermutation(perm, g->rank, p, loc);
  for (int32_t i = 0; i < g->rank; ++i)
    inverse[p[i]] = i;
  return permuted(g, inverse);
}
