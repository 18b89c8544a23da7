/* Tensors, part two: creation (full, scalar, arange, from nested arrays,
 * fill_like, materialize) and the random number generator behind randn,
 * rand and glorot. */
#include "runtime/tensor_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* --- Creation ------------------------------------------------------------------ */

/* The rank of a shape given as [Int], checked. */
static int32_t shapeRank(const DlArray *shape, const char *loc) {
  if (shape->count > DLRT_MAX_RANK) {
    char message[96];
    snprintf(message, sizeof message, "tensors have at most 8 axes; cannot create one of rank %lld",
             (long long)shape->count);
    dlrt_fail(loc, message);
  }
  for (int64_t i = 0; i < shape->count; ++i)
    if (dlrtArrayInts(shape)[i] < 0)
      dlrtFailShape("negative dimension in shape", (int32_t)shape->count, dlrtArrayInts(shape),
                    loc);
  return (int32_t)shape->count;
}

static DlTensor *newFromShape(int32_t kind, const DlArray *shape, const char *loc) {
  return dlrtTensorNew(kind, shapeRank(shape, loc), dlrtArrayInts(shape));
}

/* Fills `t` with `value` converted to its kind. */
static void fill(DlTensor *t, double value) {
  int64_t n = t->count;
  switch (t->kind) {
  case DLRT_F32: {
    float *x = t->data;
    float v = (float)value;
    for (int64_t i = 0; i < n; ++i)
      x[i] = v;
    return;
  }
  case DLRT_F64: {
    double *x = t->data;
    for (int64_t i = 0; i < n; ++i)
      x[i] = value;
    return;
  }
  case DLRT_I64: {
    int64_t *x = t->data;
    int64_t v = (int64_t)value;
    for (int64_t i = 0; i < n; ++i)
      x[i] = v;
    return;
  }
  case DLRT_BOOL:
    memset(t->data, value != 0, (size_t)n);
    return;
  }
}

DlTensor *dlrt_t_full(int32_t kind, const DlArray *shape, double value, const char *loc) {
  DlTensor *t = newFromShape(kind, shape, loc);
  fill(t, value);
  return t;
}

DlTensor *dlrt_t_scalar(int32_t kind, double value) {
  DlTensor *t = dlrtTensorNew(kind, 0, NULL);
  fill(t, value);
  return t;
}

DlTensor *dlrt_t_arange(int32_t kind, int64_t n, const char *loc) {
  if (n < 0) {
    char message[96];
    snprintf(message, sizeof message, "arange of a negative count (%lld)", (long long)n);
    dlrt_fail(loc, message);
  }
  DlTensor *t = dlrtTensorNew(kind, 1, &n);
  switch (kind) {
  case DLRT_F32:
    for (int64_t i = 0; i < n; ++i)
      ((float *)t->data)[i] = (float)i;
    break;
  case DLRT_F64:
    for (int64_t i = 0; i < n; ++i)
      ((double *)t->data)[i] = (double)i;
    break;
  case DLRT_I64:
    for (int64_t i = 0; i < n; ++i)
      ((int64_t *)t->data)[i] = i;
    break;
  case DLRT_BOOL:
    for (int64_t i = 0; i < n; ++i)
      ((uint8_t *)t->data)[i] = i != 0;
    break;
  }
  return t;
}

/* Copies the leaves of a nested array into `out`, checking each level has
 * the dimension the first path through it found. Returns the next write
 * position. */
static char *copyNested(const DlArray *a, int32_t level, int32_t depth, const int64_t *shape,
                        int64_t elemSize, char *out, const char *loc) {
  if (a->count != shape[level]) {
    char message[160];
    snprintf(message, sizeof message,
             "ragged nested array: expected %lld elements at depth %d, found %lld",
             (long long)shape[level], level, (long long)a->count);
    dlrt_fail(loc, message);
  }
  const char *items = (const char *)a + DLRT_ARRAY_HEADER_SIZE;
  if (level == depth - 1) {
    size_t bytes = (size_t)(a->count * elemSize);
    if (bytes > 0)
      memcpy(out, items, bytes);
    return out + bytes;
  }
  for (int64_t i = 0; i < a->count; ++i)
    out =
        copyNested(((const DlArray *const *)items)[i], level + 1, depth, shape, elemSize, out, loc);
  return out;
}

DlTensor *dlrt_t_from_array(int32_t kind, const DlArray *a, int32_t depth, const char *loc) {
  if (depth < 1 || depth > DLRT_MAX_RANK) {
    char message[96];
    snprintf(message, sizeof message, "tensors have at most 8 axes; cannot create one of rank %d",
             depth);
    dlrt_fail(loc, message);
  }
  /* The shape comes from the first element at each level; an empty level
   * makes it and every level below it 0. */
  int64_t shape[DLRT_MAX_RANK];
  const DlArray *level = a;
  for (int32_t d = 0; d < depth; ++d) {
    shape[d] = level ? level->count : 0;
    if (d + 1 < depth)
      level = level && level->count > 0
                  ? ((const DlArray *const *)((const char *)level + DLRT_ARRAY_HEADER_SIZE))[0]
                  : NULL;
  }
  DlTensor *t = dlrtTensorNew(kind, depth, shape);
  copyNested(a, 0, depth, shape, dlrtKindSize(kind), t->data, loc);
  if (kind == DLRT_BOOL) /* a DL Bool is one byte, 0 or 1; normalize anyway */
    for (int64_t i = 0; i < t->count; ++i)
      ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
  return t;
}

