/* Tensors, part one: memory (a caching allocator of 64-byte aligned buffers,
 * reference counts), queries, indexing and slicing with their adjoints,
 * conversion and reshaping, and the shared helpers of tensor_internal.h.
 * Creation and random numbers live in tensor_create.c, elementwise
 * operations in tensor_ops.c, reductions and broadcast adjoints in
 * tensor_reduce.c, matmul and transpose in tensor_linalg.c, printing in
 * tensor_print.c. */
#include "runtime/tensor_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(sizeof(DlTensor) == 96, "DlTensor header layout");

/* --- The caching allocator --------------------------------------------------
 * Training loops allocate the same few buffer sizes on every step; asking
 * malloc for megabyte blocks each time means mmap, page faults and zeroing
 * by the kernel. Freed buffers therefore go to a free list per size class
 * (four classes per power of two, so at most 25% is wasted) and the next
 * tensor of that class takes one. The cache holds at most kCacheLimit bytes;
 * a buffer that does not fit goes back to the system. Single-threaded, like
 * the rest of the runtime. */
enum { kAlign = 64, kClassCount = 4 + 4 * 56 };
static const int64_t kCacheLimit = (int64_t)1 << 30;
static const int64_t kHeadersKept = 1 << 16;

typedef struct FreeBlock {
  struct FreeBlock *next;
} FreeBlock;

static FreeBlock *freeLists[kClassCount];
static int64_t cachedBytes; /* in the free lists */
static int64_t heldBytes;   /* taken from the system and not returned: live and cached */
static int64_t liveTensors;
static DlTensor *freeHeaders; /* linked through `data` */
static int64_t freeHeaderCount;

/* The size class of a buffer of `bytes`: multiples of 64 up to 256, then
 * 2^k * (1 + j/4) for j = 1..4 (always a multiple of 64). */
static int sizeClass(int64_t bytes, int64_t *classBytes) {
  if (bytes <= 256) {
    int64_t units = bytes <= kAlign ? 1 : (bytes + kAlign - 1) / kAlign;
    *classBytes = units * kAlign;
    return (int)units - 1;
  }
  int k = 63 - __builtin_clzll((unsigned long long)(bytes - 1)); /* 2^k < bytes <= 2^(k+1) */
  int64_t base = (int64_t)1 << k;
  int64_t step = base >> 2;
  int64_t j = (bytes - base + step - 1) / step; /* 1..4 */
  *classBytes = base + j * step;
  return 4 + (k - 8) * 4 + (int)(j - 1);
}

static void *allocBuffer(int64_t bytes) {
  int64_t classBytes = 0;
  int c = sizeClass(bytes, &classBytes);
  if (freeLists[c]) {
    FreeBlock *block = freeLists[c];
    freeLists[c] = block->next;
    cachedBytes -= classBytes;
    return block;
  }
  void *p = aligned_alloc(kAlign, (size_t)classBytes);
  if (!p) {
    /* Give the cache back to the system and try once more. */
    for (int i = 0; i < kClassCount; ++i)
      while (freeLists[i]) {
        FreeBlock *block = freeLists[i];
        freeLists[i] = block->next;
        free(block);
      }
    heldBytes -= cachedBytes;
    cachedBytes = 0;
    p = aligned_alloc(kAlign, (size_t)classBytes);
    if (!p)
      dlrt_fail("<runtime>", "out of memory");
  }
  heldBytes += classBytes;
  return p;
}

static void freeBuffer(void *p, int64_t bytes) {
  int64_t classBytes = 0;
  int c = sizeClass(bytes, &classBytes);
  if (cachedBytes + classBytes > kCacheLimit) {
    free(p);
    heldBytes -= classBytes;
    return;
  }
  FreeBlock *block = p;
  block->next = freeLists[c];
  freeLists[c] = block;
  cachedBytes += classBytes;
}

static int64_t bufferBytes(const DlTensor *t) { return t->count * dlrtKindSize(t->kind); }

