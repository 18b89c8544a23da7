/* Running fused elementwise kernels (dlrt.h, "Fused elementwise kernels"),
 * split by rows across the runtime's threads when large.
 * The compiled loop sees the result as [rows, cols] (cols: the last axis)
 * and each input through a pair of strides, which covers an input of the
 * result's shape (cols, 1), a row broadcast along the leading axes such as a
 * bias (0, 1), a column such as [n, 1] (1, 0) and a single element (0, 0);
 * any other broadcast is materialized first. */
#include "runtime/tensor_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The nodes `need` marks (every node when `need` is NULL), in order, one by
 * one through the ordinary operations: their semantics for zero tangents
 * (NULL), their shape checks and their messages. Returns each node's tensor
 * (NULL where not evaluated) in an array for releaseNodes. */
static DlTensor **evaluate(const DlFusedKernel *k, DlTensor *const *inputs, const bool *need) {
  DlTensor **values = calloc((size_t)k->count, sizeof *values);
  if (!values)
    dlrt_fail("<runtime>", "out of memory");
  for (int32_t n = 0; n < k->count; ++n) {
    if (need && !need[n])
      continue;
    const DlFusedNode *node = &k->nodes[n];
    const DlTensor *a = node->a >= 0 ? values[node->a] : inputs[-1 - node->a];
    if (node->binary == 2) {
      const DlTensor *b = node->b >= 0 ? values[node->b] : inputs[-1 - node->b];
      const DlTensor *c = node->c >= 0 ? values[node->c] : inputs[-1 - node->c];
      values[n] = dlrt_t_where(a, b, c, node->loc);
    } else if (node->binary) {
      const DlTensor *b = node->b >= 0 ? values[node->b] : inputs[-1 - node->b];
      values[n] = dlrt_t_binary(node->op, a, b, node->loc);
    } else {
      values[n] = dlrt_t_unary(node->op, a, node->loc);
    }
  }
  return values;
}

static void releaseNodes(const DlFusedKernel *k, DlTensor **values) {
  for (int32_t n = 0; n < k->count; ++n)
    dlrt_t_release(values[n]);
  free(values);
}

static DlTensor *interpret(const DlFusedKernel *k, DlTensor *const *inputs, int32_t reuse) {
  DlTensor **values = evaluate(k, inputs, NULL);
  DlTensor *result = values[k->count - 1];
  values[k->count - 1] = NULL; /* the caller's */
  releaseNodes(k, values);
  if (reuse >= 0)
    dlrt_t_release(inputs[reuse]);
  return result;
}

/* The kind input i of kernel k takes. */
static int32_t inputKind(const DlFusedKernel *k, int32_t i) {
  return k->inputKinds ? k->inputKinds[i] : k->kind;
}

/* An input's strides over the [rows, cols] view of a result of `rank` and
 * `shape`, or false when they cannot describe it. */
static bool stridesOf(const DlTensor *t, int32_t rank, const int64_t *shape, int64_t cols,
                      int64_t *rowStride, int64_t *colStride) {
  if (t->count == 1) {
    *rowStride = *colStride = 0;
    return true;
  }
  bool full = true, row = true, column = true;
  for (int32_t j = 0; j < rank; ++j) {
    int32_t i = j - (rank - t->rank); /* the input's axis, right-aligned */
    int64_t d = i >= 0 ? t->shape[i] : 1;
    bool last = j == rank - 1;
    full = full && d == shape[j];
    row = row && (last ? d == shape[j] : d == 1);
    column = column && (last ? d == 1 : d == shape[j]);
  }
  if (full || row) {
    *rowStride = full ? cols : 0;
    *colStride = 1;
    return true;
  }
  if (column) {
    *rowStride = 1;
    *colStride = 0;
    return true;
  }
  return false;
}

enum { kInlineInputs = 16 };

