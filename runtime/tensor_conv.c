/* Tiled Float convolution kernels for wide windows (KH*KW*C above
 * tensor_nn.c's direct limit) whose output channels come in whole vectors
 * of 16: the three passes of conv2d without the column matrix in memory.
 *
 * Why: im2col + GEMM writes the column matrix (KH*KW times x) to memory and
 * reads it back, GEMM packs both operands again, and the input adjoint
 * writes its own column matrix for col2im to read. For a 3 x 3 x 32 -> 64
 * layer on a batch of 128 14 x 14 images that was 17 ms of which GEMM's
 * arithmetic is about half. Here each pass keeps its operands in cache:
 *   forward          R output pixels at a time: their window rows (the rows
 *                    of the column matrix, R x K, a few KB) are gathered
 *                    into a buffer, and a register tile of R pixels x 16V
 *                    channels runs over K with the filter streaming from L2.
 *   backward_input   for stride 1 the input adjoint is a forward convolution
 *                    of g, padded by K - 1 - p, with the filter flipped in
 *                    both spatial axes and its channel axes swapped.
 *   backward_filter  per image, a register tile of R input channels x 16V
 *                    output channels at one window offset (kh, kw) runs over
 *                    the image's pixels, reading x and g where they lie.
 * Every sum is taken in a fixed order (the forward and input sums over the
 * window in (kh, kw, c) order; the filter sums over the images of a fixed
 * group, the groups then added in order), so the results do not depend on
 * the thread count. They differ from the GEMM path's in rounding only.
 *
 * Each entry point returns false when its conditions do not hold (the
 * shapes, or a CPU without AVX-512: see wideVectors), and the caller takes
 * the im2col path. */
#include "runtime/tensor_internal.h"

#include <string.h>

/* 16 floats: one AVX-512 register; the baseline clones split it. aligned(4):
 * loads and stores need not be 64-byte aligned. */
typedef float Vec16 __attribute__((vector_size(64), aligned(4)));

/* Macros, not functions: a function passing Vec16 by value would have a
 * different ABI in each clone. */
#define loadVec(p) (*(const Vec16 *)(p))
#define storeVec(p, v) (*(Vec16 *)(p) = (v))

/* Pixels per forward tile for V vectors of output channels: R x V sums in
 * registers, 24 of AVX-512's 32, the rest for the filter's V vectors. */
enum { kTileV4 = 6, kTileV2 = 12, kTileV1 = 12 };

/* The gathered window rows of a tile live on the stack of the thread that
 * runs it (workers too): 64 KB at most, so K up to 2730 (3 x 3 x 303) at
 * R = 6. Wider windows take the im2col path. */
enum { kMaxTileFloats = 16384 };

/* out[r, 16v + j] = sum over i < k of a[r * k + i] * f[i * ldf + 16v + j],
 * for r < R and v < V: R rows of the column matrix times V vectors of the
 * filter's columns, out's rows `ldo` apart. */
#define CONV_TILE(NAME, V, R)                                                                      \
  DLRT_VECTOR_CLONES static void NAME(const float *a, int64_t k, const float *f, int64_t ldf,     \
                                      float *out, int64_t ldo) {                                   \
    Vec16 acc[R][V];                                                                               \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] = (Vec16){0};                  \
    for (int64_t i = 0; i < k; ++i) {                                                              \
      Vec16 fv[V];                                                                                 \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) fv[v] = loadVec(f + i * ldf + 16 * v);   \
      _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r) {                                       \
        float s = a[r * k + i];                                                                    \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] += s * fv[v];                \
      }                                                                                            \
    }                                                                                              \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) storeVec(out + r * ldo + 16 * v,         \
                                                                   acc[r][v]);                     \
  }

CONV_TILE(convTileV4, 4, kTileV4)
CONV_TILE(convTileV2, 2, kTileV2)
CONV_TILE(convTileV1, 1, kTileV1)

/* The tiles are sized for AVX-512's 32 registers of 16 floats. With
 * narrower vectors they spill: measured on the development VM with the AVX2
 * build, the 3x3x32->64 layer took 432 ms instead of 9.5 ms (and 21 ms by
 * im2col). So the tiled kernels run only where the AVX-512 clone does: a
 * GCC build for x86-64 on a CPU with AVX-512F; elsewhere im2col it is. */
static bool wideVectors(void) {
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("x86-64-v4"); /* the level of the clone the loader picks */
#else
  return false;
#endif
}

/* The vectors per register tile for o output channels (0: not handled):
 * blocks of 4 vectors, or a single block of 1 or 2. */
static int tileVectors(int64_t o) {
  if (o % 64 == 0)
    return 4;
  if (o == 32 || o == 16)
    return (int)(o / 16);
  return 0;
}