DlTensor *dlrtTensorNew(int32_t kind, int32_t rank, const int64_t *shape) {
  int64_t count = 1;
  int64_t limit = INT64_MAX / 8 - kAlign;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] != 0 && count > limit / shape[i])
      dlrt_fail("<runtime>", "out of memory");
    count *= shape[i];
  }
  DlTensor *t = freeHeaders;
  if (t) {
    freeHeaders = t->data;
    --freeHeaderCount;
  } else {
    t = malloc(sizeof(DlTensor));
    if (!t)
      dlrt_fail("<runtime>", "out of memory");
  }
  t->refcount = 1;
  t->kind = kind;
  t->rank = rank;
  t->count = count;
  for (int32_t i = 0; i < rank; ++i)
    t->shape[i] = shape[i];
  for (int32_t i = rank; i < DLRT_MAX_RANK; ++i)
    t->shape[i] = 0;
  t->data = allocBuffer(bufferBytes(t));
  ++liveTensors;
  return t;
}

DlTensor *dlrtTensorZeros(int32_t kind, int32_t rank, const int64_t *shape) {
  DlTensor *t = dlrtTensorNew(kind, rank, shape);
  memset(t->data, 0, (size_t)bufferBytes(t));
  return t;
}

DlTensor *dlrtTensorLike(const DlTensor *like, int32_t kind) {
  return dlrtTensorNew(kind, like->rank, like->shape);
}

void dlrtSetElement(DlTensor *t, int64_t i, double d, int64_t n) {
  switch (t->kind) {
  case DLRT_F32:
    ((float *)t->data)[i] = (float)d;
    break;
  case DLRT_F64:
    ((double *)t->data)[i] = d;
    break;
  case DLRT_I64:
    ((int64_t *)t->data)[i] = n;
    break;
  default:
    ((uint8_t *)t->data)[i] = d != 0;
    break;
  }
}

DlTensor *dlrtTensorCopy(const DlTensor *t) {
  DlTensor *copy = dlrtTensorNew(t->kind, t->rank, t->shape);
  memcpy(copy->data, t->data, (size_t)bufferBytes(t));
  return copy;
}

DlTensor *dlrtTensorRetained(const DlTensor *t) {
  DlTensor *mutableT = (DlTensor *)t; /* the refcount is not part of the value */
  dlrt_t_retain(mutableT);
  return mutableT;
}

void dlrt_t_retain(DlTensor *t) {
  if (t && t->refcount != DLRT_IMMORTAL)
    ++t->refcount;
}

void dlrt_t_release(DlTensor *t) {
  if (!t || t->refcount == DLRT_IMMORTAL || --t->refcount > 0)
    return;
  freeBuffer(t->data, bufferBytes(t));
  --liveTensors;
  if (freeHeaderCount < kHeadersKept) {
    t->data = freeHeaders;
    freeHeaders = t;
    ++freeHeaderCount;
    return;
  }
  free(t);
}

DlTensor *dlrt_t_unique(DlTensor *t) {
  if (!t || t->refcount == 1)
    return t;
  DlTensor *copy = dlrtTensorCopy(t);
  dlrt_t_release(t);
  return copy;
}

int64_t dlrt_t_live_count(void) { return liveTensors; }
int64_t dlrt_t_cached_bytes(void) { return heldBytes; }

/* --- Shared helpers ----------------------------------------------------------- */

void dlrtShapeText(char *buf, int32_t rank, const int64_t *shape) {
  char *p = buf;
  *p++ = '[';
  for (int32_t i = 0; i < rank; ++i)
    p += sprintf(p, i == 0 ? "%lld" : ", %lld", (long long)shape[i]);
  *p++ = ']';
  *p = '\0';
}

const char *dlrtKindName(int32_t kind) {
  switch (kind) {
  case DLRT_F32:
    return "Tensor<Float>";
  case DLRT_F64:
    return "Tensor<Double>";
  case DLRT_I64:
    return "Tensor<Int>";
  case DLRT_BOOL:
    return "Tensor<Bool>";
  }
  return "Tensor<?>";
}

void dlrtFailShapes(const char *loc, const char *op, int32_t rankA, const int64_t *shapeA,
                    int32_t rankB, const int64_t *shapeB) {
  char a[DLRT_SHAPE_TEXT];
  char b[DLRT_SHAPE_TEXT];
  char message[2 * DLRT_SHAPE_TEXT + 64];
  dlrtShapeText(a, rankA, shapeA);
  dlrtShapeText(b, rankB, shapeB);
  snprintf(message, sizeof message, "shape mismatch in '%s': %s vs %s", op, a, b);
  dlrt_fail(loc, message);
}

void dlrtFailShape(const char *what, int32_t rank, const int64_t *shape, const char *loc) {
  char text[DLRT_SHAPE_TEXT];
  char message[DLRT_SHAPE_TEXT + 96];
  dlrtShapeText(text, rank, shape);
  snprintf(message, sizeof message, "%s %s", what, text);
  dlrt_fail(loc, message);
}