/* Work units (tensor_internal.h, "Threads") of one element of a node, after
 * tensor_ops.c's measurements: arithmetic about 1, libm calls more. */
static int64_t nodeCost(const DlFusedNode *node) {
  if (node->binary == 2)
    return 1;
  if (node->binary)
    return node->op == DLRT_POW ? 16 : 1;
  switch (node->op) {
  case DLRT_EXP:
  case DLRT_LOG:
  case DLRT_LOG1P:
  case DLRT_SIGMOID:
    return 8;
  case DLRT_SIN:
  case DLRT_COS:
    return 16;
  case DLRT_TANH:
    return 40;
  default:
    return 1;
  }
}

typedef struct {
  const DlFusedKernel *kernel;
  int64_t cols;
  void *out;
  void *const *data;
  const int64_t *rowStride, *colStride;
} LoopArgs;

static void runRows(void *ctx, int64_t begin, int64_t end) {
  const LoopArgs *a = ctx;
  a->kernel->loop(begin, end, a->cols, a->out, a->data, a->rowStride, a->colStride);
}

/* The inputs as the loop sees them: a data pointer and a pair of strides
 * each, over the [rows, cols] view of the broadcast result; temporaries hold
 * the inputs that had to be broadcast or spread into a row first. */
typedef struct Inputs {
  int32_t n;
  void **data;
  int64_t *strides; /* row strides [0, n), column strides [n, 2n) */
  DlTensor **temps;
  void *inlineData[kInlineInputs];
  int64_t inlineStrides[2 * kInlineInputs];
  DlTensor *inlineTemps[kInlineInputs];
} Inputs;

static void prepareInputs(Inputs *in, const DlFusedKernel *k, DlTensor *const *inputs,
                          const DlTensor *like, int64_t cols, const char *loc) {
  int32_t n = in->n = k->inputs;
  in->data = in->inlineData;
  in->strides = in->inlineStrides;
  in->temps = in->inlineTemps;
  if (n > kInlineInputs) {
    in->data = malloc((size_t)n * sizeof *in->data);
    in->strides = malloc((size_t)n * 2 * sizeof *in->strides);
    in->temps = malloc((size_t)n * sizeof *in->temps);
    if (!in->data || !in->strides || !in->temps)
      dlrt_fail("<runtime>", "out of memory");
  }
  int64_t *strides = in->strides;
  for (int32_t i = 0; i < n; ++i) {
    in->temps[i] = NULL;
    const DlTensor *t = inputs[i];
    if (!stridesOf(t, like->rank, like->shape, cols, &strides[i], &strides[n + i])) {
      in->temps[i] = dlrt_t_broadcast_to(t, like, loc);
      t = in->temps[i];
      strides[i] = cols;
      strides[n + i] = 1;
    } else if (strides[n + i] == 0 && strides[i] == 0 && cols > 1) {
      /* A single element becomes a row of copies: the loop is vectorized
       * for unit column strides only (LLVM versions it on them). */
      int64_t rowShape[1] = {cols};
      in->temps[i] = dlrtTensorNew(inputKind(k, i), 1, rowShape);
      size_t size = (size_t)dlrtKindSize(inputKind(k, i));
      for (int64_t c = 0; c < cols; ++c)
        memcpy((char *)in->temps[i]->data + (size_t)c * size, t->data, size);
      t = in->temps[i];
      strides[n + i] = 1;
    }
    in->data[i] = t->data;
  }
}

static void releaseInputs(Inputs *in) {
  for (int32_t i = 0; i < in->n; ++i)
    dlrt_t_release(in->temps[i]);
  if (in->n > kInlineInputs) {
    free(in->data);
    free(in->strides);
    free(in->temps);
  }
}

/* The kernel's cost per element (DLRT_PARALLEL_MIN_WORK's units). */
static int64_t kernelCost(const DlFusedKernel *k) {
  int64_t cost = 0;
  for (int32_t i = 0; i < k->count; ++i)
    cost += nodeCost(&k->nodes[i]);
  return k->kind == DLRT_F64 ? 2 * cost : cost;
}

