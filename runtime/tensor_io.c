/* Reading tensors from files: loadIDX (LANGUAGE.md §7 `data`), the format of
 * the MNIST and Fashion-MNIST files, plain or gzip-compressed (zlib's gzread
 * reads both). An IDX file is a 4-byte magic (0, 0, element type, rank),
 * rank big-endian 32-bit dimensions, then the elements, big-endian. */
#include "runtime/tensor_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static DLRT_NORETURN void failFile(const char *loc, const DlString *path, const char *what) {
  char message[1200];
  snprintf(message, sizeof message, "'%.*s' %s", (int)(path->length > 1000 ? 1000 : path->length),
           path->data, what);
  dlrt_fail(loc, message);
}

/* Reads exactly n bytes; false at a short file. */
static bool readAll(gzFile f, void *to, size_t n) {
  char *p = to;
  while (n > 0) {
    unsigned chunk = n > (1u << 30) ? (1u << 30) : (unsigned)n;
    int got = gzread(f, p, chunk);
    if (got <= 0)
      return false;
    p += got;
    n -= (size_t)got;
  }
  return true;
}

static int64_t elementSize(uint8_t type) {
  switch (type) {
  case 0x08: /* unsigned byte */
  case 0x09: /* signed byte */
    return 1;
  case 0x0B: /* short */
    return 2;
  case 0x0C: /* int */
  case 0x0D: /* float */
    return 4;
  case 0x0E: /* double */
    return 8;
  default:
    return 0;
  }
}

/* Element i of the big-endian buffer as a double. */
static double elementAt(const uint8_t *p, uint8_t type, int64_t i) {
  switch (type) {
  case 0x08:
    return p[i];
  case 0x09:
    return (int8_t)p[i];
  case 0x0B: {
    const uint8_t *q = p + 2 * i;
    return (int16_t)(uint16_t)((q[0] << 8) | q[1]);
  }
  case 0x0C: {
    const uint8_t *q = p + 4 * i;
    return (int32_t)(((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3]);
  }
  case 0x0D: {
    const uint8_t *q = p + 4 * i;
    uint32_t bits = ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3];
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
  }
  default: {
    const uint8_t *q = p + 8 * i;
    uint64_t bits = 0;
    for (int k = 0; k < 8; ++k)
      bits = (bits << 8) | q[k];
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
  }
  }
}

DlTensor *dlrt_t_load_idx(const DlString *path, int32_t kind, const char *loc) {
  /* The path as a C string (DlString's data is NUL-terminated, but may hold
   * a NUL of its own: such a path names no file). */
  if (memchr(path->data, 0, (size_t)path->length))
    failFile(loc, path, "is not a valid file name");
  errno = 0;
  gzFile f = gzopen(path->data, "rb");
  if (!f) {
    char what[160];
    snprintf(what, sizeof what, "cannot be opened: %s", errno ? strerror(errno) : "out of memory");
    failFile(loc, path, what);
  }
  uint8_t magic[4];
  if (!readAll(f, magic, 4) || magic[0] != 0 || magic[1] != 0 || elementSize(magic[2]) == 0 ||
      magic[3] > DLRT_MAX_RANK) {
    gzclose(f);
    failFile(loc, path, "is not an IDX file");
  }
  uint8_t type = magic[2];
  int32_t rank = magic[3];
  int64_t shape[DLRT_MAX_RANK];
  int64_t count = 1;
  for (int32_t i = 0; i < rank; ++i) {
    uint8_t d[4];
    if (!readAll(f, d, 4)) {
      gzclose(f);
      failFile(loc, path, "is truncated");
    }
    shape[i] = ((int64_t)d[0] << 24) | ((int64_t)d[1] << 16) | ((int64_t)d[2] << 8) | d[3];
    if (shape[i] > ((int64_t)1 << 40) / (count > 0 ? count : 1)) {
      gzclose(f);
      failFile(loc, path, "has dimensions too large to load");
    }
    count *= shape[i];
  }
  size_t bytes = (size_t)(count * elementSize(type));
  uint8_t *raw = malloc(bytes > 0 ? bytes : 1);
  if (!raw) {
    gzclose(f);
    dlrt_fail(loc, "out of memory");
  }
  if (!readAll(f, raw, bytes)) {
    free(raw);
    gzclose(f);
    failFile(loc, path, "is truncated");
  }
  gzclose(f);
  DlTensor *t = dlrtTensorNew(kind, rank, shape);
  for (int64_t i = 0; i < count; ++i) {
    double v = elementAt(raw, type, i);
    switch (kind) {
    case DLRT_F32:
      ((float *)t->data)[i] = (float)v;
      break;
    case DLRT_F64:
      ((double *)t->data)[i] = v;
      break;
    case DLRT_I64:
      ((int64_t *)t->data)[i] = (int64_t)v;
      break;
    default:
      ((uint8_t *)t->data)[i] = v != 0;
      break;
    }
  }
  free(raw);
  return t;
}