void dlrtFailZero(const char *loc, const char *op) {
  char message[96];
  snprintf(message, sizeof message, "internal error: zero tangent passed to '%s'", op);
  dlrt_fail(loc, message);
}

void dlrtFailKind(const char *loc, const char *op, int32_t kind) {
  char message[96];
  snprintf(message, sizeof message, "'%s' is not defined for %s", op, dlrtKindName(kind));
  dlrt_fail(loc, message);
}

int32_t dlrtAxis(int64_t axis, int32_t rank, const char *loc) {
  int64_t normalized = axis < 0 ? axis + rank : axis;
  if (normalized < 0 || normalized >= rank) {
    char message[96];
    snprintf(message, sizeof message, "axis %lld is out of range for a tensor of rank %d",
             (long long)axis, rank);
    dlrt_fail(loc, message);
  }
  return (int32_t)normalized;
}

bool dlrtBroadcastShapes(int n, const DlTensor *const *ts, int32_t *rank, int64_t *shape) {
  int32_t r = 0;
  for (int i = 0; i < n; ++i)
    if (ts[i]->rank > r)
      r = ts[i]->rank;
  for (int32_t d = 0; d < r; ++d) {
    int64_t dim = 1;
    for (int i = 0; i < n; ++i) {
      int32_t k = d - (r - ts[i]->rank); /* the operand's axis aligned on the right */
      if (k < 0 || ts[i]->shape[k] == 1)
        continue;
      if (dim != 1 && ts[i]->shape[k] != dim)
        return false;
      dim = ts[i]->shape[k];
    }
    shape[d] = dim;
  }
  *rank = r;
  return true;
}

void dlrtWalkInit(DlrtWalk *w, int32_t rank, const int64_t *shape, int nops, const int32_t *opRank,
                  const int64_t *const *opShape) {
  w->nops = nops;
  /* Row-major element strides of each operand in the walked coordinates. */
  int64_t strides[DLRT_WALK_MAX][DLRT_MAX_RANK];
  int64_t count = 1;
  for (int k = 0; k < nops; ++k) {
    int64_t stride = 1;
    for (int32_t d = rank - 1; d >= 0; --d) {
      int32_t j = d - (rank - opRank[k]);
      int64_t dim = j < 0 ? 1 : opShape[k][j];
      strides[k][d] = dim == 1 ? 0 : stride;
      stride *= dim;
    }
  }
  /* Keep the axes longer than 1, merging an axis into the kept one inside it
   * when every operand steps through both contiguously. */
  int32_t kept = 0;
  int64_t keptShape[DLRT_MAX_RANK];
  int64_t keptStrides[DLRT_WALK_MAX][DLRT_MAX_RANK];
  for (int32_t d = rank - 1; d >= 0; --d) {
    count *= shape[d];
    if (shape[d] == 1)
      continue;
    bool merges = kept > 0;
    for (int k = 0; k < nops && merges; ++k)
      merges = strides[k][d] == keptStrides[k][kept - 1] * keptShape[kept - 1];
    if (merges) {
      keptShape[kept - 1] *= shape[d];
      continue;
    }
    keptShape[kept] = shape[d];
    for (int k = 0; k < nops; ++k)
      keptStrides[k][kept] = strides[k][d];
    ++kept;
  }
  if (kept == 0) { /* every axis has size 1: one run of one element */
    keptShape[0] = 1;
    for (int k = 0; k < nops; ++k)
      keptStrides[k][0] = 0;
    kept = 1;
  }
  w->rank = kept; /* kept axes were collected innermost first */
  for (int32_t d = 0; d < kept; ++d) {
    w->shape[d] = keptShape[kept - 1 - d];
    w->index[d] = 0;
    for (int k = 0; k < nops; ++k)
      w->strides[k][d] = keptStrides[k][kept - 1 - d];
  }
  for (int k = 0; k < nops; ++k)
    w->offset[k] = 0;
  w->runs = count == 0 ? 0 : count / w->shape[kept - 1];
}

/* --- Queries --------------------------------------------------------------------- */

DlArray *dlrt_t_shape(const DlTensor *t) {
  dlrtRequire(t, "<runtime>", "shape");
  DlArray *a = dlrt_array_new((int64_t)sizeof(int64_t), t->rank);
  if (t->rank > 0)
    memcpy((char *)a + DLRT_ARRAY_HEADER_SIZE, t->shape, (size_t)t->rank * sizeof(int64_t));
  return a;
}