DlTensor *dlrt_t_fused(const DlFusedKernel *k, DlTensor *const *inputs, int32_t reuse,
                       const char *loc) {
  int32_t n = k->inputs;
  for (int32_t i = 0; i < n; ++i)
    if (!inputs[i] || inputs[i]->kind != inputKind(k, i))
      return interpret(k, inputs, reuse);
  int32_t rank;
  int64_t shape[DLRT_MAX_RANK];
  if (!dlrtBroadcastShapes(n, (const DlTensor *const *)inputs, &rank, shape))
    return interpret(k, inputs, reuse); /* reports the first operation that fails */

  DlTensor *out = NULL;
  if (reuse >= 0) {
    DlTensor *r = inputs[reuse];
    if (r->refcount == 1 && r->kind == k->kind && r->rank == rank &&
        memcmp(r->shape, shape, (size_t)rank * sizeof(int64_t)) == 0)
      out = r; /* the caller's reference becomes the result's */
  }
  if (!out)
    out = dlrtTensorNew(k->kind, rank, shape);
  int64_t cols = rank > 0 ? shape[rank - 1] : 1;
  int64_t rows = cols > 0 ? out->count / cols : 0;

  Inputs in;
  prepareInputs(&in, k, inputs, out, cols, loc);
  if (rows > 0) {
    LoopArgs args = {k, cols, out->data, in.data, in.strides, in.strides + n};
    dlrtParallelFor(rows, cols * kernelCost(k), runRows, &args);
  }
  releaseInputs(&in);
  if (reuse >= 0 && out != inputs[reuse])
    dlrt_t_release(inputs[reuse]);
  return out;
}

/* --- Several outputs (ir/Fusion.cpp, Note [Fused outputs]) ------------------------- */

enum { kInlineOutputs = 8 };

/* Marks in `need` the nodes output node `root` is computed from, and in
 * `reads` (when not NULL) the inputs they read. */
static void markNodes(const DlFusedKernel *k, int32_t root, bool *need, bool *reads) {
  need[root] = true;
  for (int32_t n = root; n >= 0; --n) {
    if (!need[n])
      continue;
    const DlFusedNode *node = &k->nodes[n];
    int32_t ops[3] = {node->a, node->b, node->c};
    for (int i = 0; i <= node->binary; ++i) {
      if (ops[i] >= 0)
        need[ops[i]] = true;
      else if (reads)
        reads[-1 - ops[i]] = true;
    }
  }
}

/* Every output node by node (an input is NULL, or the inputs do not
 * broadcast: the operation that fails reports it). */
static void interpretMulti(const DlFusedKernel *k, DlTensor *const *inputs, const int32_t *reuse,
                           DlTensor **results) {
  DlTensor **values = evaluate(k, inputs, NULL);
  for (int32_t j = 0; j < k->outputs; ++j) {
    int32_t node = k->outputNodes[j];
    results[j] = values[node];
    values[node] = NULL; /* the caller's */
  }
  releaseNodes(k, values);
  for (int32_t j = 0; j < k->outputs; ++j)
    if (reuse[j] >= 0)
      dlrt_t_release(inputs[reuse[j]]);
}

