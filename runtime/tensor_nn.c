/* NN operations on NHWC tensors: 2-D convolution and its two adjoints as
 * im2col/col2im around OpenBLAS's GEMM, and max/average pooling with its
 * adjoint and max pooling's forward-mode rule as direct loops.
 *
 * Why im2col: in NHWC the window under one output pixel, read in (kh, kw, c)
 * order, is a row of KH*KW*C values, and an HWIO filter stored as it is is
 * the [KH*KW*C, O] matrix that row multiplies. The rows of all output pixels
 * (the "column matrix") times the filter is the result [N*OH*OW, O], already
 * in NHWC order, so every pass is one GEMM per chunk of rows:
 *   forward          out   = cols @ filter
 *   backward_input   dcols = g @ filter^T, scattered back by col2im
 *   backward_filter  dfilt = cols^T @ g, summed over the chunks
 * The column matrix is KH*KW times the size of x, so it is built for a chunk
 * of rows at a time into a scratch buffer of about kColumnBytes.
 *
 * Two cases skip it: windows of at most kDirectMaxWindow values run a
 * direct loop (below), and Float convolutions whose output channels fill
 * whole vectors run tensor_conv.c's tiled kernels, which gather a few rows
 * of the column matrix at a time into registers' reach. im2col is the
 * general path (Double, odd channel counts, strided input adjoints). */
#include "runtime/tensor_internal.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The scratch column matrix per chunk: large enough that each GEMM runs at
 * full speed (thousands of rows), small enough to stay in L3 next to the
 * filter and to cost little memory on top of the tensors themselves. */
enum { kColumnBytes = 4 << 20 };

/* Paddings beyond this are surely mistakes; the bound keeps H + 2p and the
 * result's dimensions far from overflowing int64. */
static const int64_t kMaxPadding = (int64_t)1 << 30;

typedef DlrtWindow Window; /* tensor_internal.h */

/* --- Checks ------------------------------------------------------------------------ */

static void checkFloatKind(const DlTensor *t, const char *op, const char *loc) {
  if (t->kind != DLRT_F32 && t->kind != DLRT_F64)
    dlrtFailKind(loc, op, t->kind);
}

/* Operands of one call share x's element kind (the compiler checks). */
static void checkSameKind(const DlTensor *x, const DlTensor *t, const char *op, const char *loc) {
  if (t->kind != x->kind) {
    char message[128];
    snprintf(message, sizeof message, "internal error: element kinds differ in '%s': %s vs %s", op,
             dlrtKindName(x->kind), dlrtKindName(t->kind));
    dlrt_fail(loc, message);
  }
}

static void checkRank4(const DlTensor *t, const char *op, const char *what, const char *axes,
                       const char *loc) {
  if (t->rank == 4)
    return;
  char text[DLRT_SHAPE_TEXT];
  char message[DLRT_SHAPE_TEXT + 128];
  dlrtShapeText(text, t->rank, t->shape);
  snprintf(message, sizeof message, "%s expects a rank-4 %s %s, got %s", op, what, axes, text);
  dlrt_fail(loc, message);
}

/* "<op>: <what> must be at least 1, got <value>" */
static void checkPositive(int64_t value, const char *op, const char *what, const char *loc) {
  if (value >= 1)
    return;
  char message[128];
  snprintf(message, sizeof message, "%s: %s must be at least 1, got %lld", op, what,
           (long long)value);
  dlrt_fail(loc, message);
}

static void checkPadding(int64_t padding, const char *op, const char *loc) {
  char message[128];
  if (padding < 0) {
    snprintf(message, sizeof message, "%s: padding must not be negative", op);
    dlrt_fail(loc, message);
  }
  if (padding > kMaxPadding) {
    snprintf(message, sizeof message, "%s: padding %lld is too large", op, (long long)padding);
    dlrt_fail(loc, message);
  }
}

/* Fills in the result's spatial size, failing when the window (`what`, as
 * text) does not fit the padded input. */
static void fitWindow(Window *g, const char *op, const char *what, const char *loc) {
  int64_t ph = g->h + 2 * g->padding, pw = g->w + 2 * g->padding;
  if (g->kh > ph || g->kw > pw) {
    int64_t padded[4] = {g->n, ph, pw, g->c};
    char text[DLRT_SHAPE_TEXT];
    char message[2 * DLRT_SHAPE_TEXT + 96];
    dlrtShapeText(text, 4, padded);
    snprintf(message, sizeof message, "%s: the %s is larger than the padded input %s", op, what,
             text);
    dlrt_fail(loc, message);
  }
  g->oh = (ph - g->kh) / g->stride + 1;
  g->ow = (pw - g->kw) / g->stride + 1;
}

/* Checks the forward operands of conv2d and returns the geometry. The
 * adjoints check them too, under the name conv2d: the messages describe the
 * convolution, and the forward pass has made the same checks before. */
static Window convWindow(const DlTensor *x, const DlTensor *filter, int64_t stride, int64_t padding,
                         const char *op, const char *loc) {
  checkFloatKind(x, op, loc);
  checkSameKind(x, filter, op, loc);
  checkRank4(x, op, "input", "[N, H, W, C]", loc);
  checkRank4(filter, op, "filter", "[KH, KW, C, O]", loc);
  if (filter->shape[2] != x->shape[3]) {
    char message[160];
    snprintf(message, sizeof message,
             "shape mismatch in '%s': input has %lld channel%s, filter expects %lld", op,
             (long long)x->shape[3], x->shape[3] == 1 ? "" : "s", (long long)filter->shape[2]);
    dlrt_fail(loc, message);
  }
  checkPositive(stride, op, "stride", loc);
  checkPadding(padding, op, loc);
  Window g = {.n = x->shape[0],
              .h = x->shape[1],
              .w = x->shape[2],
              .c = x->shape[3],
              .kh = filter->shape[0],
              .kw = filter->shape[1],
              .o = filter->shape[3],
              .stride = stride,
              .padding = padding};
  char what[DLRT_SHAPE_TEXT + 8];
  memcpy(what, "filter ", 7);
  dlrtShapeText(what + 7, 4, filter->shape);
  fitWindow(&g, op, what, loc);
  return g;
}

static const char *poolName(int32_t op) { return op == DLRT_POOL_MAX ? "maxPool2d" : "avgPool2d"; }

/* Checks pooling's x and parameters. PyTorch's rule that padding is at most
 * half the window also guarantees that every window holds an input cell
 * (unless H or W is 0), so a max is never taken over padding alone. */
