/* print() for tensors: `Tensor(<values>, shape: [d0, d1])` with the values
 * laid out as NumPy's array repr does (see Note [Tensor layout]), written to
 * the buffered stdout through print.c's functions. */
#include "runtime/tensor_internal.h"

#include <stdio.h>
#include <string.h>

enum {
  kSummaryThreshold = 1000, /* more elements than this: summarize */
  kEdgeItems = 3,           /* entries kept at each end of a summarized axis */
  kIndent = 8,              /* strlen("Tensor([") */
};

/* Element i as text in buf[32]; returns its length. */
static int formatElement(const DlTensor *t, int64_t i, char *buf) {
  switch (t->kind) {
  case DLRT_F32:
    return dlrt_format_float(((const float *)t->data)[i], buf);
  case DLRT_F64:
    return dlrt_format_double(((const double *)t->data)[i], buf);
  case DLRT_I64:
    return snprintf(buf, 32, "%lld", (long long)((const int64_t *)t->data)[i]);
  case DLRT_BOOL:
    return snprintf(buf, 32, "%s", ((const uint8_t *)t->data)[i] ? "true" : "false");
  }
  buf[0] = '\0';
  return 0;
}

static void printSpaces(int n) {
  static const char spaces[] = "                                ";
  for (; n > 0; n -= (int)sizeof spaces - 1)
    dlrt_print_cstr(n >= (int)sizeof spaces - 1 ? spaces : spaces + (sizeof spaces - 1 - n));
}

typedef struct Layout {
  const DlTensor *t;
  bool summarize;
  int64_t stride[DLRT_MAX_RANK];
  /* Per shown column (index along the innermost axis): the width its
   * entries are right-aligned to. At most 1000 columns are shown: a tensor
   * with more elements is summarized to 6. */
  int width[kSummaryThreshold];
} Layout;

/* Whether entry i of an axis of length n is hidden by the summary. */
static bool isElided(const Layout *l, int64_t n, int64_t i) {
  return l->summarize && n > 2 * kEdgeItems && i >= kEdgeItems && i < n - kEdgeItems;
}

/* The slot in `width` of shown column j. */
static int64_t columnSlot(const Layout *l, int64_t j) {
  int64_t n = l->t->shape[l->t->rank - 1];
  return l->summarize && n > 2 * kEdgeItems && j >= n - kEdgeItems ? j - (n - 2 * kEdgeItems) : j;
}

/* Widens each column to its widest entry in the block at `axis` starting at
 * `offset`. */
static void measureColumns(Layout *l, int32_t axis, int64_t offset) {
  int64_t n = l->t->shape[axis];
  for (int64_t i = 0; i < n; ++i) {
    if (isElided(l, n, i)) {
      i = n - kEdgeItems - 1;
      continue;
    }
    if (axis < l->t->rank - 1) {
      measureColumns(l, axis + 1, offset + i * l->stride[axis]);
      continue;
    }
    char buf[32];
    int w = formatElement(l->t, offset + i, buf);
    int *slot = &l->width[columnSlot(l, i)];
    if (w > *slot)
      *slot = w;
  }
}

static void printBlock(const Layout *l, int32_t axis, int64_t offset) {
  const DlTensor *t = l->t;
  int64_t n = t->shape[axis];
  bool innermost = axis == t->rank - 1;
  dlrt_print_cstr("[");
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) {
      if (innermost) {
        dlrt_print_cstr(", ");
      } else {
        dlrt_print_cstr(",");
        for (int32_t k = axis; k < t->rank - 1; ++k)
          dlrt_print_newline();
        printSpaces(kIndent + axis);
      }
    }
    if (isElided(l, n, i)) {
      dlrt_print_cstr("...");
      i = n - kEdgeItems - 1;
      continue;
    }
    if (!innermost) {
      printBlock(l, axis + 1, offset + i * l->stride[axis]);
      continue;
    }
    char buf[32];
    printSpaces(l->width[columnSlot(l, i)] - formatElement(t, offset + i, buf));
    dlrt_print_cstr(buf);
  }
  dlrt_print_cstr("]");
}

void dlrt_print_tensor(const DlTensor *t) {
  if (!t) {
    dlrt_print_cstr("Tensor(0)");
    return;
  }
  dlrt_print_cstr("Tensor(");
  if (t->rank == 0) {
    char buf[32];
    formatElement(t, 0, buf);
    dlrt_print_cstr(buf);
  } else {
    Layout l = {.t = t, .summarize = t->count > kSummaryThreshold};
    int64_t s = 1;
    for (int32_t d = t->rank - 1; d >= 0; --d) {
      l.stride[d] = s;
      s *= t->shape[d];
    }
    if (t->count > 0)
      measureColumns(&l, 0, 0);
    printBlock(&l, 0, 0);
  }
  char shape[DLRT_SHAPE_TEXT];
  dlrtShapeText(shape, t->rank, t->shape);
  dlrt_print_cstr(", shape: ");
  dlrt_print_cstr(shape);
  dlrt_print_cstr(")");
}

/* Note [Tensor layout]
 * The layout follows numpy.array2string with the prefix "Tensor(":
 *   Tensor([[ 1, 2.5],
 *           [-3,   4]], shape: [2, 2])
 * - Entries print in shortest round-trip form (format.c), Int as integers,
 *   Bool as true/false, each right-aligned to the widest entry shown in its
 *   column (its index along the innermost axis), so columns line up and a
 *   rank-1 tensor, one entry per column, has no padding.
 * - Entries of the innermost axis are separated by ", ". Blocks of axis d
 *   (of rank r) are separated by "," and r - d - 1 newlines, so a rank-3
 *   tensor has a blank line between its matrices, and the next block starts
 *   under the first: indented by strlen("Tensor([") + d.
 * - Past 1000 elements, every axis longer than 6 shows its first 3 and last
 *   3 entries with "..." in between, as an entry of its own ("2, ..., 7" on
 *   the innermost axis, a line "...," between blocks). */