void dlrt_t_fused_multi(const DlFusedKernel *k, DlTensor *const *inputs, const int32_t *reuse,
                        DlTensor **results, const char *loc) {
  int32_t n = k->inputs, m = k->outputs;
  for (int32_t i = 0; i < n; ++i)
    if (!inputs[i] || inputs[i]->kind != inputKind(k, i)) {
      interpretMulti(k, inputs, reuse, results);
      return;
    }
  int32_t rank;
  int64_t shape[DLRT_MAX_RANK];
  if (!dlrtBroadcastShapes(n, (const DlTensor *const *)inputs, &rank, shape)) {
    interpretMulti(k, inputs, reuse, results);
    return;
  }

  /* Scratch: per output, whether it is computed apart; per node and input,
   * marks. */
  bool inlineApart[kInlineOutputs];
  void *inlineOut[kInlineOutputs];
  DlTensor *inlineScratch[kInlineOutputs];
  bool inlineNeed[64];
  DlTensor *inlineOwn[kInlineInputs];
  size_t marks = (size_t)k->count + (size_t)n;
  bool *apart = inlineApart, *need = marks <= 64 ? inlineNeed : malloc(marks * sizeof(bool));
  void **outData = inlineOut;
  DlTensor **scratch = inlineScratch;
  if (m > kInlineOutputs) {
    apart = malloc((size_t)m * sizeof *apart);
    outData = malloc((size_t)m * sizeof *outData);
    scratch = malloc((size_t)m * sizeof *scratch);
  }
  if (!need || !apart || !outData || !scratch)
    dlrt_fail("<runtime>", "out of memory");
  bool *reads = need + k->count;
  DlTensor **ownInputs = n <= kInlineInputs ? inlineOwn : malloc((size_t)n * sizeof *ownInputs);
  if (!ownInputs)
    dlrt_fail("<runtime>", "out of memory");

  /* An output whose own inputs broadcast to a smaller shape is computed
   * apart, node by node, before the loop may write over any input. */
  for (int32_t j = 0; j < m; ++j) {
    memset(need, 0, marks * sizeof(bool));
    markNodes(k, k->outputNodes[j], need, reads);
    int32_t ownRank = 0, count = 0;
    int64_t ownShape[DLRT_MAX_RANK];
    for (int32_t i = 0; i < n; ++i)
      if (reads[i])
        ownInputs[count++] = inputs[i];
    bool same = dlrtBroadcastShapes(count, (const DlTensor *const *)ownInputs, &ownRank, ownShape) &&
                ownRank == rank && memcmp(ownShape, shape, (size_t)rank * sizeof(int64_t)) == 0;
    apart[j] = !same;
    results[j] = NULL;
    scratch[j] = NULL;
    if (apart[j]) {
      DlTensor **values = evaluate(k, inputs, need);
      results[j] = values[k->outputNodes[j]];
      values[k->outputNodes[j]] = NULL;
      releaseNodes(k, values);
    }
  }

  /* The buffers: a dying input's, or new ones (scratch for outputs made
   * apart, whose loop values nobody reads). */
  for (int32_t j = 0; j < m; ++j) {
    DlTensor *out = NULL;
    if (!apart[j] && reuse[j] >= 0) {
      DlTensor *r = inputs[reuse[j]];
      if (r->refcount == 1 && r->kind == k->kind && r->rank == rank &&
          memcmp(r->shape, shape, (size_t)rank * sizeof(int64_t)) == 0)
        out = r; /* the caller's reference becomes the result's */
    }
    if (!out)
      out = dlrtTensorNew(k->kind, rank, shape);
    if (apart[j])
      scratch[j] = out;
    else
      results[j] = out;
    outData[j] = out->data;
  }

  int64_t cols = rank > 0 ? shape[rank - 1] : 1;
  int64_t rows = 1;
  for (int32_t d = 0; d + 1 < rank; ++d)
    rows *= shape[d];
  if (cols == 0)
    rows = 0;
  Inputs in;
  prepareInputs(&in, k, inputs, apart[0] ? scratch[0] : results[0], cols, loc);
  if (rows > 0) {
    LoopArgs args = {k, cols, outData, in.data, in.strides, in.strides + n};
    dlrtParallelFor(rows, cols * kernelCost(k), runRows, &args);
  }
  releaseInputs(&in);
  for (int32_t j = 0; j < m; ++j) {
    dlrt_t_release(scratch[j]);
    if (reuse[j] >= 0 && (apart[j] || results[j] != inputs[reuse[j]]))
      dlrt_t_release(inputs[reuse[j]]);
  }
  if (need != inlineNeed)
    free(need);
  if (ownInputs != inlineOwn)
    free(ownInputs);
  if (m > kInlineOutputs) {
    free(apart);
    free(outData);
    free(scratch);
  }
}