DlTensor *dlrt_t_fill_like(const DlTensor *like, double value) {
  dlrtRequire(like, "<runtime>", "fill_like");
  DlTensor *t = dlrtTensorLike(like, like->kind);
  fill(t, value);
  return t;
}

DlTensor *dlrt_t_materialize(const DlTensor *t, const DlTensor *like) {
  if (t)
    return dlrtTensorRetained(t);
  dlrtRequire(like, "<runtime>", "materialize");
  return dlrtTensorZeros(like->kind, like->rank, like->shape);
}

/* --- Random numbers ------------------------------------------------------------
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64: integer
 * arithmetic only, so the sequence is the same everywhere. Normal samples use
 * Marsaglia's polar method (sqrt and log only, no sin/cos). */
static uint64_t rngState[4];
static bool rngSeeded;
static bool haveSpareNormal;
static double spareNormal;

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void dlrt_seed(int64_t seed) {
  uint64_t x = (uint64_t)seed;
  for (int i = 0; i < 4; ++i)
    rngState[i] = splitmix64(&x);
  rngSeeded = true;
  haveSpareNormal = false;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t nextBits(void) {
  if (!rngSeeded)
    dlrt_seed(0);
  uint64_t *s = rngState;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double nextUniform(void) { return (double)(nextBits() >> 11) * 0x1.0p-53; }

static double nextNormal(void) {
  if (haveSpareNormal) {
    haveSpareNormal = false;
    return spareNormal;
  }
  double u, v, s;
  do {
    u = 2 * nextUniform() - 1;
    v = 2 * nextUniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  double factor = sqrt(-2 * log(s) / s);
  spareNormal = v * factor;
  haveSpareNormal = true;
  return u * factor;
}

DlTensor *dlrt_t_randn(int32_t kind, const DlArray *shape, const char *loc) {
  DlTensor *t = newFromShape(kind, shape, loc);
  if (kind == DLRT_F32) {
    float *x = t->data;
    for (int64_t i = 0; i < t->count; ++i)
      x[i] = (float)nextNormal();
    return t;
  }
  for (int64_t i = 0; i < t->count; ++i)
    dlrtStoreDouble(t, i, nextNormal());
  return t;
}

DlTensor *dlrt_t_rand(int32_t kind, const DlArray *shape, const char *loc) {
  DlTensor *t = newFromShape(kind, shape, loc);
  if (kind == DLRT_F32) { /* 24 random bits: every value is a float in [0, 1) */
    float *x = t->data;
    for (int64_t i = 0; i < t->count; ++i)
      x[i] = (float)(nextBits() >> 40) * 0x1.0p-24f;
    return t;
  }
  for (int64_t i = 0; i < t->count; ++i)
    dlrtStoreDouble(t, i, nextUniform());
  return t;
}

DlTensor *dlrt_t_glorot(int32_t kind, const DlArray *shape, const char *loc) {
  DlTensor *t = newFromShape(kind, shape, loc);
  int64_t fanIn = 1, fanOut = 1;
  if (t->rank >= 2) {
    fanIn = t->shape[t->rank - 2];
    fanOut = t->shape[t->rank - 1];
  } else if (t->rank == 1) {
    fanIn = fanOut = t->shape[0];
  }
  double limit = fanIn + fanOut > 0 ? sqrt(6.0 / (double)(fanIn + fanOut)) : 0;
  for (int64_t i = 0; i < t->count; ++i)
    dlrtStoreDouble(t, i, limit * (2 * nextUniform() - 1));
  return t;
}

DlTensor *dlrt_t_dropout_mask(const DlTensor *like, double rate, bool training, const char *loc) {
  dlrtRequire(like, loc, "dropout");
  if (like->kind != DLRT_F32 && like->kind != DLRT_F64)
    dlrtFailKind(loc, "dropout", like->kind);
  if (!(rate >= 0.0 && rate < 1.0)) {
    char message[96];
    snprintf(message, sizeof message, "dropout rate must be in [0, 1), got %g", rate);
    dlrt_fail(loc, message);
  }
  DlTensor *m = dlrtTensorNew(like->kind, like->rank, like->shape);
  double keep = 1.0 / (1.0 - rate);
  for (int64_t i = 0; i < m->count; ++i)
    dlrtStoreDouble(m, i, !training ? 1.0 : nextUniform() >= rate ? keep : 0.0);
  return m;
}