static Window poolWindow(int32_t op, const DlTensor *x, int64_t size, int64_t stride,
                         int64_t padding, const char *loc) {
  if (op != DLRT_POOL_MAX && op != DLRT_POOL_AVG) {
    char message[96];
    snprintf(message, sizeof message, "internal error: unknown pooling operation %d", op);
    dlrt_fail(loc, message);
  }
  const char *name = poolName(op);
  checkFloatKind(x, name, loc);
  checkRank4(x, name, "input", "[N, H, W, C]", loc);
  checkPositive(size, name, "size", loc);
  checkPositive(stride, name, "stride", loc);
  checkPadding(padding, name, loc);
  if (padding > size / 2) {
    char message[160];
    snprintf(message, sizeof message,
             "%s: padding must be at most half the window size, got padding %lld for size %lld",
             name, (long long)padding, (long long)size);
    dlrt_fail(loc, message);
  }
  Window g = {.n = x->shape[0],
              .h = x->shape[1],
              .w = x->shape[2],
              .c = x->shape[3],
              .kh = size,
              .kw = size,
              .o = x->shape[3],
              .stride = stride,
              .padding = padding};
  char what[64];
  snprintf(what, sizeof what, "window %lld x %lld", (long long)size, (long long)size);
  fitWindow(&g, name, what, loc);
  return g;
}

/* A cotangent or tangent `t` must have the kind of x and the shape
 * [n, d1, d2, d3]. */
static void checkOperand(const DlTensor *x, const DlTensor *t, int64_t n, int64_t d1, int64_t d2,
                         int64_t d3, const char *op, const char *loc) {
  checkSameKind(x, t, op, loc);
  int64_t want[4] = {n, d1, d2, d3};
  if (t->rank != 4 || memcmp(t->shape, want, sizeof want) != 0)
    dlrtFailShapes(loc, op, t->rank, t->shape, 4, want);
}

/* --- GEMM ---------------------------------------------------------------------------- */

/* C[m, n] = op(A)[m, k] op(B)[k, n] (+ C when `accumulate`), row-major, as
 * in tensor_linalg.c: OpenBLAS runs GEMM with one row or column through its
 * general kernels, several times slower than GEMV (a conv with O = 1, or a
 * chunk of one row). m, n, k > 0. */
#define GEMM(NAME, T, GEMM_FN, GEMV_FN)                                                            \
  static void NAME(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const T *A, int64_t lda,     \
                   const T *B, int64_t ldb, bool accumulate, T *C, int64_t ldc) {                  \
    T beta = accumulate ? (T)1 : (T)0;                                                             \
    if (n == 1) { /* C = op(A) x, x a column of op(B) */                                           \
      GEMV_FN(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)(ta ? k : m), (int)(ta ? m : k), \
              (T)1, A, (int)lda, B, (int)(tb ? 1 : ldb), beta, C, (int)ldc);                       \
      return;                                                                                      \
    }                                                                                              \
    if (m == 1) { /* C^T = op(B)^T x, x the row of op(A) */                                        \
      GEMV_FN(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, (int)(tb ? n : k), (int)(tb ? k : n), \
              (T)1, B, (int)ldb, A, (int)(ta ? lda : 1), beta, C, 1);                              \
      return;                                                                                      \
    }                                                                                              \
    GEMM_FN(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, \
            (int)n, (int)k, (T)1, A, (int)lda, B, (int)ldb, beta, C, (int)ldc);                    \
  }

GEMM(gemmF32, float, cblas_sgemm, cblas_sgemv)
GEMM(gemmF64, double, cblas_dgemm, cblas_dgemv)

static void gemm(int32_t kind, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void *A,
                 int64_t lda, const void *B, int64_t ldb, bool accumulate, void *C, int64_t ldc) {
  if (kind == DLRT_F32)
    gemmF32(ta, tb, m, n, k, A, lda, B, ldb, accumulate, C, ldc);
  else
    gemmF64(ta, tb, m, n, k, A, lda, B, ldb, accumulate, C, ldc);
}

/* --- im2col / col2im ---------------------------------------------------------------- */

/* A 1 x 1 filter at stride 1 without padding reads every input pixel once,
 * in order: x itself is the column matrix. */
static bool isPointwise(const Window *g) {
  return g->kh == 1 && g->kw == 1 && g->stride == 1 && g->padding == 0;
}

/* Rows per chunk of the column matrix (at least one). */
static int64_t chunkRows(const Window *g, int64_t elemSize, int64_t rows) {
  int64_t rowBytes = g->kh * g->kw * g->c * elemSize;
  int64_t chunk = kColumnBytes / rowBytes;
  if (chunk < 1)
    chunk = 1;
  return chunk < rows ? chunk : rows;
}

/* The output pixel of a flat row index. */
typedef struct Pixel {
  int64_t n, oh, ow;
} Pixel;

static Pixel pixelOf(const Window *g, int64_t row) {
  Pixel p = {row / (g->oh * g->ow), (row / g->ow) % g->oh, row % g->ow};
  return p;
}

static void nextPixel(const Window *g, Pixel *p) {
  if (++p->ow < g->ow)
    return;
  p->ow = 0;
  if (++p->oh < g->oh)
    return;
  p->oh = 0;
  ++p->n;
}

/* Rows [row0, row0 + rows) of the column matrix of x into `cols`: row
 * (n, oh, ow) holds the window under that output pixel in (kh, kw, c) order,
 * zeros where it lies in the padding. It only moves elements, so it works on
 * bytes for either kind. A window row that lies inside x is KW*C contiguous
 * elements in NHWC and is copied at once. */
void dlrtIm2col(const Window *g, const char *x, int64_t elemSize, int64_t row0, int64_t rows,
                char *cols) {
  size_t pixelBytes = (size_t)(g->c * elemSize), windowRowBytes = (size_t)g->kw * pixelBytes;
  Pixel p = pixelOf(g, row0);
  for (int64_t r = 0; r < rows; ++r, nextPixel(g, &p)) {
    const char *image = x + p.n * g->h * g->w * (int64_t)pixelBytes;
    int64_t ih0 = p.oh * g->stride - g->padding, iw0 = p.ow * g->stride - g->padding;
    bool rowsInside = iw0 >= 0 && iw0 + g->kw <= g->w;
    for (int64_t kh = 0; kh < g->kh; ++kh, cols += windowRowBytes) {
      int64_t ih = ih0 + kh;
      if (ih < 0 || ih >= g->h) {
        memset(cols, 0, windowRowBytes);
        continue;
      }
      const char *src = image + (ih * g->w + iw0) * (int64_t)pixelBytes;
      if (rowsInside) {
        memcpy(cols, src, windowRowBytes);
        continue;
      }
      for (int64_t kw = 0; kw < g->kw; ++kw) {
        int64_t iw = iw0 + kw;
        char *dst = cols + kw * (int64_t)pixelBytes;
        if (iw < 0 || iw >= g->w)
          memset(dst, 0, pixelBytes);
        else
          memcpy(dst, src + kw * (int64_t)pixelBytes, pixelBytes);
      }
    }
  }
}

