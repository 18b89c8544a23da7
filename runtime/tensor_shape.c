/* Shape operations beyond reshape (LANGUAGE.md §6): flatten, squeeze,
 * unsqueeze, rows, narrow (slicing along any axis), concat, dim, gather
 * (NumPy's take) and oneHot, with the adjoints the compiler's derivative rules call.
 * Every operation copies: tensors are values and buffers are never shared.
 *
 * The copying operations see a tensor along one axis as [outer, size, inner]
 * (outer: the product of the dims before the axis, inner: after it), so each
 * moves `inner`-element blocks with memcpy. */
#include "runtime/tensor_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void splitAt(const DlTensor *t, int32_t axis, int64_t *outer, int64_t *inner) {
  *outer = 1;
  *inner = 1;
  for (int32_t i = 0; i < axis; ++i)
    *outer *= t->shape[i];
  for (int32_t i = axis + 1; i < t->rank; ++i)
    *inner *= t->shape[i];
}

/* A copy of a's elements under another shape of the same count. */
static DlTensor *reshaped(const DlTensor *a, int32_t rank, const int64_t *shape) {
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  memcpy(r->data, a->data, (size_t)(a->count * dlrtKindSize(a->kind)));
  return r;
}

static DLRT_NORETURN void failf(const char *loc, const char *format, long long x, long long y) {
  char message[160];
  snprintf(message, sizeof message, format, x, y);
  dlrt_fail(loc, message);
}

DlTensor *dlrt_t_flatten(const DlTensor *a, int64_t from, const char *loc) {
  if (!a)
    return NULL;
  if (a->rank == 0) {
    int64_t one = 1;
    return reshaped(a, 1, &one);
  }
  int32_t f = dlrtAxis(from, a->rank, loc);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, a->shape, sizeof shape);
  for (int32_t i = f + 1; i < a->rank; ++i)
    shape[f] *= a->shape[i];
  return reshaped(a, f + 1, shape);
}

DlTensor *dlrt_t_squeeze(const DlTensor *a, int64_t axis, bool all, const char *loc) {
  if (!a)
    return NULL;
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = 0;
  if (all) {
    for (int32_t i = 0; i < a->rank; ++i)
      if (a->shape[i] != 1)
        shape[rank++] = a->shape[i];
    return reshaped(a, rank, shape);
  }
  int32_t ax = dlrtAxis(axis, a->rank, loc);
  if (a->shape[ax] != 1) {
    char text[DLRT_SHAPE_TEXT];
    char message[DLRT_SHAPE_TEXT + 96];
    dlrtShapeText(text, a->rank, a->shape);
    snprintf(message, sizeof message, "cannot squeeze axis %lld of a tensor of shape %s: its size is not 1",
             (long long)axis, text);
    dlrt_fail(loc, message);
  }
  for (int32_t i = 0; i < a->rank; ++i)
    if (i != ax)
      shape[rank++] = a->shape[i];
  return reshaped(a, rank, shape);
}

DlTensor *dlrt_t_unsqueeze(const DlTensor *a, int64_t axis, const char *loc) {
  if (!a)
    return NULL;
  if (a->rank == DLRT_MAX_RANK)
    failf(loc, "cannot unsqueeze a tensor of rank %lld: the largest rank is %lld",
          (long long)a->rank, (long long)DLRT_MAX_RANK);
  int32_t ax = dlrtAxis(axis, a->rank + 1, loc);
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = 0;
  for (int32_t i = 0; i <= a->rank; ++i) {
    if (i == ax)
      shape[rank++] = 1;
    if (i < a->rank)
      shape[rank++] = a->shape[i];
  }
  return reshaped(a, rank, shape);
}

DlTensor *dlrt_t_rows(const DlTensor *a, const char *loc) {
  if (!a)
    return NULL;
  if (a->rank == 0)
    dlrt_fail(loc, "expected a tensor of rank 1 or more, got rank 0");
  int64_t shape[2] = {1, a->shape[a->rank - 1]};
  for (int32_t i = 0; i + 1 < a->rank; ++i)
    shape[0] *= a->shape[i];
  return reshaped(a, 2, shape);
}

/* --- narrow ------------------------------------------------------------------------ */

static int32_t checkNarrow(const DlTensor *t, int64_t axis, int64_t lo, int64_t hi, const char *loc) {
  if (t->rank == 0)
    dlrt_fail(loc, "cannot slice a tensor of rank 0");
  int32_t ax = dlrtAxis(axis, t->rank, loc);
  if (lo < 0 || lo > hi || hi > t->shape[ax]) {
    char message[192];
    snprintf(message, sizeof message, "slice %lld..<%lld is out of range for axis %d of size %lld",
             (long long)lo, (long long)hi, ax, (long long)t->shape[ax]);
    dlrt_fail(loc, message);
  }
  return ax;
}