/* --- Fused reductions --------------------------------------------------------------- */

/* Elements [begin, begin + count) of the kernel's result, in flat order,
 * into buf: the loop run over one row at a time, from the element where
 * the range starts in that row. */
typedef struct SumWalk {
  const DlFusedKernel *k;
  const Inputs *in;
  int64_t cols;
  void **at; /* the inputs' data pointers moved to the current piece */
} SumWalk;

static void fillBlock(const SumWalk *w, int64_t begin, int64_t count, char *buf) {
  int32_t n = w->in->n;
  size_t size = (size_t)dlrtKindSize(w->k->kind);
  while (count > 0) {
    int64_t row = begin / w->cols, col = begin % w->cols;
    int64_t piece = w->cols - col < count ? w->cols - col : count;
    for (int32_t i = 0; i < n; ++i)
      w->at[i] = (char *)w->in->data[i] +
                 (size_t)(row * w->in->strides[i] + col * w->in->strides[n + i]) *
                     (size_t)dlrtKindSize(inputKind(w->k, i));
    w->k->loop(0, 1, piece, buf, w->at, w->in->strides, w->in->strides + n);
    buf += (size_t)piece * size;
    begin += piece;
    count -= piece;
  }
}

/* dlrtSumF32/F64's recursion (tensor_reduce.c) over the kernel's values: the
 * same halves, and each block of at most 128 summed by the same function,
 * from the buffer, so the result is the same bits. */
#define FUSED_SUM(NAME, T, LEAF)                                                                   \
  static T NAME(const SumWalk *w, int64_t begin, int64_t n) {                                      \
    if (n <= 128) {                                                                                \
      T buf[128];                                                                                  \
      fillBlock(w, begin, n, (char *)buf);                                                         \
      return LEAF(buf, n);                                                                         \
    }                                                                                              \
    int64_t half = n / 2;                                                                          \
    half -= half % 8;                                                                              \
    return NAME(w, begin, half) + NAME(w, begin + half, n - half);                                 \
  }

FUSED_SUM(fusedSumF32, float, dlrtSumF32)
FUSED_SUM(fusedSumF64, double, dlrtSumF64)

/* tensor_reduce.c's EXTREMUM_RUN over the kernel's values, element by
 * element in the same order: the first 32 fill the lanes, whole rounds of 32
 * update them, the lanes fold into the first element once the last round is
 * done, and the rest update that; below 64 elements one sequential scan. The
 * choice among equal values (0.0 and -0.0) and NaNs is the plain run's. */
#define FUSED_EXTREMUM(NAME, T, CMP)                                                               \
  static T NAME(const SumWalk *w, int64_t begin, int64_t n) {                                      \
    enum { kLanes = 32, kBlock = 128 };                                                            \
    T buf[kBlock], lane[kLanes], m = 0;                                                            \
    int64_t laneEnd = n >= 2 * kLanes ? kLanes + (n - kLanes) / kLanes * kLanes : 0;               \
    for (int64_t at = 0; at < n; at += kBlock) {                                                   \
      int64_t count = n - at < kBlock ? n - at : kBlock;                                           \
      fillBlock(w, begin + at, count, (char *)buf);                                                \
      if (at == 0)                                                                                 \
        m = buf[0];                                                                                \
      for (int64_t t = 0; t < count; ++t) {                                                        \
        int64_t i = at + t;                                                                        \
        T v = buf[t];                                                                              \
        if (i >= laneEnd) {                                                                        \
          m = (v CMP m || v != v) ? v : m;                                                         \
          continue;                                                                                \
        }                                                                                          \
        T *l = &lane[i % kLanes];                                                                  \
        *l = i < kLanes || v CMP *l || v != v ? v : *l;                                            \
        if (i == laneEnd - 1)                                                                      \
          for (int j = 0; j < kLanes; ++j)                                                         \
            m = (lane[j] CMP m || lane[j] != lane[j]) ? lane[j] : m;                               \
      }                                                                                            \
    }                                                                                              \
    return m;                                                                                      \
  }