int64_t dlrt_t_rank(const DlTensor *t) {
  dlrtRequire(t, "<runtime>", "rank");
  return t->rank;
}

int64_t dlrt_t_count(const DlTensor *t) {
  dlrtRequire(t, "<runtime>", "count");
  return t->count;
}

static void checkOneElement(const DlTensor *t, const char *loc) {
  dlrtRequire(t, loc, "item");
  if (t->count != 1)
    dlrtFailShape("item() needs a tensor with exactly one element, not one of shape", t->rank,
                  t->shape, loc);
}

double dlrt_t_item_f64(const DlTensor *t, const char *loc) {
  checkOneElement(t, loc);
  switch (t->kind) {
  case DLRT_F32:
    return *(const float *)t->data;
  case DLRT_F64:
    return *(const double *)t->data;
  case DLRT_I64:
    return (double)*(const int64_t *)t->data;
  case DLRT_BOOL:
    return *(const uint8_t *)t->data;
  }
  return 0;
}

int64_t dlrt_t_item_i64(const DlTensor *t, const char *loc) {
  checkOneElement(t, loc);
  switch (t->kind) {
  case DLRT_F32:
    return (int64_t) * (const float *)t->data;
  case DLRT_F64:
    return (int64_t) * (const double *)t->data;
  case DLRT_I64:
    return *(const int64_t *)t->data;
  case DLRT_BOOL:
    return *(const uint8_t *)t->data;
  }
  return 0;
}

/* --- Indexing and slicing ---------------------------------------------------------- */

/* The element offset of t[idx[0], ..., idx[n-1]], checked. */
static int64_t indexOffset(const DlTensor *t, int64_t n, const int64_t *idx, const char *loc) {
  if (n < 0 || n > t->rank) {
    char message[96];
    snprintf(message, sizeof message, "too many indices (%lld) for a tensor of rank %d",
             (long long)n, t->rank);
    dlrt_fail(loc, message);
  }
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (idx[i] < 0 || idx[i] >= t->shape[i]) {
      char message[128];
      snprintf(message, sizeof message, "index %lld is out of range for axis %lld of size %lld",
               (long long)idx[i], (long long)i, (long long)t->shape[i]);
      dlrt_fail(loc, message);
    }
    offset = offset * t->shape[i] + idx[i];
  }
  for (int32_t i = (int32_t)n; i < t->rank; ++i)
    offset *= t->shape[i];
  return offset;
}

DlTensor *dlrt_t_index(const DlTensor *t, int64_t n, const int64_t *idx, const char *loc) {
  if (!t)
    return NULL; /* a tangent: its primal's index was checked */
  int64_t offset = indexOffset(t, n, idx, loc);
  if (n == 0)
    return dlrtTensorRetained(t);
  DlTensor *r = dlrtTensorNew(t->kind, t->rank - (int32_t)n, t->shape + n);
  int64_t size = dlrtKindSize(t->kind);
  memcpy(r->data, (const char *)t->data + offset * size, (size_t)(r->count * size));
  return r;
}

DlTensor *dlrt_t_index_backward(const DlTensor *g, const DlTensor *like, int64_t n,
                                const int64_t *idx, const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "index_backward");
  int64_t offset = indexOffset(like, n, idx, loc);
  int32_t rank = like->rank - (int32_t)n;
  if (g->rank != rank || memcmp(g->shape, like->shape + n, (size_t)rank * sizeof(int64_t)) != 0)
    dlrtFailShapes(loc, "index_backward", g->rank, g->shape, rank, like->shape + n);
  DlTensor *r = dlrtTensorZeros(like->kind, like->rank, like->shape);
  int64_t size = dlrtKindSize(like->kind);
  memcpy((char *)r->data + offset * size, g->data, (size_t)(g->count * size));
  return r;
}

/* The element count of one entry along axis 0. */
static int64_t rowCount(const DlTensor *t) {
  int64_t n = 1;
  for (int32_t i = 1; i < t->rank; ++i)
    n *= t->shape[i];
  return n;
}