static int tilePixels(int vectors) {
  return vectors == 4 ? kTileV4 : vectors == 2 ? kTileV2 : kTileV1;
}

typedef struct TiledJob {
  const DlrtWindow *g;
  const float *x, *f; /* input and the [K, O] filter */
  float *out;         /* [P, O] */
  int64_t pixels;     /* P = N * OH * OW */
  int vectors, tile;  /* V and R */
} TiledJob;

/* Tiles [begin, end) of R pixels each; the last tile ends at P, overlapping
 * the one before when R does not divide P (those pixels are computed twice,
 * the same way, so the result is the same). */
static void tiledRange(void *ctx, int64_t begin, int64_t end) {
  const TiledJob *j = ctx;
  const DlrtWindow *g = j->g;
  int64_t k = g->kh * g->kw * g->c, r = j->tile;
  float a[r * k]; /* at most kMaxTileFloats: runTiled checks */
  for (int64_t t = begin; t < end; ++t) {
    int64_t p0 = t * r;
    if (p0 + r > j->pixels)
      p0 = j->pixels - r;
    dlrtIm2col(g, (const char *)j->x, 4, p0, r, (char *)a);
    float *out = j->out + p0 * g->o;
    for (int64_t o0 = 0; o0 < g->o; o0 += 16 * j->vectors) {
      if (j->vectors == 4)
        convTileV4(a, k, j->f + o0, g->o, out + o0, g->o);
      else if (j->vectors == 2)
        convTileV2(a, k, j->f + o0, g->o, out + o0, g->o);
      else
        convTileV1(a, k, j->f + o0, g->o, out + o0, g->o);
    }
  }
}

/* out [N, OH, OW, O] = conv2d(x, f) for the geometry g, tiled; false when g
 * is not a case for it. */
static bool runTiled(const DlrtWindow *g, const float *x, const float *f, float *out) {
  int vectors = tileVectors(g->o);
  if (vectors == 0 || !wideVectors())
    return false;
  int tile = tilePixels(vectors);
  int64_t pixels = g->n * g->oh * g->ow, k = g->kh * g->kw * g->c;
  if (pixels < tile || tile * k > kMaxTileFloats)
    return false;
  TiledJob job = {g, x, f, out, pixels, vectors, tile};
  int64_t tiles = (pixels + tile - 1) / tile;
  dlrtParallelFor(tiles, tile * k * g->o / 16 + 1, tiledRange, &job);
  return true;
}

bool dlrtConvTiledForward(const DlrtWindow *g, const float *x, const float *f, float *out) {
  return runTiled(g, x, f, out);
}

/* For stride 1 and a square filter with p <= K - 1: dx[n, ih, iw, c] =
 * sum over (kh, kw, o) of g[n, ih + p - kh, iw + p - kw, o] f[kh, kw, c, o],
 * which is conv2d of g padded by K - 1 - p with ft[kh', kw', o, c] =
 * f[K - 1 - kh', K - 1 - kw', c, o]. */
bool dlrtConvTiledInput(const DlrtWindow *g, const float *gy, const float *f, float *dx) {
  if (!wideVectors() || g->stride != 1 || g->kh != g->kw || g->padding > g->kh - 1 || tileVectors(g->c) == 0)
    return false;
  DlrtWindow t = {.n = g->n,
                  .h = g->oh,
                  .w = g->ow,
                  .c = g->o,
                  .kh = g->kh,
                  .kw = g->kw,
                  .o = g->c,
                  .stride = 1,
                  .padding = g->kh - 1 - g->padding,
                  .oh = g->h,
                  .ow = g->w};
  int64_t count = g->kh * g->kw * g->c * g->o;
  DlTensor *flipped = dlrtTensorNew(DLRT_F32, 1, &count);
  float *ft = flipped->data;
  for (int64_t kh = 0; kh < g->kh; ++kh)
    for (int64_t kw = 0; kw < g->kw; ++kw) {
      const float *src = f + ((g->kh - 1 - kh) * g->kw + (g->kw - 1 - kw)) * g->c * g->o;
      float *dst = ft + (kh * g->kw + kw) * g->o * g->c;
      for (int64_t c = 0; c < g->c; ++c)
        for (int64_t o = 0; o < g->o; ++o)
          dst[o * g->c + c] = src[c * g->o + o];
    }
  bool done = runTiled(&t, gy, ft, dx);
  dlrt_t_release(flipped);
  return done;
}

/* --- Filter adjoint ------------------------------------------------------------------- */

/* Input channels per filter-adjoint tile for V vectors of output channels. */
enum { kFilterTileV4 = 4, kFilterTileV2 = 8, kFilterTileV1 = 8 };

/* part[(kh, kw, c0 + r), o0 + 16v + j] (+)= sum over the output pixels of
 * image `n` whose window cell (kh, kw) lies inside x of
 * x[n, ih, iw, c0 + r] * gy[n, oh, ow, o0 + 16v + j]; `first` starts the sums
 * at zero instead of at part's values. */