FUSED_EXTREMUM(fusedMaxF32, float, >)
FUSED_EXTREMUM(fusedMinF32, float, <)
FUSED_EXTREMUM(fusedMaxF64, double, >)
FUSED_EXTREMUM(fusedMinF64, double, <)

/* tensor_reduce.c's LOGSUMEXP_RUN over the kernel's values: the maximum
 * first (the kernel evaluated once), then the kernel again for the shifted
 * exponentials, in the plain run's four double sums: whole groups of four
 * element by element into sums 0 to 3, the rest into sum 0. */
#define FUSED_LOGSUMEXP(NAME, T, S, MAX)                                                           \
  static T NAME(const SumWalk *w, int64_t begin, int64_t n) {                                      \
    enum { kBlock = 128 };                                                                         \
    T m = MAX(w, begin, n);                                                                        \
    T shift = isfinite(m) ? m : (T)0;                                                              \
    double s[4] = {0, 0, 0, 0};                                                                    \
    int64_t grouped = n - n % 4;                                                                   \
    T buf[kBlock];                                                                                 \
    for (int64_t at = 0; at < n; at += kBlock) {                                                   \
      int64_t count = n - at < kBlock ? n - at : kBlock;                                           \
      fillBlock(w, begin + at, count, (char *)buf);                                                \
      for (int64_t t = 0; t < count; ++t)                                                          \
        s[at + t < grouped ? (at + t) % 4 : 0] += exp##S(buf[t] - shift);                          \
    }                                                                                              \
    return (T)((double)shift + log((s[0] + s[1]) + (s[2] + s[3])));                                \
  }

FUSED_LOGSUMEXP(fusedLogSumExpF32, float, f, fusedMaxF32)
FUSED_LOGSUMEXP(fusedLogSumExpF64, double, , fusedMaxF64)

/* One reduction of n values from `begin` by op (SUM for MEAN too). */
#define FUSED_RUN(NAME, T, SUM, MAX, MIN, LSE)                                                     \
  static T NAME(const SumWalk *w, int32_t op, int64_t begin, int64_t n) {                          \
    switch (op) {                                                                                  \
    case DLRT_RMAX:                                                                                \
      return MAX(w, begin, n);                                                                     \
    case DLRT_RMIN:                                                                                \
      return MIN(w, begin, n);                                                                     \
    case DLRT_LOGSUMEXP:                                                                           \
      return LSE(w, begin, n);                                                                     \
    default:                                                                                       \
      return SUM(w, begin, n);                                                                     \
    }                                                                                              \
  }

FUSED_RUN(fusedRunF32, float, fusedSumF32, fusedMaxF32, fusedMinF32, fusedLogSumExpF32)
FUSED_RUN(fusedRunF64, double, fusedSumF64, fusedMaxF64, fusedMinF64, fusedLogSumExpF64)

/* The reductions a fused kernel runs itself; argmax goes through the tensor. */
static bool fusedOp(int32_t op) {
  return op == DLRT_SUM || op == DLRT_MEAN || op == DLRT_RMAX || op == DLRT_RMIN ||
         op == DLRT_LOGSUMEXP;
}

/* The shape the kernel's result would have, as a tensor header without
 * data (what prepareInputs broadcasts to); false for a zero tangent input, a
 * kind the kernel does not take, or shapes that do not broadcast. */