/* im2col on the thread pool: rows are independent. */
typedef struct Im2colJob {
  const Window *g;
  const char *x;
  int64_t elemSize, row0;
  char *cols;
} Im2colJob;

static void im2colRange(void *ctx, int64_t begin, int64_t end) {
  const Im2colJob *j = ctx;
  int64_t rowBytes = j->g->kh * j->g->kw * j->g->c * j->elemSize;
  dlrtIm2col(j->g, j->x, j->elemSize, j->row0 + begin, end - begin, j->cols + begin * rowBytes);
}

static void im2colParallel(const Window *g, const char *x, int64_t elemSize, int64_t row0,
                           int64_t rows, char *cols) {
  Im2colJob job = {g, x, elemSize, row0, cols};
  /* About a quarter nanosecond per byte moved (DLRT_PARALLEL_MIN_WORK's units). */
  dlrtParallelFor(rows, g->kh * g->kw * g->c * elemSize, im2colRange, &job);
}

/* The adjoint of im2col: adds each entry of rows [row0, row0 + rows) of a
 * column matrix to the input cell it was read from (padding entries are
 * dropped). dx must be initialized; overlapping windows accumulate. */
#define COL2IM(NAME, T)                                                                            \
  DLRT_VECTOR_CLONES static void NAME(const Window *g, const T *cols, int64_t row0, int64_t rows, T *dx) {            \
    int64_t c = g->c, windowRow = g->kw * c;                                                       \
    Pixel p = pixelOf(g, row0);                                                                    \
    for (int64_t r = 0; r < rows; ++r, nextPixel(g, &p)) {                                         \
      T *image = dx + p.n * g->h * g->w * c;                                                       \
      int64_t ih0 = p.oh * g->stride - g->padding, iw0 = p.ow * g->stride - g->padding;            \
      bool rowsInside = iw0 >= 0 && iw0 + g->kw <= g->w;                                           \
      for (int64_t kh = 0; kh < g->kh; ++kh, cols += windowRow) {                                  \
        int64_t ih = ih0 + kh;                                                                     \
        if (ih < 0 || ih >= g->h)                                                                  \
          continue;                                                                                \
        T *restrict dst = image + (ih * g->w + iw0) * c;                                           \
        const T *restrict src = cols;                                                              \
        if (rowsInside) {                                                                          \
          for (int64_t j = 0; j < windowRow; ++j)                                                  \
            dst[j] += src[j];                                                                      \
          continue;                                                                                \
        }                                                                                          \
        for (int64_t kw = 0; kw < g->kw; ++kw) {                                                   \
          int64_t iw = iw0 + kw;                                                                   \
          if (iw < 0 || iw >= g->w)                                                                \
            continue;                                                                              \
          for (int64_t j = 0; j < c; ++j)                                                          \
            dst[kw * c + j] += src[kw * c + j];                                                    \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

COL2IM(col2imF32, float)
COL2IM(col2imF64, double)

/* col2im on the thread pool: the rows of one image scatter into that image
 * of dx alone, so a chunk is split at image boundaries. */
typedef struct Col2imJob {
  const Window *g;
  int32_t kind;
  const char *cols;
  int64_t row0, rows;
  char *dx;
} Col2imJob;

static void col2imRange(void *ctx, int64_t begin, int64_t end) {
  const Col2imJob *j = ctx;
  int64_t pixels = j->g->oh * j->g->ow, first = j->row0 / pixels;
  int64_t from = (first + begin) * pixels, to = (first + end) * pixels;
  if (from < j->row0)
    from = j->row0;
  if (to > j->row0 + j->rows)
    to = j->row0 + j->rows;
  if (from >= to)
    return;
  int64_t k = j->g->kh * j->g->kw * j->g->c;
  if (j->kind == DLRT_F32)
    col2imF32(j->g, (const float *)j->cols + (from - j->row0) * k, from, to - from, (float *)j->dx);
  else
    col2imF64(j->g, (const double *)j->cols + (from - j->row0) * k, from, to - from,
              (double *)j->dx);
}

static void col2imParallel(const Window *g, int32_t kind, const void *cols, int64_t row0,
                           int64_t rows, void *dx) {
  int64_t pixels = g->oh * g->ow;
  int64_t images = (row0 + rows - 1) / pixels - row0 / pixels + 1;
  Col2imJob job = {g, kind, cols, row0, rows, dx};
  dlrtParallelFor(images, pixels * g->kh * g->kw * g->c * dlrtKindSize(kind), col2imRange, &job);
}

/* A scratch column matrix of `rows` rows, as a tensor so that its buffer
 * comes from (and returns to) the tensor cache: a training step asks for
 * the same size every time. */
static DlTensor *scratchColumns(const Window *g, int32_t kind, int64_t rows) {
  int64_t count = rows * g->kh * g->kw * g->c;
  return dlrtTensorNew(kind, 1, &count);
}

/* --- Direct convolution for few input values per window ------------------------------ */

/* When a window holds few values (a first layer on one channel: 3 x 3 x 1),
 * the column matrix is as wide as the window and GEMM spends its time
 * packing it; a direct loop over the window, vectorized over the output
 * channels, does the same arithmetic with no column matrix. */
enum { kDirectMaxWindow = 16 };

static bool useDirect(const Window *g) { return g->kh * g->kw * g->c <= kDirectMaxWindow; }

/* out[n, oh, ow, :] = sum over the window inside x of x[...] * filter[kh, kw, c, :],
 * for images [n0, n1). */
#define DIRECT_CONV(NAME, T, OC)                                                                   \
  DLRT_VECTOR_CLONES static void NAME(const Window *g, const T *x, const T *f, T *out, int64_t n0, \
                                      int64_t n1) {                                                \
    /* OC > 0: the channel count as a constant, so the sums stay in registers. */                  \
    int64_t o = OC > 0 ? OC : g->o, c = g->c;                                                      \
    for (int64_t n = n0; n < n1; ++n)                                                              \
      for (int64_t oh = 0; oh < g->oh; ++oh)                                                       \
        for (int64_t ow = 0; ow < g->ow; ++ow) {                                                   \
          T acc[OC > 0 ? OC : 1];                                                                  \
          T *restrict dst = out + ((n * g->oh + oh) * g->ow + ow) * o;                             \
          T *restrict sum = OC > 0 ? acc : dst;                                                    \
          for (int64_t j = 0; j < o; ++j)                                                          \
            sum[j] = 0;                                                                            \
          int64_t ih0, kh0, kh1, iw0, kw0, kw1;                                                    \
          dlrtWindowSpan(oh, g->stride, g->padding, g->kh, g->h, &ih0, &kh0, &kh1);                \
          dlrtWindowSpan(ow, g->stride, g->padding, g->kw, g->w, &iw0, &kw0, &kw1);                \
          for (int64_t kh = kh0; kh < kh1; ++kh) {                                                 \
            int64_t ih = ih0 + kh;                                                                 \
            for (int64_t kw = kw0; kw < kw1; ++kw) {                                               \
              int64_t iw = iw0 + kw;                                                               \
              const T *xp = x + ((n * g->h + ih) * g->w + iw) * c;                                 \
              const T *fp = f + (kh * g->kw + kw) * c * o;                                         \
              for (int64_t ci = 0; ci < c; ++ci) {                                                 \
                T v = xp[ci];                                                                      \
                const T *restrict row = fp + ci * o;                                               \
                for (int64_t j = 0; j < o; ++j)                                                    \
                  sum[j] += v * row[j];                                                            \
              }                                                                                    \
            }                                                                                      \
          }                                                                                        \
          if (OC > 0)                                                                              \
            for (int64_t j = 0; j < o; ++j)                                                        \
              dst[j] = sum[j];                                                                     \
        }                                                                                          \
  }

DIRECT_CONV(directConvF32, float, 0)
DIRECT_CONV(directConvF64, double, 0)
DIRECT_CONV(directConv32F32, float, 32)
DIRECT_CONV(directConv64F32, float, 64)

/* The filter's adjoint of image n alone into part[kh, kw, c, :]: the sum over
 * its output pixels of x[window] * g[pixel, :]. */
#define DIRECT_FILTER(NAME, T)                                                                     \
  DLRT_VECTOR_CLONES static void NAME(const Window *g, const T *x, const T *gy, T *part,           \
                                      int64_t n) {                                                 \
    int64_t o = g->o, c = g->c;                                                                    \
    for (int64_t i = 0; i < g->kh * g->kw * c * o; ++i)                                            \
      part[i] = 0;                                                                                 \
    for (int64_t oh = 0; oh < g->oh; ++oh)                                                         \
      for (int64_t ow = 0; ow < g->ow; ++ow) {                                                     \
        const T *restrict gp = gy + ((n * g->oh + oh) * g->ow + ow) * o;                           \
        int64_t ih0, kh0, kh1, iw0, kw0, kw1;                                                      \
        dlrtWindowSpan(oh, g->stride, g->padding, g->kh, g->h, &ih0, &kh0, &kh1);                  \
        dlrtWindowSpan(ow, g->stride, g->padding, g->kw, g->w, &iw0, &kw0, &kw1);                  \
        for (int64_t kh = kh0; kh < kh1; ++kh) {                                                   \
          int64_t ih = ih0 + kh;                                                                   \
          for (int64_t kw = kw0; kw < kw1; ++kw) {                                                 \
            int64_t iw = iw0 + kw;                                                                 \
            const T *xp = x + ((n * g->h + ih) * g->w + iw) * c;                                   \
            T *fp = part + (kh * g->kw + kw) * c * o;                                              \
            for (int64_t ci = 0; ci < c; ++ci) {                                                   \
              T v = xp[ci];                                                                        \
              T *restrict row = fp + ci * o;                                                       \
              for (int64_t j = 0; j < o; ++j)                                                      \
                row[j] += v * gp[j];                                                               \
            }                                                                                      \
          }                                                                                        \
        }                                                                                          \
      }                                                                                            \
  }

DIRECT_FILTER(directFilterF32, float)
DIRECT_FILTER(directFilterF64, double)

/* The same for OC output channels known at compile time, window entry by
 * window entry: the entry's OC sums stay in registers while the image's
 * pixels (in L2 by then) stream past. Each sum adds the pixels in the same
 * order as DIRECT_FILTER, so the results are the same bits. */
#define DIRECT_FILTER_FIXED(NAME, T, OC)                                                           \
  DLRT_VECTOR_CLONES static void NAME(const Window *g, const T *x, const T *gy, T *part,           \
                                      int64_t n) {                                                 \
    int64_t c = g->c;                                                                              \
    for (int64_t kh = 0; kh < g->kh; ++kh)                                                         \
      for (int64_t kw = 0; kw < g->kw; ++kw)                                                       \
        for (int64_t ci = 0; ci < c; ++ci) {                                                       \
          T acc[OC];                                                                               \
          for (int64_t j = 0; j < OC; ++j)                                                         \
            acc[j] = 0;                                                                            \
          int64_t oh0, oh1, ow0, ow1;                                                              \
          dlrtOutputSpan(kh, g->stride, g->padding, g->h, g->oh, &oh0, &oh1);                      \
          dlrtOutputSpan(kw, g->stride, g->padding, g->w, g->ow, &ow0, &ow1);                      \
          for (int64_t oh = oh0; oh < oh1; ++oh) {                                                 \
            int64_t ih = oh * g->stride - g->padding + kh;                                         \
            for (int64_t ow = ow0; ow < ow1; ++ow) {                                               \
              int64_t iw = ow * g->stride - g->padding + kw;                                       \
              T v = x[((n * g->h + ih) * g->w + iw) * c + ci];                                     \
              const T *restrict gp = gy + ((n * g->oh + oh) * g->ow + ow) * OC;                    \
              for (int64_t j = 0; j < OC; ++j)                                                     \
                acc[j] += v * gp[j];                                                               \
            }                                                                                      \
          }                                                                                        \
          T *row = part + ((kh * g->kw + kw) * c + ci) * OC;                                       \
          for (int64_t j = 0; j < OC; ++j)                                                         \
            row[j] = acc[j];                                                                       \
        }                                                                                          \
  }

DIRECT_FILTER_FIXED(directFilter32F32, float, 32)
DIRECT_FILTER_FIXED(directFilter64F32, float, 64)

typedef struct DirectJob {
  const Window *g;
  int32_t kind;
  const void *x, *other; /* the filter (forward) or g (filter adjoint) */
  void *out;             /* the result, or one filter-sized partial per image */
} DirectJob;

static void directConvRange(void *ctx, int64_t begin, int64_t end) {
  const DirectJob *j = ctx;
  if (j->kind == DLRT_F32 && j->g->o == 32)
    directConv32F32(j->g, j->x, j->other, j->out, begin, end);
  else if (j->kind == DLRT_F32 && j->g->o == 64)
    directConv64F32(j->g, j->x, j->other, j->out, begin, end);
  else if (j->kind == DLRT_F32)
    directConvF32(j->g, j->x, j->other, j->out, begin, end);
  else
    directConvF64(j->g, j->x, j->other, j->out, begin, end);
}

static void directFilterRange(void *ctx, int64_t begin, int64_t end) {
  const DirectJob *j = ctx;
  int64_t size = j->g->kh * j->g->kw * j->g->c * j->g->o;
  for (int64_t n = begin; n < end; ++n) {
    if (j->kind == DLRT_F32)
      if (j->g->o == 32)
        directFilter32F32(j->g, j->x, j->other, (float *)j->out + n * size, n);
      else if (j->g->o == 64)
        directFilter64F32(j->g, j->x, j->other, (float *)j->out + n * size, n);
      else
        directFilterF32(j->g, j->x, j->other, (float *)j->out + n * size, n);
    else
      directFilterF64(j->g, j->x, j->other, (double *)j->out + n * size, n);
  }
}

static int64_t directImageCost(const Window *g) {
  return g->oh * g->ow * g->kh * g->kw * g->c * g->o / 4 + 1;
}

/* --- conv2d -------------------------------------------------------------------------- */

DlTensor *dlrt_t_conv2d(const DlTensor *x, const DlTensor *filter, int64_t stride, int64_t padding,
                        const char *loc) {
  if (!x || !filter)
    return NULL; /* bilinear: a zero tangent operand gives a zero result */
  Window g = convWindow(x, filter, stride, padding, "conv2d", loc);
  int64_t shape[4] = {g.n, g.oh, g.ow, g.o};
  DlTensor *r = dlrtTensorNew(x->kind, 4, shape);
  int64_t size = dlrtKindSize(x->kind), k = g.kh * g.kw * g.c, rows = g.n * g.oh * g.ow;
  if (r->count == 0)
    return r;
  if (k == 0) { /* empty windows sum to zero */
    memset(r->data, 0, (size_t)(r->count * size));
    return r;
  }
  if (isPointwise(&g)) {
    gemm(x->kind, false, false, rows, g.o, k, x->data, k, filter->data, g.o, false, r->data, g.o);
    return r;
  }
  if (useDirect(&g)) {
    DirectJob job = {&g, x->kind, x->data, filter->data, r->data};
    dlrtParallelFor(g.n, directImageCost(&g), directConvRange, &job);
    return r;
  }
  if (x->kind == DLRT_F32 && dlrtConvTiledForward(&g, x->data, filter->data, r->data))
    return r;
  int64_t chunk = chunkRows(&g, size, rows);
  DlTensor *cols = scratchColumns(&g, x->kind, chunk);
  for (int64_t row0 = 0; row0 < rows; row0 += chunk) {
    int64_t m = rows - row0 < chunk ? rows - row0 : chunk;
    im2colParallel(&g, x->data, size, row0, m, cols->data);
    gemm(x->kind, false, false, m, g.o, k, cols->data, k, filter->data, g.o, false,
         (char *)r->data + row0 * g.o * size, g.o);
  }
  dlrt_t_release(cols);
  return r;
}

DlTensor *dlrt_t_conv2d_backward_input(const DlTensor *g, const DlTensor *x, const DlTensor *filter,
                                       int64_t stride, int64_t padding, const char *loc) {
  if (!g)
    return NULL;
  const char *op = "conv2d_backward_input";
  dlrtRequire(x, loc, op);
  dlrtRequire(filter, loc, op);
  Window w = convWindow(x, filter, stride, padding, "conv2d", loc);
  checkOperand(x, g, w.n, w.oh, w.ow, w.o, op, loc);
  int64_t size = dlrtKindSize(x->kind), k = w.kh * w.kw * w.c, rows = w.n * w.oh * w.ow;
  if (x->count == 0)
    return dlrtTensorNew(x->kind, 4, x->shape);
  if (rows == 0 || w.o == 0) /* no output reads x */
    return dlrtTensorZeros(x->kind, 4, x->shape);
  if (isPointwise(&w)) {
    DlTensor *dx = dlrtTensorNew(x->kind, 4, x->shape);
    gemm(x->kind, false, true, rows, k, w.o, g->data, w.o, filter->data, w.o, false, dx->data, k);
    return dx;
  }
  if (k == 0)
    return dlrtTensorZeros(x->kind, 4, x->shape);
  if (x->kind == DLRT_F32) {
    DlTensor *dx = dlrtTensorNew(x->kind, 4, x->shape);
    if (dlrtConvTiledInput(&w, g->data, filter->data, dx->data))
      return dx;
    dlrt_t_release(dx);
  }
  DlTensor *dx = dlrtTensorZeros(x->kind, 4, x->shape);
  int64_t chunk = chunkRows(&w, size, rows);
  DlTensor *cols = scratchColumns(&w, x->kind, chunk);
  for (int64_t row0 = 0; row0 < rows; row0 += chunk) {
    int64_t m = rows - row0 < chunk ? rows - row0 : chunk;
    gemm(x->kind, false, true, m, k, w.o, (const char *)g->data + row0 * w.o * size, w.o,
         filter->data, w.o, false, cols->data, k);
    col2imParallel(&w, x->kind, cols->data, row0, m, dx->data);
  }
  dlrt_t_release(cols);
  return dx;
}

DlTensor *dlrt_t_conv2d_backward_filter(const DlTensor *g, const DlTensor *x,
                                        const DlTensor *filter, int64_t stride, int64_t padding,
                                        const char *loc) {
  if (!g)
    return NULL;
  const char *op = "conv2d_backward_filter";
  dlrtRequire(x, loc, op);
  dlrtRequire(filter, loc, op);
  Window w = convWindow(x, filter, stride, padding, "conv2d", loc);
  checkOperand(x, g, w.n, w.oh, w.ow, w.o, op, loc);
  int64_t size = dlrtKindSize(x->kind), k = w.kh * w.kw * w.c, rows = w.n * w.oh * w.ow;
  DlTensor *df = dlrtTensorNew(x->kind, 4, filter->shape);
  if (df->count == 0)
    return df;
  if (rows == 0) { /* no output: nothing depends on the filter */
    memset(df->data, 0, (size_t)(df->count * size));
    return df;
  }
  if (isPointwise(&w)) {
    gemm(x->kind, true, false, k, w.o, rows, x->data, k, g->data, w.o, false, df->data, w.o);
    return df;
  }
  if (useDirect(&w)) {
    /* One partial per image, summed in image order: the same bits with any
     * thread count. */
    int64_t parts[1] = {w.n * df->count};
    DlTensor *partials = dlrtTensorNew(x->kind, 1, parts);
    DirectJob job = {&w, x->kind, x->data, g->data, partials->data};
    dlrtParallelFor(w.n, directImageCost(&w), directFilterRange, &job);
    memcpy(df->data, partials->data, (size_t)(df->count * size));
    for (int64_t n = 1; n < w.n; ++n) {
      if (x->kind == DLRT_F32) {
        float *d = df->data;
        const float *p = (const float *)partials->data + n * df->count;
        for (int64_t i = 0; i < df->count; ++i)
          d[i] += p[i];
      } else {
        double *d = df->data;
        const double *p = (const double *)partials->data + n * df->count;
        for (int64_t i = 0; i < df->count; ++i)
          d[i] += p[i];
      }
    }
    dlrt_t_release(partials);
    return df;
  }
  if (x->kind == DLRT_F32 && dlrtConvTiledFilter(&w, x->data, g->data, df->data))
    return df;
  /* The chunks' products are summed into df: the first one overwrites it. */
  int64_t chunk = chunkRows(&w, size, rows);
  DlTensor *cols = scratchColumns(&w, x->kind, chunk);
  for (int64_t row0 = 0; row0 < rows; row0 += chunk) {
    int64_t m = rows - row0 < chunk ? rows - row0 : chunk;
    im2colParallel(&w, x->data, size, row0, m, cols->data);
    gemm(x->kind, true, false, k, w.o, m, cols->data, k, (const char *)g->data + row0 * w.o * size,
         w.o, row0 > 0, df->data, w.o);
  }
  dlrt_t_release(cols);
  return df;
}

/* --- Pooling ------------------------------------------------------------------------- */

/* Runs BODY for each input cell of the window of output pixel p, in
 * row-major window order, with `cell` the flat x index of its channel 0.
 * Padded cells are skipped. (Variadic: BODY may hold commas.) */
#define FOR_WINDOW_CELLS(g, p, ...)                                                                \
  do {                                                                                             \
    int64_t ih0_, kh0_, kh1_, iw0_, kw0_, kw1_;                                                    \
    dlrtWindowSpan((p).oh, (g)->stride, (g)->padding, (g)->kh, (g)->h, &ih0_, &kh0_, &kh1_);       \
    dlrtWindowSpan((p).ow, (g)->stride, (g)->padding, (g)->kw, (g)->w, &iw0_, &kw0_, &kw1_);       \
    for (int64_t kh_ = kh0_; kh_ < kh1_; ++kh_)                                                    \
      for (int64_t kw_ = kw0_; kw_ < kw1_; ++kw_) {                                                \
        int64_t cell = (((p).n * (g)->h + ih0_ + kh_) * (g)->w + iw0_ + kw_) * (g)->c;             \
        __VA_ARGS__                                                                                \
      }                                                                                            \
  } while (0)

/* Max pooling works on all channels of a pixel at once, with selects rather
 * than branches: which cell wins depends on the data, so a branch per element
 * mispredicts, and gcc did not vectorize a loop that kept the winners' int64
 * indices beside their float values (max pooling of [128, 28, 28, 32] took
 * 11 ms forward and 13 ms backward, now 1 ms and 2.7 ms). So the maxima come
 * first, values only, and the adjoint and the tangent then route to the first
 * cell equal to each maximum: the cell that "a later cell wins only when it
 * is greater" picks. gcc makes vector blends of these selects only under
 * -fno-trapping-math (runtime/CMakeLists.txt).
 *
 * The per-channel maxima of the window of pixel p into best[c]. Padded cells
 * are skipped, so they never win; a window of padding alone (only when H or
 * W is 0) gives -infinity. A NaN wins, the first one, as in max reductions. */
#define MAX_WINDOW(NAME, T)                                                                        \
  static inline DLRT_ALWAYS_INLINE void NAME(const Window *g, const T *x, Pixel p,                 \
                                             T *restrict best) {                                   \
    int64_t c = g->c;                                                                              \
    for (int64_t j = 0; j < c; ++j)                                                                \
      best[j] = (T)-INFINITY;                                                                      \
    FOR_WINDOW_CELLS(g, p, {                                                                       \
      const T *restrict v = x + cell;                                                              \
      for (int64_t j = 0; j < c; ++j) {                                                            \
        T b = best[j], e = v[j];                                                                   \
        best[j] = (b == b) & !(e <= b) ? e : b;                                                    \
      }                                                                                            \
    });                                                                                            \
  }

MAX_WINDOW(maxWindowF32, float)
MAX_WINDOW(maxWindowF64, double)

/* Whether e is the maximum b: equal, or both NaN. */
#define IS_MAX(e, b) (((e) == (b)) | (((e) != (e)) & ((b) != (b))))

/* The adjoint for pixel p: adds gp[c] to dx at each channel's first maximum
 * (best[c]). `open` is scratch: 1 while a channel's maximum is not found.
 * The sum (and the tangent's read below) is formed whether or not the cell
 * is hit, so that the select is a blend of two values. */
#define MAX_ROUTE_BACK(NAME, T)                                                                    \
  static inline DLRT_ALWAYS_INLINE void NAME(const Window *g, const T *x, Pixel p,                 \
                                             const T *restrict best, const T *restrict gp,         \
                                             T *restrict open, T *dx) {                            \
    int64_t c = g->c;                                                                              \
    for (int64_t j = 0; j < c; ++j)                                                                \
      open[j] = 1;                                                                                 \
    FOR_WINDOW_CELLS(g, p, {                                                                       \
      const T *restrict v = x + cell;                                                              \
      T *restrict d = dx + cell;                                                                   \
      for (int64_t j = 0; j < c; ++j) {                                                            \
        bool hit = (open[j] != 0) & IS_MAX(v[j], best[j]);                                         \
        T sum = d[j] + gp[j];                                                                      \
        d[j] = hit ? sum : d[j];                                                                   \
        open[j] = hit ? (T)0 : open[j];                                                            \
      }                                                                                            \
    });                                                                                            \
  }

MAX_ROUTE_BACK(maxRouteBackF32, float)
MAX_ROUTE_BACK(maxRouteBackF64, double)

/* The tangent for pixel p: out[c] = dx at each channel's first maximum
 * (0 for a window of padding alone). */
#define MAX_ROUTE_TANGENT(NAME, T)                                                                 \
  static inline DLRT_ALWAYS_INLINE void NAME(const Window *g, const T *x, Pixel p,                 \
                                             const T *restrict best, const T *dx,                  \
                                             T *restrict open, T *restrict out) {                  \
    int64_t c = g->c;                                                                              \
    for (int64_t j = 0; j < c; ++j) {                                                              \
      open[j] = 1;                                                                                 \
      out[j] = 0;                                                                                  \
    }                                                                                              \
    FOR_WINDOW_CELLS(g, p, {                                                                       \
      const T *restrict v = x + cell;                                                              \
      const T *restrict d = dx + cell;                                                             \
      for (int64_t j = 0; j < c; ++j) {                                                            \
        bool hit = (open[j] != 0) & IS_MAX(v[j], best[j]);                                         \
        T read = d[j];                                                                             \
        out[j] = hit ? read : out[j];                                                              \
        open[j] = hit ? (T)0 : open[j];                                                            \
      }                                                                                            \
    });                                                                                            \
  }

MAX_ROUTE_TANGENT(maxRouteTangentF32, float)
MAX_ROUTE_TANGENT(maxRouteTangentF64, double)

/* The per-channel averages of the window of pixel p into sum[c]: divided by
 * the full window size, so padded cells count as zeros. */
#define AVG_WINDOW(NAME, T)                                                                        \
  static inline DLRT_ALWAYS_INLINE void NAME(const Window *g, const T *x, Pixel p,                 \
                                             T *restrict sum) {                                    \
    int64_t c = g->c;                                                                              \
    for (int64_t j = 0; j < c; ++j)                                                                \
      sum[j] = 0;                                                                                  \
    FOR_WINDOW_CELLS(g, p, {                                                                       \
      const T *restrict v = x + cell;                                                              \
      for (int64_t j = 0; j < c; ++j)                                                              \
        sum[j] += v[j];                                                                            \
    });                                                                                            \
    T scale = (T)(1.0 / ((double)g->kh * (double)g->kw));                                          \
    for (int64_t j = 0; j < c; ++j)                                                                \
      sum[j] *= scale;                                                                             \
  }

AVG_WINDOW(avgWindowF32, float)
AVG_WINDOW(avgWindowF64, double)

/* Adds share[c] (g / (size * size)) to each input cell of the window of pixel p. */
#define AVG_SPREAD(NAME, T)                                                                        \
  static inline DLRT_ALWAYS_INLINE void NAME(const Window *g, const T *restrict share, Pixel p,    \
                                             T *dx) {                                              \
    int64_t c = g->c;                                                                              \
    FOR_WINDOW_CELLS(g, p, {                                                                       \
      T *restrict d = dx + cell;                                                                   \
      for (int64_t j = 0; j < c; ++j)                                                              \
        d[j] += share[j];                                                                          \
    });                                                                                            \
  }

AVG_SPREAD(avgSpreadF32, float)
AVG_SPREAD(avgSpreadF64, double)

/* Two rows of c elements of scratch per call (the maxima or shares, and the
 * open flags). */
static void *poolScratch(const Window *g) {
  size_t c = (size_t)(g->c > 0 ? g->c : 1);
  void *s = malloc(2 * c * sizeof(double));
  if (!s)
    dlrt_fail("<runtime>", "out of memory");
  return s;
}

/* pool2d over the output pixels of images [n0, n1); `out` advances by c per
 * pixel. */
#define POOL_FORWARD(NAME, T, MAX_FN, AVG_FN)                                                      \
  DLRT_VECTOR_CLONES static void NAME(int32_t op, const Window *g, const T *x, T *out, int64_t n0, \
                                      int64_t n1) {                                                \
    int64_t pixels = (n1 - n0) * g->oh * g->ow;                                                    \
    Pixel p = {n0, 0, 0};                                                                          \
    out += n0 * g->oh * g->ow * g->c;                                                              \
    for (int64_t i = 0; i < pixels; ++i, nextPixel(g, &p), out += g->c) {                          \
      if (op == DLRT_POOL_MAX)                                                                     \
        MAX_FN(g, x, p, out);                                                                      \
      else                                                                                         \
        AVG_FN(g, x, p, out);                                                                      \
    }                                                                                              \
  }

POOL_FORWARD(poolF32, float, maxWindowF32, avgWindowF32)
POOL_FORWARD(poolF64, double, maxWindowF64, avgWindowF64)

/* The adjoint over the output pixels of images [n0, n1), each writing only
 * its own image of dx: max adds each g to its window's first maximum, avg
 * spreads it. */
#define POOL_BACKWARD(NAME, T, MAX_FN, ROUTE_FN, SPREAD_FN)                                        \
  DLRT_VECTOR_CLONES static void NAME(int32_t op, const Window *w, const T *g, const T *x, T *dx,  \
                                      T *scratch, int64_t n0, int64_t n1, bool tiled) {            \
    int64_t pixels = (n1 - n0) * w->oh * w->ow, c = w->c;                                          \
    T *best = scratch, *open = scratch + c;                                                        \
    T scale = (T)(1.0 / ((double)w->kh * (double)w->kw));                                          \
    Pixel p = {n0, 0, 0};                                                                          \
    g += n0 * w->oh * w->ow * c;                                                                   \
    for (int64_t i = 0; i < pixels; ++i, nextPixel(w, &p), g += c) {                               \
      if (tiled) /* dx was not cleared: this window is the only one on its cells */                \
        FOR_WINDOW_CELLS(w, p, { memset(dx + cell, 0, (size_t)c * sizeof(T)); });                  \
      if (op == DLRT_POOL_MAX) {                                                                   \
        MAX_FN(w, x, p, best);                                                                     \
        ROUTE_FN(w, x, p, best, g, open, dx);                                                      \
      } else {                                                                                     \
        for (int64_t j = 0; j < c; ++j)                                                            \
          best[j] = g[j] * scale;                                                                  \
        SPREAD_FN(w, best, p, dx);                                                                 \
      }                                                                                            \
    }                                                                                              \
  }

POOL_BACKWARD(poolBackwardF32, float, maxWindowF32, maxRouteBackF32, avgSpreadF32)
POOL_BACKWARD(poolBackwardF64, double, maxWindowF64, maxRouteBackF64, avgSpreadF64)

/* Max pooling's tangent: dx read at each window's first maximum of x. */
#define MAX_TANGENT(NAME, T, MAX_FN, ROUTE_FN)                                                     \
  static void NAME(const Window *g, const T *dx, const T *x, T *out, T *scratch) {                 \
    int64_t pixels = g->n * g->oh * g->ow, c = g->c;                                               \
    T *best = scratch, *open = scratch + c;                                                        \
    Pixel p = {0, 0, 0};                                                                           \
    for (int64_t i = 0; i < pixels; ++i, nextPixel(g, &p), out += c) {                             \
      MAX_FN(g, x, p, best);                                                                       \
      ROUTE_FN(g, x, p, best, dx, open, out);                                                      \
    }                                                                                              \
  }

MAX_TANGENT(maxTangentF32, float, maxWindowF32, maxRouteTangentF32)
MAX_TANGENT(maxTangentF64, double, maxWindowF64, maxRouteTangentF64)

/* Pooling on the thread pool, an image per item. */
typedef struct PoolJob {
  int32_t op, kind;
  bool tiled; /* backward: the windows tile x exactly (see dlrt_t_pool2d_backward) */
  const Window *w;
  const void *g, *x;
  void *out; /* the result (forward) or dx (backward) */
  char *scratch; /* backward: 2c doubles per image */
} PoolJob;

static int64_t poolImageCost(const Window *w) { return w->oh * w->ow * w->c * w->kh * w->kw; }

static void poolRange(void *ctx, int64_t begin, int64_t end) {
  const PoolJob *j = ctx;
  if (j->kind == DLRT_F32)
    poolF32(j->op, j->w, j->x, j->out, begin, end);
  else
    poolF64(j->op, j->w, j->x, j->out, begin, end);
}

static void poolBackwardRange(void *ctx, int64_t begin, int64_t end) {
  const PoolJob *j = ctx;
  size_t stride = 2 * (size_t)(j->w->c > 0 ? j->w->c : 1) * sizeof(double);
  void *scratch = j->scratch + (size_t)begin * stride; /* the first image's slot */
  if (j->kind == DLRT_F32)
    poolBackwardF32(j->op, j->w, j->g, j->x, j->out, scratch, begin, end, j->tiled);
  else
    poolBackwardF64(j->op, j->w, j->g, j->x, j->out, scratch, begin, end, j->tiled);
}

DlTensor *dlrt_t_pool2d(int32_t op, const DlTensor *x, int64_t size, int64_t stride,
                        int64_t padding, const char *loc) {
  if (!x)
    return NULL; /* the pool of zeros is zeros (padding never wins a max) */
  Window g = poolWindow(op, x, size, stride, padding, loc);
  int64_t shape[4] = {g.n, g.oh, g.ow, g.c};
  DlTensor *r = dlrtTensorNew(x->kind, 4, shape);
  if (r->count == 0)
    return r;
  PoolJob job = {op, x->kind, false, &g, NULL, x->data, r->data, NULL};
  dlrtParallelFor(g.n, poolImageCost(&g), poolRange, &job);
  return r;
}

DlTensor *dlrt_t_pool2d_backward(int32_t op, const DlTensor *g, const DlTensor *x, int64_t size,
                                 int64_t stride, int64_t padding, const char *loc) {
  if (!g)
    return NULL;
  const char *name = op == DLRT_POOL_MAX ? "maxPool2d_backward" : "avgPool2d_backward";
  dlrtRequire(x, loc, name);
  Window w = poolWindow(op, x, size, stride, padding, loc);
  checkOperand(x, g, w.n, w.oh, w.ow, w.c, name, loc);
  /* Windows that tile x exactly (stride = size, no padding, no cells left
   * over) each own their cells: every window clears its own as it goes,
   * instead of a pass clearing all of dx first. */
  bool tiled = w.stride == w.kh && w.kh == w.kw && w.padding == 0 && w.oh * w.stride == w.h &&
               w.ow * w.stride == w.w && g->count > 0;
  DlTensor *dx = tiled ? dlrtTensorNew(x->kind, 4, x->shape) : dlrtTensorZeros(x->kind, 4, x->shape);
  if (g->count == 0)
    return dx;
  /* One scratch slot per image: ranges are disjoint, so each range uses the
   * slot of its first image. */
  size_t slot = 2 * (size_t)(w.c > 0 ? w.c : 1) * sizeof(double);
  char *scratch = malloc(slot * (size_t)w.n);
  if (!scratch)
    dlrt_fail(loc, "out of memory");
  PoolJob job = {op, x->kind, tiled, &w, g->data, x->data, dx->data, scratch};
  dlrtParallelFor(w.n, 2 * poolImageCost(&w), poolBackwardRange, &job);
  free(scratch);
  return dx;
}

DlTensor *dlrt_t_max_pool2d_tangent(const DlTensor *dx, const DlTensor *x, int64_t size,
                                    int64_t stride, int64_t padding, const char *loc) {
  if (!dx)
    return NULL;
  const char *name = "maxPool2d_tangent";
  dlrtRequire(x, loc, name);
  Window g = poolWindow(DLRT_POOL_MAX, x, size, stride, padding, loc);
  checkOperand(x, dx, x->shape[0], x->shape[1], x->shape[2], x->shape[3], name, loc);
  int64_t shape[4] = {g.n, g.oh, g.ow, g.c};
  DlTensor *r = dlrtTensorNew(x->kind, 4, shape);
  if (r->count == 0)
    return r;
  void *scratch = poolScratch(&g);
  if (x->kind == DLRT_F32)
    maxTangentF32(&g, dx->data, x->data, r->data, scratch);
  else
    maxTangentF64(&g, dx->data, x->data, r->data, scratch);
  free(scratch);
  return r;
}