#define FILTER_TILE(NAME, V, R)                                                                    \
  DLRT_VECTOR_CLONES static void NAME(const DlrtWindow *g, const float *x, const float *gy,       \
                                      int64_t n, int64_t kh, int64_t kw, int64_t c0, int64_t o0,   \
                                      float *part, bool first) {                                   \
    int64_t c = g->c, o = g->o;                                                                    \
    float *dst = part + ((kh * g->kw + kw) * c + c0) * o + o0;                                     \
    Vec16 acc[R][V];                                                                               \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] =                              \
          first ? (Vec16){0} : loadVec(dst + r * o + 16 * v);                                      \
    for (int64_t oh = 0; oh < g->oh; ++oh) {                                                       \
      int64_t ih = oh * g->stride - g->padding + kh;                                               \
      if (ih < 0 || ih >= g->h)                                                                    \
        continue;                                                                                  \
      for (int64_t ow = 0; ow < g->ow; ++ow) {                                                     \
        int64_t iw = ow * g->stride - g->padding + kw;                                             \
        if (iw < 0 || iw >= g->w)                                                                  \
          continue;                                                                                \
        const float *xp = x + ((n * g->h + ih) * g->w + iw) * c + c0;                              \
        const float *gp = gy + ((n * g->oh + oh) * g->ow + ow) * o + o0;                           \
        Vec16 gv[V];                                                                               \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) gv[v] = loadVec(gp + 16 * v);          \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r) {                                     \
          float s = xp[r];                                                                         \
          _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] += s * gv[v];              \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) storeVec(dst + r * o + 16 * v,           \
                                                                   acc[r][v]);                     \
  }

FILTER_TILE(filterTileV4, 4, kFilterTileV4)
FILTER_TILE(filterTileV2, 2, kFilterTileV2)
FILTER_TILE(filterTileV1, 1, kFilterTileV1)

/* Images per partial sum: at most 16 partials, a function of N alone so that
 * the result does not depend on the thread count. */
static int64_t imagesPerGroup(int64_t n) { return (n + 15) / 16; }

typedef struct FilterJob {
  const DlrtWindow *g;
  const float *x, *gy;
  float *parts; /* one [K, O] partial per group */
  int vectors, tile;
} FilterJob;

static void filterRange(void *ctx, int64_t begin, int64_t end) {
  const FilterJob *j = ctx;
  const DlrtWindow *g = j->g;
  int64_t per = imagesPerGroup(g->n), size = g->kh * g->kw * g->c * g->o;
  for (int64_t group = begin; group < end; ++group) {
    float *part = j->parts + group * size;
    int64_t n0 = group * per, n1 = n0 + per < g->n ? n0 + per : g->n;
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t kh = 0; kh < g->kh; ++kh)
        for (int64_t kw = 0; kw < g->kw; ++kw)
          for (int64_t c0 = 0; c0 < g->c; c0 += j->tile)
            for (int64_t o0 = 0; o0 < g->o; o0 += 16 * j->vectors) {
              if (j->vectors == 4)
                filterTileV4(g, j->x, j->gy, n, kh, kw, c0, o0, part, n == n0);
              else if (j->vectors == 2)
                filterTileV2(g, j->x, j->gy, n, kh, kw, c0, o0, part, n == n0);
              else
                filterTileV1(g, j->x, j->gy, n, kh, kw, c0, o0, part, n == n0);
            }
  }
}

bool dlrtConvTiledFilter(const DlrtWindow *g, const float *x, const float *gy, float *df) {
  int vectors = tileVectors(g->o);
  if (vectors == 0 || g->n == 0 || !wideVectors())
    return false;
  int tile = vectors == 4 ? kFilterTileV4 : vectors == 2 ? kFilterTileV2 : kFilterTileV1;
  if (g->c % tile != 0)
    return false;
  int64_t per = imagesPerGroup(g->n), groups = (g->n + per - 1) / per;
  int64_t size = g->kh * g->kw * g->c * g->o;
  DlTensor *partials = NULL;
  float *parts = df;
  if (groups > 1) {
    int64_t count = groups * size;
    partials = dlrtTensorNew(DLRT_F32, 1, &count);
    parts = partials->data;
  }
  FilterJob job = {g, x, gy, parts, vectors, tile};
  dlrtParallelFor(groups, per * g->oh * g->ow * size / 16 + 1, filterRange, &job);
  if (groups > 1) {
    memcpy(df, parts, (size_t)(size * 4));
    for (int64_t group = 1; group < groups; ++group) {
      const float *p = parts + group * size;
      for (int64_t i = 0; i < size; ++i)
        df[i] += p[i];
    }
    dlrt_t_release(partials);
  }
  return true;
}