/* Copies `rows` blocks of `block` bytes between buffers whose row strides
 * (in bytes) are `fromStride` and `toStride`. */
static void copyBlocks(char *to, int64_t toStride, const char *from, int64_t fromStride,
                       int64_t rows, int64_t block) {
  for (int64_t i = 0; i < rows; ++i)
    memcpy(to + i * toStride, from + i * fromStride, (size_t)block);
}

DlTensor *dlrt_t_narrow(const DlTensor *a, int64_t axis, int64_t lo, int64_t hi, const char *loc) {
  if (!a)
    return NULL;
  int32_t ax = checkNarrow(a, axis, lo, hi, loc);
  if (lo == 0 && hi == a->shape[ax])
    return dlrtTensorRetained(a);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, a->shape, sizeof shape);
  shape[ax] = hi - lo;
  DlTensor *r = dlrtTensorNew(a->kind, a->rank, shape);
  int64_t outer, inner, size = dlrtKindSize(a->kind);
  splitAt(a, ax, &outer, &inner);
  copyBlocks(r->data, (hi - lo) * inner * size, (const char *)a->data + lo * inner * size,
             a->shape[ax] * inner * size, outer, (hi - lo) * inner * size);
  return r;
}

DlTensor *dlrt_t_narrow_backward(const DlTensor *g, const DlTensor *like, int64_t axis, int64_t lo,
                                 int64_t hi, const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "slice_backward");
  int32_t ax = checkNarrow(like, axis, lo, hi, loc);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, like->shape, sizeof shape);
  shape[ax] = hi - lo;
  if (g->rank != like->rank || memcmp(g->shape, shape, (size_t)like->rank * sizeof(int64_t)) != 0 ||
      g->kind != like->kind)
    dlrtFailShapes(loc, "slice_backward", g->rank, g->shape, like->rank, shape);
  DlTensor *r = dlrtTensorZeros(like->kind, like->rank, like->shape);
  int64_t outer, inner, size = dlrtKindSize(like->kind);
  splitAt(like, ax, &outer, &inner);
  copyBlocks((char *)r->data + lo * inner * size, like->shape[ax] * inner * size, g->data,
             (hi - lo) * inner * size, outer, (hi - lo) * inner * size);
  return r;
}

/* --- concat ------------------------------------------------------------------------ */

/* Checks the parts and returns the axis; `total` receives the joined size. */
static int32_t checkConcat(int64_t n, DlTensor *const *parts, int64_t axis, int64_t *total,
                           const char *loc) {
  if (n < 1)
    dlrt_fail(loc, "concat needs at least one tensor");
  for (int64_t i = 0; i < n; ++i)
    dlrtRequire(parts[i], loc, "concat");
  const DlTensor *first = parts[0];
  if (first->rank == 0)
    dlrt_fail(loc, "cannot concatenate tensors of rank 0");
  int32_t ax = dlrtAxis(axis, first->rank, loc);
  *total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const DlTensor *p = parts[i];
    bool same = p->rank == first->rank && p->kind == first->kind;
    for (int32_t d = 0; same && d < p->rank; ++d)
      same = d == ax || p->shape[d] == first->shape[d];
    if (!same)
      dlrtFailShapes(loc, "concat", first->rank, first->shape, p->rank, p->shape);
    *total += p->shape[ax];
  }
  return ax;
}

DlTensor *dlrt_t_concat(int64_t n, DlTensor *const *parts, int64_t axis, const char *loc) {
  int64_t total;
  int32_t ax = checkConcat(n, parts, axis, &total, loc);
  const DlTensor *first = parts[0];
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, first->shape, sizeof shape);
  shape[ax] = total;
  DlTensor *r = dlrtTensorNew(first->kind, first->rank, shape);
  int64_t outer, inner, size = dlrtKindSize(first->kind);
  splitAt(first, ax, &outer, &inner);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t len = parts[i]->shape[ax];
    copyBlocks((char *)r->data + offset * inner * size, total * inner * size, parts[i]->data,
               len * inner * size, outer, len * inner * size);
    offset += len;
  }
  return r;
}

/* --- join: concat and stack of an array of tensors -------------------------------- */

static DlTensor *const *arrayParts(const DlArray *parts) {
  return (DlTensor *const *)((const char *)parts + DLRT_ARRAY_HEADER_SIZE);
}