static bool resultLike(const DlFusedKernel *k, DlTensor *const *inputs, DlTensor *like) {
  for (int32_t i = 0; i < k->inputs; ++i)
    if (!inputs[i] || inputs[i]->kind != inputKind(k, i))
      return false;
  int32_t rank = 0;
  int64_t shape[DLRT_MAX_RANK];
  if (!dlrtBroadcastShapes(k->inputs, (const DlTensor *const *)inputs, &rank, shape))
    return false;
  *like = (DlTensor){.refcount = DLRT_IMMORTAL, .kind = k->kind, .rank = rank, .count = 1};
  for (int32_t j = 0; j < rank; ++j) {
    like->shape[j] = shape[j];
    like->count *= shape[j];
  }
  return true;
}

/* A walk over the kernel's values for `like`; finishWalk releases it. */
static void startWalk(SumWalk *w, Inputs *in, void **inlineAt, const DlFusedKernel *k,
                      DlTensor *const *inputs, const DlTensor *like, const char *loc) {
  int64_t cols = like->rank > 0 ? like->shape[like->rank - 1] : 1;
  prepareInputs(in, k, inputs, like, cols, loc);
  void **at = k->inputs > kInlineInputs ? malloc((size_t)k->inputs * sizeof *at) : inlineAt;
  if (!at)
    dlrt_fail("<runtime>", "out of memory");
  *w = (SumWalk){k, in, cols, at};
}

static void finishWalk(SumWalk *w, Inputs *in, void **inlineAt) {
  if (w->at != inlineAt)
    free(w->at);
  releaseInputs(in);
}

double dlrt_t_fused_reduce(const DlFusedKernel *k, DlTensor *const *inputs, int32_t op,
                           const char *loc) {
  DlTensor like;
  /* Zero tangents, failing shapes and empty tensors (mean's error) take the
   * operations one by one. */
  if (!fusedOp(op) || !resultLike(k, inputs, &like) || like.count == 0) {
    DlTensor *t = interpret(k, inputs, -1);
    double r = dlrt_t_reduce_all(op, t, loc);
    dlrt_t_release(t);
    return r;
  }
  Inputs in;
  void *inlineAt[kInlineInputs];
  SumWalk w;
  startWalk(&w, &in, inlineAt, k, inputs, &like, loc);
  double r;
  if (k->kind == DLRT_F32) {
    float s = fusedRunF32(&w, op, 0, like.count);
    r = op == DLRT_MEAN ? s / (float)like.count : s;
  } else {
    double s = fusedRunF64(&w, op, 0, like.count);
    r = op == DLRT_MEAN ? s / (double)like.count : s;
  }
  finishWalk(&w, &in, inlineAt);
  return r;
}

/* tensor_reduce.c's SUM_AXIS, EXTREMUM_AXIS and LOGSUMEXP_AXIS over the
 * kernel's values viewed as [outer, n, inner]: a contiguous run (inner 1)
 * by the walks above, else row by row into the output in the same order
 * (logSumExp: the maxima, then a second pass for the sums of the shifted
 * exponentials), then mean's division. `sums` holds inner doubles for
 * logSumExp. */
