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
 * The kernels come in two sets, each compiled for its instruction set and
 * with register tiles sized for it: AVX-512 (32 registers of 16 floats) and
 * AVX2 with FMA (16 registers of 8). Sized for the wrong one they spill: the
 * AVX-512 tiles built for AVX2 took the CNN's second layer 432 ms instead
 * of 9.5 ms. The CPU picks the set (convLevel); a CPU with neither, or a
 * build by another compiler, takes im2col.
 *
 * Each entry point returns false when its conditions do not hold, and the
 * caller takes the im2col path. */
#include "runtime/tensor_internal.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define DLRT_TARGET_V4 __attribute__((target("arch=x86-64-v4")))
#define DLRT_TARGET_V3 __attribute__((target("arch=x86-64-v3")))
#define DLRT_HAVE_TILES 1
#else
#define DLRT_TARGET_V4
#define DLRT_TARGET_V3
#define DLRT_HAVE_TILES 0
#endif

/* One register of floats. aligned(4): loads and stores need not be aligned. */
typedef float Vec16 __attribute__((vector_size(64), aligned(4)));
typedef float Vec8 __attribute__((vector_size(32), aligned(4)));

#define LOAD(VT, p) (*(const VT *)(p))
#define STORE(VT, p, v) (*(VT *)(p) = (v))

/* The instruction-set level whose kernels run: 4 (x86-64-v4, AVX-512), 3
 * (x86-64-v3, AVX2 and FMA) or 0 (none: im2col). A test may lower it. */
static _Atomic int levelForTests = -1;

static int cpuLevel(void) {
#if DLRT_HAVE_TILES
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v4"))
    return 4;
  if (__builtin_cpu_supports("x86-64-v3"))
    return 3;
#endif
  return 0;
}

static int convLevel(void) {
  int cpu = cpuLevel(), forced = atomic_load_explicit(&levelForTests, memory_order_relaxed);
  return forced >= 0 && forced < cpu ? forced : cpu;
}

void dlrtSetConvLevelForTests(int level) {
  atomic_store_explicit(&levelForTests, level, memory_order_relaxed);
}

int dlrtConvLevel(void) { return convLevel(); }

/* The gathered window rows of a tile live on the stack of the thread that
 * runs it (workers too): 64 KB at most, so K up to 2730 (3 x 3 x 303) at
 * R = 6. Wider windows take the im2col path. */
enum { kMaxTileFloats = 16384 };

/* out[r, L*v + j] = sum over i < k of a[r * k + i] * f[i * ldf + L*v + j],
 * for r < R and v < V (vectors of L floats): R rows of the column matrix
 * times V vectors of the filter's columns, out's rows `ldo` apart. The R x V
 * sums stay in registers. */
#define CONV_TILE(NAME, TARGET, VT, L, V, R)                                                       \
  TARGET static void NAME(const float *a, int64_t k, const float *f, int64_t ldf, float *out,      \
                          int64_t ldo) {                                                           \
    VT acc[R][V];                                                                                  \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] = (VT){0};                   \
    for (int64_t i = 0; i < k; ++i) {                                                              \
      VT fv[V];                                                                                    \
      _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) fv[v] = LOAD(VT, f + i * ldf + L * v);   \
      _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r) {                                       \
        float s = a[r * k + i];                                                                    \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] += s * fv[v];                \
      }                                                                                            \
    }                                                                                              \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v)                                        \
            STORE(VT, out + r * ldo + L * v, acc[r][v]);                                           \
  }

/* AVX-512: 24 sums of the 32 registers; AVX2: 12 of the 16. */
CONV_TILE(convTile64V4, DLRT_TARGET_V4, Vec16, 16, 4, 6)
CONV_TILE(convTile32V4, DLRT_TARGET_V4, Vec16, 16, 2, 12)
CONV_TILE(convTile16V4, DLRT_TARGET_V4, Vec16, 16, 1, 12)
CONV_TILE(convTile16V3, DLRT_TARGET_V3, Vec8, 8, 2, 6)