static void checkSlice(const DlTensor *t, int64_t lo, int64_t hi, const char *loc) {
  if (t->rank == 0)
    dlrt_fail(loc, "cannot slice a tensor of rank 0");
  if (lo < 0 || lo > hi || hi > t->shape[0]) {
    char message[160];
    snprintf(message, sizeof message, "slice %lld..<%lld is out of range for axis 0 of size %lld",
             (long long)lo, (long long)hi, (long long)t->shape[0]);
    dlrt_fail(loc, message);
  }
}

DlTensor *dlrt_t_slice(const DlTensor *t, int64_t lo, int64_t hi, const char *loc) {
  if (!t)
    return NULL; /* a tangent: its primal's range was checked */
  checkSlice(t, lo, hi, loc);
  if (lo == 0 && hi == t->shape[0])
    return dlrtTensorRetained(t);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = hi - lo;
  DlTensor *r = dlrtTensorNew(t->kind, t->rank, shape);
  int64_t size = dlrtKindSize(t->kind);
  memcpy(r->data, (const char *)t->data + lo * rowCount(t) * size, (size_t)(r->count * size));
  return r;
}

DlTensor *dlrt_t_slice_backward(const DlTensor *g, const DlTensor *like, int64_t lo, int64_t hi,
                                const char *loc) {
  if (!g || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "slice_backward");
  checkSlice(like, lo, hi, loc);
  int64_t shape[DLRT_MAX_RANK];
  memcpy(shape, like->shape, sizeof shape);
  shape[0] = hi - lo;
  if (g->rank != like->rank || memcmp(g->shape, shape, (size_t)like->rank * sizeof(int64_t)) != 0)
    dlrtFailShapes(loc, "slice_backward", g->rank, g->shape, like->rank, shape);
  DlTensor *r = dlrtTensorZeros(like->kind, like->rank, like->shape);
  int64_t size = dlrtKindSize(like->kind);
  memcpy((char *)r->data + lo * rowCount(like) * size, g->data, (size_t)(g->count * size));
  return r;
}

/* --- Conversion ------------------------------------------------------------------ */

/* Float -> Int truncates; NaN gives 0 and values beyond Int's range saturate
 * (a C cast would be undefined there). */
static int64_t truncateToInt(double v) {
  if (v != v)
    return 0;
  if (v >= 0x1.0p63)
    return INT64_MAX;
  if (v < -0x1.0p63)
    return INT64_MIN;
  return (int64_t)v;
}

#define CONVERT_LOOP(FROM, TO, EXPR)                                                               \
  do {                                                                                             \
    const FROM *restrict in = a->data;                                                             \
    TO *restrict out = r->data;                                                                    \
    for (int64_t i = 0; i < n; ++i) {                                                              \
      FROM x = in[i];                                                                              \
      out[i] = (EXPR);                                                                             \
    }                                                                                              \
  } while (0)

#define CONVERT_FROM(FROM)                                                                         \
  switch (kind) {                                                                                  \
  case DLRT_F32:                                                                                   \
    CONVERT_LOOP(FROM, float, (float)x);                                                           \
    break;                                                                                         \
  case DLRT_F64:                                                                                   \
    CONVERT_LOOP(FROM, double, (double)x);                                                         \
    break;                                                                                         \
  case DLRT_I64:                                                                                   \
    CONVERT_LOOP(FROM, int64_t, truncateToInt((double)x));                                         \
    break;                                                                                         \
  case DLRT_BOOL:                                                                                  \
    CONVERT_LOOP(FROM, uint8_t, x != 0);                                                           \
    break;                                                                                         \
  }

DlTensor *dlrt_t_convert(const DlTensor *a, int32_t kind) {
  if (!a)
    return NULL; /* the zero tangent converts to itself */
  if (a->kind == kind)
    return dlrtTensorRetained(a);
  DlTensor *r = dlrtTensorLike(a, kind);
  int64_t n = a->count;
  switch (a->kind) {
  case DLRT_F32:
    CONVERT_FROM(float);
    break;
  case DLRT_F64:
    CONVERT_FROM(double);
    break;
  case DLRT_I64:
    switch (kind) {
    case DLRT_F32:
      CONVERT_LOOP(int64_t, float, (float)x);
      break;
    case DLRT_F64:
      CONVERT_LOOP(int64_t, double, (double)x);
      break;
    case DLRT_BOOL:
      CONVERT_LOOP(int64_t, uint8_t, x != 0);
      break;
    }
    break;
  case DLRT_BOOL:
    switch (kind) {
    case DLRT_F32:
      CONVERT_LOOP(uint8_t, float, (float)x);
      break;
    case DLRT_F64:
      CONVERT_LOOP(uint8_t, double, (double)x);
      break;
    case DLRT_I64:
      CONVERT_LOOP(uint8_t, int64_t, (int64_t)x);
      break;
    }
    break;
  }
  return r;
}