/* The parts of a stack: each with a new axis of size 1 at `axis`. */
static DlTensor **unsqueezedParts(int64_t n, DlTensor *const *parts, int64_t axis, const char *loc) {
  if (n < 1)
    dlrt_fail(loc, "stack needs at least one tensor");
  DlTensor **out = dlrt_alloc(n * (int64_t)sizeof(DlTensor *));
  for (int64_t i = 0; i < n; ++i) {
    dlrtRequire(parts[i], loc, "stack");
    if (parts[i]->rank != parts[0]->rank || parts[i]->kind != parts[0]->kind ||
        memcmp(parts[i]->shape, parts[0]->shape, (size_t)parts[0]->rank * sizeof(int64_t)) != 0) {
      for (int64_t j = 0; j < i; ++j)
        dlrt_t_release(out[j]);
      free(out);
      dlrtFailShapes(loc, "stack", parts[0]->rank, parts[0]->shape, parts[i]->rank, parts[i]->shape);
    }
    out[i] = dlrt_t_unsqueeze(parts[i], axis, loc);
  }
  return out;
}

static DlTensor *joinParts(int64_t n, DlTensor *const *parts, int64_t axis, bool stack,
                           const char *loc) {
  if (!stack)
    return dlrt_t_concat(n, parts, axis, loc);
  DlTensor **expanded = unsqueezedParts(n, parts, axis, loc);
  DlTensor *r = dlrt_t_concat(n, expanded, axis, loc);
  for (int64_t i = 0; i < n; ++i)
    dlrt_t_release(expanded[i]);
  free(expanded);
  return r;
}

DlTensor *dlrt_t_join(const DlArray *parts, int64_t axis, bool stack, const char *loc) {
  return joinParts(parts->count, arrayParts(parts), axis, stack, loc);
}

DlTensor *dlrt_t_join_tangent(const DlArray *tangents, const DlArray *primals, int64_t axis,
                              bool stack, const char *loc) {
  int64_t n = primals->count;
  DlTensor **parts = dlrt_alloc((n > 0 ? n : 1) * (int64_t)sizeof(DlTensor *));
  for (int64_t i = 0; i < n; ++i) {
    const DlTensor *t = i < tangents->count ? arrayParts(tangents)[i] : NULL;
    parts[i] = dlrt_t_materialize(t, arrayParts(primals)[i]);
  }
  DlTensor *r = joinParts(n, parts, axis, stack, loc);
  for (int64_t i = 0; i < n; ++i)
    dlrt_t_release(parts[i]);
  free(parts);
  return r;
}

DlArray *dlrt_t_join_backward(const DlTensor *g, const DlArray *primals, int64_t axis, bool stack,
                              const char *loc) {
  int64_t n = primals->count;
  if (!g)
    return dlrt_array_new((int64_t)sizeof(DlTensor *), 0); /* the zero adjoint */
  DlArray *out = dlrt_array_new((int64_t)sizeof(DlTensor *), n);
  DlTensor **slots = (DlTensor **)((char *)out + DLRT_ARRAY_HEADER_SIZE);
  int64_t lo = 0;
  for (int64_t i = 0; i < n; ++i) {
    const DlTensor *p = arrayParts(primals)[i];
    dlrtRequire(p, loc, stack ? "stack" : "concat");
    int64_t len = stack ? 1 : dlrt_t_dim(p, axis, loc);
    DlTensor *part = dlrt_t_narrow(g, axis, lo, lo + len, loc);
    if (stack) {
      DlTensor *squeezed = dlrt_t_squeeze(part, axis, false, loc);
      dlrt_t_release(part);
      part = squeezed;
    }
    slots[i] = part;
    lo += len;
  }
  return out;
}

int64_t dlrt_t_dim(const DlTensor *a, int64_t axis, const char *loc) {
  dlrtRequire(a, loc, "dim");
  return a->shape[dlrtAxis(axis, a->rank, loc)];
}

/* --- gather and oneHot ------------------------------------------------------------- */

static void checkIndices(const DlTensor *indices, const char *loc) {
  dlrtRequire(indices, loc, "gather");
  if (indices->kind != DLRT_I64)
    dlrtFailKind(loc, "gather (indices)", indices->kind);
}

/* The gather result's shape: a.shape[..ax] + indices.shape + a.shape[ax+1..]. */
static int32_t gatherShape(const DlTensor *a, int32_t ax, const DlTensor *indices, int64_t *shape,
                           const char *loc) {
  int32_t rank = a->rank - 1 + indices->rank;
  if (rank > DLRT_MAX_RANK)
    failf(loc, "gather would make a tensor of rank %lld; the largest rank is %lld", (long long)rank,
          (long long)DLRT_MAX_RANK);
  int32_t k = 0;
  for (int32_t i = 0; i < ax; ++i)
    shape[k++] = a->shape[i];
  for (int32_t i = 0; i < indices->rank; ++i)
    shape[k++] = indices->shape[i];
  for (int32_t i = ax + 1; i < a->rank; ++i)
    shape[k++] = a->shape[i];
  return rank;
}

static int64_t checkedIndex(int64_t i, int64_t size, int32_t ax, const char *loc) {
  int64_t j = i < 0 ? i + size : i;
  if (j < 0 || j >= size) {
    char message[160];
    snprintf(message, sizeof message, "index %lld is out of range for axis %d of size %lld",
             (long long)i, ax, (long long)size);
    dlrt_fail(loc, message);
  }
  return j;
}