#define FUSED_AXIS(NAME, T, S, RUN)                                                                \
  static void NAME(const SumWalk *w, int32_t op, T *out, int64_t outer, int64_t n,                 \
                   int64_t inner, T *row, double *sums) {                                          \
    for (int64_t o = 0; o < outer; ++o) {                                                          \
      T *restrict oo = out + o * inner;                                                            \
      if (inner == 1) {                                                                            \
        oo[0] = RUN(w, op, o * n, n);                                                              \
        continue;                                                                                  \
      }                                                                                            \
      bool sum = op == DLRT_SUM || op == DLRT_MEAN;                                                \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        fillBlock(w, (o * n + i) * inner, inner, (char *)row);                                     \
        for (int64_t j = 0; j < inner; ++j) {                                                      \
          T v = row[j], m = oo[j];                                                                 \
          if (sum)                                                                                 \
            oo[j] = (i == 0 ? (T)0 : m) + v;                                                       \
          else if (i == 0)                                                                         \
            oo[j] = v;                                                                             \
          else if (op == DLRT_RMIN)                                                                \
            oo[j] = (v < m || v != v) ? v : m;                                                     \
          else                                                                                     \
            oo[j] = (v > m || v != v) ? v : m;                                                     \
        }                                                                                          \
      }                                                                                            \
      if (op != DLRT_LOGSUMEXP)                                                                    \
        continue;                                                                                  \
      for (int64_t j = 0; j < inner; ++j) {                                                        \
        oo[j] = isfinite(oo[j]) ? oo[j] : (T)0;                                                    \
        sums[j] = 0;                                                                               \
      }                                                                                            \
      for (int64_t i = 0; i < n; ++i) {                                                            \
        fillBlock(w, (o * n + i) * inner, inner, (char *)row);                                     \
        for (int64_t j = 0; j < inner; ++j)                                                        \
          sums[j] += exp##S(row[j] - oo[j]);                                                       \
      }                                                                                            \
      for (int64_t j = 0; j < inner; ++j)                                                          \
        oo[j] = (T)((double)oo[j] + log(sums[j]));                                                 \
    }                                                                                              \
    if (op == DLRT_MEAN)                                                                           \
      for (int64_t i = 0; i < outer * inner; ++i)                                                  \
        out[i] /= (T)n;                                                                            \
  }

FUSED_AXIS(fusedAxisF32, float, f, fusedRunF32)
FUSED_AXIS(fusedAxisF64, double, , fusedRunF64)

DlTensor *dlrt_t_fused_reduce_axis(const DlFusedKernel *k, DlTensor *const *inputs, int32_t op,
                                   int64_t axis, bool keepDims, const char *loc) {
  DlTensor like;
  bool direct = fusedOp(op) && resultLike(k, inputs, &like) && like.count > 0;
  /* The axis is checked on the result's rank, as dlrt_t_reduce would. */
  int32_t ax = direct ? dlrtAxis(axis, like.rank, loc) : 0;
  if (!direct) {
    DlTensor *t = interpret(k, inputs, -1);
    DlTensor *r = dlrt_t_reduce(op, t, axis, keepDims, loc);
    dlrt_t_release(t);
    return r;
  }
  int64_t outer = 1, inner = 1, n = like.shape[ax];
  for (int32_t i = 0; i < ax; ++i)
    outer *= like.shape[i];
  for (int32_t i = ax + 1; i < like.rank; ++i)
    inner *= like.shape[i];
  int64_t shape[DLRT_MAX_RANK];
  int32_t rank = 0;
  for (int32_t i = 0; i < like.rank; ++i) {
    if (i != ax)
      shape[rank++] = like.shape[i];
    else if (keepDims)
      shape[rank++] = 1;
  }
  DlTensor *r = dlrtTensorNew(k->kind, rank, shape);
  void *row = inner > 1 ? malloc((size_t)(inner * dlrtKindSize(k->kind))) : NULL;
  double *sums = inner > 1 && op == DLRT_LOGSUMEXP ? malloc((size_t)inner * sizeof *sums) : NULL;
  if (inner > 1 && (!row || (op == DLRT_LOGSUMEXP && !sums)))
    dlrt_fail("<runtime>", "out of memory");
  Inputs in;
  void *inlineAt[kInlineInputs];
  SumWalk w;
  startWalk(&w, &in, inlineAt, k, inputs, &like, loc);
  if (k->kind == DLRT_F32)
    fusedAxisF32(&w, op, r->data, outer, n, inner, row, sums);
  else
    fusedAxisF64(&w, op, r->data, outer, n, inner, row, sums);
  finishWalk(&w, &in, inlineAt);
  free(row);
  free(sums);
  return r;
}