/* --- Reshaping --------------------------------------------------------------------- */

/* A copy of `a` with a new shape of the same count. The buffer is copied
 * rather than shared: DlTensor owns its buffer, and a shared buffer would
 * need a count of its own. */
static DlTensor *withShape(const DlTensor *a, int32_t rank, const int64_t *shape) {
  DlTensor *r = dlrtTensorNew(a->kind, rank, shape);
  memcpy(r->data, a->data, (size_t)(a->count * dlrtKindSize(a->kind)));
  return r;
}

static DLRT_NORETURN void failReshape(const DlTensor *a, int64_t rank, const int64_t *shape,
                                      const char *loc) {
  char from[DLRT_SHAPE_TEXT];
  char to[DLRT_SHAPE_TEXT];
  char message[2 * DLRT_SHAPE_TEXT + 96];
  dlrtShapeText(from, a->rank, a->shape);
  if (rank > DLRT_MAX_RANK)
    snprintf(to, sizeof to, "a shape of rank %lld", (long long)rank);
  else
    dlrtShapeText(to, (int32_t)rank, shape);
  snprintf(message, sizeof message, "cannot reshape %s (%lld element%s) to %s", from,
           (long long)a->count, a->count == 1 ? "" : "s", to);
  dlrt_fail(loc, message);
}

/* The shape `shape` asks of `a` (one -1 inferred) into `resolved`; its rank. */
static int32_t resolveReshape(const DlTensor *a, const DlArray *shape, int64_t *resolved,
                              const char *loc) {
  const int64_t *dims = dlrtArrayInts(shape);
  int64_t rank = shape->count;
  if (rank > DLRT_MAX_RANK)
    failReshape(a, rank, dims, loc);
  int64_t known = 1;
  int inferred = -1;
  for (int64_t i = 0; i < rank; ++i) {
    resolved[i] = dims[i];
    if (dims[i] == -1 && inferred < 0) {
      inferred = (int)i;
      continue;
    }
    if (dims[i] < 0)
      failReshape(a, rank, dims, loc);
    if (dims[i] != 0 && known > INT64_MAX / dims[i])
      failReshape(a, rank, dims, loc);
    known *= dims[i];
  }
  if (inferred >= 0) {
    if (known == 0 || a->count % known != 0)
      failReshape(a, rank, dims, loc);
    resolved[inferred] = a->count / known;
  } else if (known != a->count) {
    failReshape(a, rank, dims, loc);
  }
  return (int32_t)rank;
}

DlTensor *dlrt_t_reshape(const DlTensor *a, const DlArray *shape, const char *loc) {
  if (!a)
    return NULL;
  int64_t resolved[DLRT_MAX_RANK];
  int32_t rank = resolveReshape(a, shape, resolved, loc);
  if (rank == a->rank && memcmp(resolved, a->shape, (size_t)rank * sizeof(int64_t)) == 0)
    return dlrtTensorRetained(a);
  return withShape(a, rank, resolved);
}

/* reshape where this is `a`'s last use (Instr::reuse): a tensor nobody else
 * holds takes the new shape in place, so reshaping a dataset does not copy it. */
DlTensor *dlrt_t_reshape_owned(DlTensor *a, const DlArray *shape, const char *loc) {
  if (!a)
    return NULL;
  if (a->refcount != 1) {
    DlTensor *r = dlrt_t_reshape(a, shape, loc);
    dlrt_t_release(a);
    return r;
  }
  int64_t resolved[DLRT_MAX_RANK];
  a->rank = resolveReshape(a, shape, resolved, loc);
  memcpy(a->shape, resolved, (size_t)a->rank * sizeof(int64_t));
  return a;
}

DlTensor *dlrt_t_reshape_like(const DlTensor *a, const DlTensor *like, const char *loc) {
  if (!a || !like)
    return NULL; /* a NULL like: see dlrt.h, "Zero tangents" */
  dlrtRequire(like, loc, "reshape_like");
  if (like->count != a->count)
    failReshape(a, like->rank, like->shape, loc);
  if (dlrtSameShape(a, like))
    return dlrtTensorRetained(a);
  return withShape(a, like->rank, like->shape);
}