DlTensor *dlrt_t_gather(const DlTensor *a, const DlTensor *indices, int64_t axis, const char *loc) {
  if (!a)
    return NULL;
  checkIndices(indices, loc);
  if (a->rank == 0)
    dlrt_fail(loc, "cannot gather from a tensor of rank 0");
  int32_t ax = dlrtAxis(axis, a->rank, loc);
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = gatherShape(a, ax, indices, shape, loc);
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  int64_t outer, inner, size = dlrtKindSize(a->kind);
  splitAt(a, ax, &outer, &inner);
  const int64_t *idx = indices->data;
  int64_t block = inner * size, n = indices->count;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < n; ++k) {
      int64_t j = checkedIndex(idx[k], a->shape[ax], ax, loc);
      memcpy((char *)r->data + (o * n + k) * block,
             (const char *)a->data + (o * a->shape[ax] + j) * block, (size_t)block);
    }
  return r;
}

#define SCATTER_ADD(T)                                                                             \
  do {                                                                                             \
    T *out = r->data;                                                                              \
    const T *in = g->data;                                                                         \
    for (int64_t o = 0; o < outer; ++o)                                                            \
      for (int64_t k = 0; k < n; ++k) {                                                            \
        int64_t j = checkedIndex(idx[k], like->shape[ax], ax, loc);                                \
        T *to = out + (o * like->shape[ax] + j) * inner;                                           \
        const T *from = in + (o * n + k) * inner;                                                  \
        for (int64_t e = 0; e < inner; ++e)                                                        \
          to[e] += from[e];                                                                        \
      }                                                                                            \
  } while (0)

DlTensor *dlrt_t_gather_backward(const DlTensor *g, const DlTensor *like, const DlTensor *indices,
                                 int64_t axis, const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "gather_backward");
  checkIndices(indices, loc);
  int32_t ax = dlrtAxis(axis, like->rank, loc);
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = gatherShape(like, ax, indices, shape, loc);
  if (g->rank != rank || memcmp(g->shape, shape, (size_t)rank * sizeof(int64_t)) != 0 ||
      g->kind != like->kind)
    dlrtFailShapes(loc, "gather_backward", g->rank, g->shape, rank, shape);
  DlTensor *r = dlrtTensorZeros(like->kind, like->rank, like->shape);
  int64_t outer, inner;
  splitAt(like, ax, &outer, &inner);
  const int64_t *idx = indices->data;
  int64_t n = indices->count;
  switch (like->kind) {
  case DLRT_F32:
    SCATTER_ADD(float);
    break;
  case DLRT_F64:
    SCATTER_ADD(double);
    break;
  case DLRT_I64:
    SCATTER_ADD(int64_t);
    break;
  default:
    dlrtFailKind(loc, "gather_backward", like->kind);
  }
  return r;
}

DlTensor *dlrt_t_one_hot(const DlTensor *labels, int64_t n, int32_t kind, const char *loc) {
  dlrtRequire(labels, loc, "oneHot");
  if (labels->kind != DLRT_I64)
    dlrtFailKind(loc, "oneHot (labels)", labels->kind);
  if (n < 1)
    failf(loc, "oneHot needs at least one class, got %lld", (long long)n, 0);
  if (labels->rank == DLRT_MAX_RANK)
    failf(loc, "oneHot of a tensor of rank %lld: the largest rank is %lld", (long long)labels->rank,
          (long long)DLRT_MAX_RANK);
  if (n > (INT64_MAX / 8) / (labels->count > 0 ? labels->count : 1))
    failf(loc, "oneHot of %lld labels with %lld classes is too large", (long long)labels->count,
          (long long)n);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, labels->shape, (size_t)labels->rank * sizeof(int64_t));
  shape[labels->rank] = n;
  DlTensor *r = dlrtTensorZeros(kind, labels->rank + 1, shape);
  const int64_t *l = labels->data;
  for (int64_t i = 0; i < labels->count; ++i) {
    if (l[i] < 0 || l[i] >= n) {
      char message[128];
      snprintf(message, sizeof message, "label %lld is out of range for oneHot with %lld classes",
               (long long)l[i], (long long)n);
      dlrt_t_release(r);
      dlrt_fail(loc, message);
    }
    int64_t at = i * n + l[i];
    switch (kind) {
    case DLRT_F32:
      ((float *)r->data)[at] = 1.0f;
      break;
    case DLRT_F64:
      ((double *)r->data)[at] = 1.0;
      break;
    case DLRT_I64:
      ((int64_t *)r->data)[at] = 1;
      break;
    default:
      ((uint8_t *)r->data)[at] = 1;
      break;
    }
  }
  return r;
}