typedef void (*ConvTileFn)(const float *a, int64_t k, const float *f, int64_t ldf, float *out,
                           int64_t ldo);

/* How a forward pass with o output channels is tiled: `block` channels and
 * `pixels` pixels per kernel call; false when o does not fit. */
typedef struct ConvPlan {
  ConvTileFn fn;
  int block, pixels;
} ConvPlan;

/* Which kernel variant serves o output channels at the CPU's level: 0 to 2
 * the AVX-512 ones for a multiple of 64, for 32 and for 16 channels, 3 the
 * AVX2 one for a multiple of 16; -1 none. */
static int variantFor(int64_t o) {
  switch (convLevel()) {
  case 4:
    return o % 64 == 0 ? 0 : o == 32 ? 1 : o == 16 ? 2 : -1;
  case 3:
    return o % 16 == 0 ? 3 : -1;
  default:
    return -1;
  }
}

static const ConvPlan kConvPlans[4] = {
    {convTile64V4, 64, 6}, {convTile32V4, 32, 12}, {convTile16V4, 16, 12}, {convTile16V3, 16, 6}};

static bool convPlan(int64_t o, ConvPlan *p) {
  int v = variantFor(o);
  if (v >= 0)
    *p = kConvPlans[v];
  return v >= 0;
}

typedef struct TiledJob {
  const DlrtWindow *g;
  const float *x, *f; /* input and the [K, O] filter */
  float *out;         /* [P, O] */
  int64_t pixels;     /* P = N * OH * OW */
  ConvPlan plan;
} TiledJob;

/* Tiles [begin, end) of R pixels each; the last tile ends at P, overlapping
 * the one before when R does not divide P (those pixels are computed twice,
 * the same way, so the result is the same). */
static void tiledRange(void *ctx, int64_t begin, int64_t end) {
  const TiledJob *j = ctx;
  const DlrtWindow *g = j->g;
  int64_t k = g->kh * g->kw * g->c, r = j->plan.pixels;
  float a[r * k]; /* at most kMaxTileFloats: runTiled checks */
  for (int64_t t = begin; t < end; ++t) {
    int64_t p0 = t * r;
    if (p0 + r > j->pixels)
      p0 = j->pixels - r;
    dlrtIm2col(g, (const char *)j->x, 4, p0, r, (char *)a);
    float *out = j->out + p0 * g->o;
    for (int64_t o0 = 0; o0 < g->o; o0 += j->plan.block)
      j->plan.fn(a, k, j->f + o0, g->o, out + o0, g->o);
  }
}

/* out [N, OH, OW, O] = conv2d(x, f) for the geometry g, tiled; false when g
 * is not a case for it. */
static bool runTiled(const DlrtWindow *g, const float *x, const float *f, float *out) {
  ConvPlan plan;
  if (!convPlan(g->o, &plan))
    return false;
  int64_t pixels = g->n * g->oh * g->ow, k = g->kh * g->kw * g->c;
  if (pixels < plan.pixels || plan.pixels * k > kMaxTileFloats)
    return false;
  TiledJob job = {g, x, f, out, pixels, plan};
  int64_t tiles = (pixels + plan.pixels - 1) / plan.pixels;
  dlrtParallelFor(tiles, plan.pixels * k * g->o / 16 + 1, tiledRange, &job);
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
  ConvPlan plan;
  if (g->stride != 1 || g->kh != g->kw || g->padding > g->kh - 1 || !convPlan(g->c, &plan))
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

/* part[(kh, kw, c0 + r), o0 + L*v + j] (+)= sum over the output pixels of
 * image `n` whose window cell (kh, kw) lies inside x of
 * x[n, ih, iw, c0 + r] * gy[n, oh, ow, o0 + L*v + j], for r < R input
 * channels and v < V vectors of L output channels; `first` starts the sums
 * at zero instead of at part's values. */
#define FILTER_TILE(NAME, TARGET, VT, L, V, R)                                                     \
  TARGET static void NAME(const DlrtWindow *g, const float *x, const float *gy, int64_t n,         \
                          int64_t kh, int64_t kw, int64_t c0, int64_t o0, float *part,             \
                          bool first) {                                                            \
    int64_t c = g->c, o = g->o;                                                                    \
    float *dst = part + ((kh * g->kw + kw) * c + c0) * o + o0;                                     \
    VT acc[R][V];                                                                                  \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] =                            \
            first ? (VT){0} : LOAD(VT, dst + r * o + L * v);                                       \
    int64_t oh0, oh1, ow0, ow1;                                                                    \
    dlrtOutputSpan(kh, g->stride, g->padding, g->h, g->oh, &oh0, &oh1);                            \
    dlrtOutputSpan(kw, g->stride, g->padding, g->w, g->ow, &ow0, &ow1);                            \
    for (int64_t oh = oh0; oh < oh1; ++oh) {                                                       \
      int64_t ih = oh * g->stride - g->padding + kh;                                               \
      for (int64_t ow = ow0; ow < ow1; ++ow) {                                                     \
        int64_t iw = ow * g->stride - g->padding + kw;                                             \
        const float *xp = x + ((n * g->h + ih) * g->w + iw) * c + c0;                              \
        const float *gp = gy + ((n * g->oh + oh) * g->ow + ow) * o + o0;                           \
        VT gv[V];                                                                                  \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) gv[v] = LOAD(VT, gp + L * v);          \
        _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r) {                                     \
          float s = xp[r];                                                                         \
          _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v) acc[r][v] += s * gv[v];              \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
    _Pragma("GCC unroll 16") for (int r = 0; r < R; ++r)                                           \
        _Pragma("GCC unroll 4") for (int v = 0; v < V; ++v)                                        \
            STORE(VT, dst + r * o + L * v, acc[r][v]);                                             \
  }

FILTER_TILE(filterTile64V4, DLRT_TARGET_V4, Vec16, 16, 4, 4)
FILTER_TILE(filterTile32V4, DLRT_TARGET_V4, Vec16, 16, 2, 8)
FILTER_TILE(filterTile16V4, DLRT_TARGET_V4, Vec16, 16, 1, 8)
FILTER_TILE(filterTile16V3, DLRT_TARGET_V3, Vec8, 8, 2, 4)

typedef void (*FilterTileFn)(const DlrtWindow *g, const float *x, const float *gy, int64_t n,
                             int64_t kh, int64_t kw, int64_t c0, int64_t o0, float *part,
                             bool first);

/* How a filter adjoint with o output channels is tiled: `block` output and
 * `channels` input channels per kernel call; false when o does not fit. */
typedef struct FilterPlan {
  FilterTileFn fn;
  int block, channels;
} FilterPlan;

static const FilterPlan kFilterPlans[4] = {{filterTile64V4, 64, 4},
                                           {filterTile32V4, 32, 8},
                                           {filterTile16V4, 16, 8},
                                           {filterTile16V3, 16, 4}};

static bool filterPlan(int64_t o, FilterPlan *p) {
  int v = variantFor(o);
  if (v >= 0)
    *p = kFilterPlans[v];
  return v >= 0;
}

/* Images per partial sum: at most 16 partials, a function of N alone so that
 * the result does not depend on the thread count. */
static int64_t imagesPerGroup(int64_t n) { return (n + 15) / 16; }

typedef struct FilterJob {
  const DlrtWindow *g;
  const float *x, *gy;
  float *parts; /* one [K, O] partial per group */
  FilterPlan plan;
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
          for (int64_t c0 = 0; c0 < g->c; c0 += j->plan.channels)
            for (int64_t o0 = 0; o0 < g->o; o0 += j->plan.block)
              j->plan.fn(g, j->x, j->gy, n, kh, kw, c0, o0, part, n == n0);
  }
}

bool dlrtConvTiledFilter(const DlrtWindow *g, const float *x, const float *gy, float *df) {
  FilterPlan plan;
  if (g->n == 0 || !filterPlan(g->o, &plan) || g->c % plan.channels != 0)
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
  FilterJob job = {g, x, gy, parts, plan};
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
