/* Reading and writing tensors in files (LANGUAGE.md §7 `data`):
 * - loadIDX: the format of the MNIST and Fashion-MNIST files, plain or
 *   gzip-compressed (zlib's gzread reads both). An IDX file is a 4-byte magic
 *   (0, 0, element type, rank), rank big-endian 32-bit dimensions, then the
 *   elements, big-endian.
 * - loadNPY / saveNPY: NumPy's .npy format, versions 1 and 2 (a magic
 *   "\x93NUMPY", the version, a little-endian header length, a Python dict
 *   literal giving descr, fortran_order and shape, then the raw elements).
 * - loadCSV: numbers separated by commas, one row per line, an optional
 *   header line.
 * The file helpers shared with model_io.c (dlrtReadFile, dlrtWriteFileAtomic)
 * are here too. */
#define _XOPEN_SOURCE 700 /* mkstemp, fsync, fchmod */
#include "runtime/tensor_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void dlrtFailFile(const char *loc, const DlString *path, const char *what) {
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
    dlrtFailFile(loc, path, "is not a valid file name");
  errno = 0;
  gzFile f = gzopen(path->data, "rb");
  if (!f) {
    char what[160];
    snprintf(what, sizeof what, "cannot be opened: %s", errno ? strerror(errno) : "out of memory");
    dlrtFailFile(loc, path, what);
  }
  uint8_t magic[4];
  if (!readAll(f, magic, 4) || magic[0] != 0 || magic[1] != 0 || elementSize(magic[2]) == 0 ||
      magic[3] > DLRT_MAX_RANK) {
    gzclose(f);
    dlrtFailFile(loc, path, "is not an IDX file");
  }
  uint8_t type = magic[2];
  int32_t rank = magic[3];
  int64_t shape[DLRT_MAX_RANK];
  int64_t count = 1;
  for (int32_t i = 0; i < rank; ++i) {
    uint8_t d[4];
    if (!readAll(f, d, 4)) {
      gzclose(f);
      dlrtFailFile(loc, path, "is truncated");
    }
    shape[i] = ((int64_t)d[0] << 24) | ((int64_t)d[1] << 16) | ((int64_t)d[2] << 8) | d[3];
    if (shape[i] > ((int64_t)1 << 40) / (count > 0 ? count : 1)) {
      gzclose(f);
      dlrtFailFile(loc, path, "has dimensions too large to load");
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
    dlrtFailFile(loc, path, "is truncated");
  }
  gzclose(f);
  DlTensor *t = dlrtTensorNew(kind, rank, shape);
  for (int64_t i = 0; i < count; ++i) {
    double v = elementAt(raw, type, i);
    dlrtSetElement(t, i, v, (int64_t)v);
  }
  free(raw);
  return t;
}

/* --- Whole files ------------------------------------------------------------ */

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the .npy and model file code assumes a little-endian host"
#endif

static void requireFileName(const DlString *path, const char *loc) {
  if (path->length == 0 || memchr(path->data, 0, (size_t)path->length))
    dlrtFailFile(loc, path, "is not a valid file name");
}

char *dlrtReadFile(const DlString *path, int64_t *size, const char *loc) {
  requireFileName(path, loc);
  errno = 0;
  gzFile f = gzopen(path->data, "rb");
  if (!f) {
    char what[160];
    snprintf(what, sizeof what, "cannot be opened: %s", errno ? strerror(errno) : "out of memory");
    dlrtFailFile(loc, path, what);
  }
  size_t capacity = 1 << 16, length = 0;
  char *buf = malloc(capacity + 1);
  for (;;) {
    if (!buf) {
      gzclose(f);
      dlrt_fail(loc, "out of memory");
    }
    if (length == capacity) {
      capacity *= 2;
      char *bigger = realloc(buf, capacity + 1);
      if (!bigger)
        free(buf);
      buf = bigger;
      continue;
    }
    size_t want = capacity - length;
    int got = gzread(f, buf + length, want > (1u << 30) ? (1u << 30) : (unsigned)want);
    if (got < 0) {
      int err = 0;
      const char *text = gzerror(f, &err);
      char what[200];
      snprintf(what, sizeof what, "cannot be read: %s",
               err == Z_ERRNO ? strerror(errno) : text ? text : "read error");
      free(buf);
      gzclose(f);
      dlrtFailFile(loc, path, what);
    }
    if (got == 0)
      break;
    length += (size_t)got;
  }
  gzclose(f);
  buf[length] = 0;
  *size = (int64_t)length;
  return buf;
}

void dlrtWriteFileAtomic(const DlString *path, DlrtWriter write, void *context, const char *loc) {
  requireFileName(path, loc);
  size_t n = (size_t)path->length;
  static const char suffix[] = ".tmp-XXXXXX";
  char *tmp = malloc(n + sizeof suffix);
  if (!tmp)
    dlrt_fail(loc, "out of memory");
  memcpy(tmp, path->data, n);
  memcpy(tmp + n, suffix, sizeof suffix);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    char what[160];
    snprintf(what, sizeof what, "cannot be written: %s", strerror(errno));
    free(tmp);
    dlrtFailFile(loc, path, what);
  }
  /* mkstemp creates the file for its owner only; give it the permissions a
   * plain fopen would. */
  mode_t mask = umask(0);
  umask(mask);
  (void)fchmod(fd, 0666 & ~mask);
  FILE *f = fdopen(fd, "wb");
  errno = 0;
  bool ok = f && write(f, context) && fflush(f) == 0 && fsync(fd) == 0;
  int err = errno;
  if (f) {
    if (fclose(f) != 0 && ok) {
      ok = false;
      err = errno;
    }
  } else {
    close(fd);
  }
  if (ok && rename(tmp, path->data) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    char what[160];
    snprintf(what, sizeof what, "cannot be written: %s", err ? strerror(err) : "write error");
    dlrtFailFile(loc, path, what);
  }
  free(tmp);
}

/* --- Element conversion ------------------------------------------------------ */

/* The element types of the files read here (little-endian). */
typedef enum { SRC_F4, SRC_F8, SRC_I8, SRC_I4, SRC_U1, SRC_B1 } SourceType;

static int64_t sourceSize(SourceType type) {
  switch (type) {
  case SRC_F4:
  case SRC_I4:
    return 4;
  case SRC_F8:
  case SRC_I8:
    return 8;
  case SRC_U1:
  case SRC_B1:
    return 1;
  }
  return 1;
}

/* Element i of `raw` stored into t (of any kind); integers go to Int
 * tensors exactly, everything else through double. */
static void convertElements(const uint8_t *raw, SourceType type, DlTensor *t) {
  for (int64_t i = 0; i < t->count; ++i) {
    double d = 0;
    int64_t n = 0;
    bool integral = true;
    switch (type) {
    case SRC_F4: {
      float f;
      memcpy(&f, raw + 4 * i, 4);
      d = f;
      integral = false;
      break;
    }
    case SRC_F8:
      memcpy(&d, raw + 8 * i, 8);
      integral = false;
      break;
    case SRC_I8:
      memcpy(&n, raw + 8 * i, 8);
      break;
    case SRC_I4: {
      int32_t k;
      memcpy(&k, raw + 4 * i, 4);
      n = k;
      break;
    }
    case SRC_U1:
      n = raw[i];
      break;
    case SRC_B1:
      n = raw[i] != 0;
      break;
    }
    if (integral)
      d = (double)n;
    else /* floats out of Int's range (or NaN) become 0 rather than undefined behaviour */
      n = d >= -9.2233720368547758e18 && d < 9.2233720368547758e18 ? (int64_t)d : 0;
    dlrtSetElement(t, i, d, n);
  }
}

/* --- .npy -------------------------------------------------------------------- */

static const char npyMagic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The value after `'key':` (or `"key":`) in the header dict, or NULL. */
static const char *npyKey(const char *header, const char *key) {
  size_t keyLength = strlen(key);
  for (const char *p = header; (p = strstr(p, key)) != NULL; p += keyLength) {
    if (p == header || (p[-1] != '\'' && p[-1] != '"') || p[keyLength] != p[-1])
      continue;
    const char *q = p + keyLength + 1;
    while (*q == ' ')
      ++q;
    if (*q != ':')
      continue;
    ++q;
    while (*q == ' ')
      ++q;
    return q;
  }
  return NULL;
}

DlTensor *dlrt_t_load_npy(const DlString *path, int32_t kind, const char *loc) {
  int64_t size;
  char *file = dlrtReadFile(path, &size, loc);
  const char *problem = NULL;
  char what[200];
  const uint8_t *bytes = (const uint8_t *)file;
  if (size < 10 || memcmp(file, npyMagic, 6) != 0 || bytes[6] < 1 || bytes[6] > 3) {
    free(file);
    dlrtFailFile(loc, path, "is not a .npy file");
  }
  int64_t headerStart = bytes[6] == 1 ? 10 : 12;
  int64_t headerLength = bytes[6] == 1 ? (bytes[8] | (bytes[9] << 8))
                         : size < 12  ? -1
                                      : (int64_t)((uint32_t)bytes[8] | ((uint32_t)bytes[9] << 8) |
                                                  ((uint32_t)bytes[10] << 16) | ((uint32_t)bytes[11] << 24));
  if (headerLength < 0 || headerStart + headerLength > size) {
    free(file);
    dlrtFailFile(loc, path, "is truncated");
  }
  /* The header as a C string (the dict ends before the byte after it). */
  char *header = malloc((size_t)headerLength + 1);
  if (!header) {
    free(file);
    dlrt_fail(loc, "out of memory");
  }
  memcpy(header, file + headerStart, (size_t)headerLength);
  header[headerLength] = 0;
  const char *descr = npyKey(header, "descr");
  const char *order = npyKey(header, "fortran_order");
  const char *shapeText = npyKey(header, "shape");
  SourceType type = SRC_F4;
  int32_t rank = 0;
  int64_t shape[DLRT_MAX_RANK];
  int64_t count = 1;
  if (!descr || (*descr != '\'' && *descr != '"') || !order || !shapeText || *shapeText != '(') {
    problem = "has a malformed .npy header";
  } else {
    char quote = *descr++;
    const char *end = strchr(descr, quote);
    size_t n = end ? (size_t)(end - descr) : 0;
    static const struct { const char *name; SourceType type; } known[] = {
        {"<f4", SRC_F4}, {"<f8", SRC_F8}, {"<i8", SRC_I8},
        {"<i4", SRC_I4}, {"|u1", SRC_U1}, {"|b1", SRC_B1},
    };
    bool found = false;
    for (size_t k = 0; k < sizeof known / sizeof known[0]; ++k)
      if (end && n == strlen(known[k].name) && memcmp(descr, known[k].name, n) == 0) {
        type = known[k].type;
        found = true;
      }
    if (!end) {
      problem = "has a malformed .npy header";
    } else if (!found) {
      snprintf(what, sizeof what,
               "has the unsupported dtype '%.*s' (loadNPY reads <f4, <f8, <i8, <i4, |u1 and |b1)",
               (int)(n > 40 ? 40 : n), descr);
      problem = what;
    } else if (strncmp(order, "True", 4) == 0) {
      problem = "is in Fortran order (loadNPY reads C-order arrays only)";
    } else if (strncmp(order, "False", 5) != 0) {
      problem = "has a malformed .npy header";
    } else {
      const char *p = shapeText + 1;
      for (;;) {
        while (*p == ' ')
          ++p;
        if (*p == ')')
          break;
        char *after;
        errno = 0;
        long long d = strtoll(p, &after, 10);
        if (after == p || errno || d < 0) {
          problem = "has a malformed .npy header";
          break;
        }
        if (rank == DLRT_MAX_RANK) {
          problem = "has more than 8 dimensions";
          break;
        }
        if (d > ((int64_t)1 << 40) / (count > 0 ? count : 1)) {
          problem = "has dimensions too large to load";
          break;
        }
        shape[rank++] = d;
        count *= d;
        p = after;
        while (*p == ' ')
          ++p;
        if (*p == ',')
          ++p;
        else if (*p != ')') {
          problem = "has a malformed .npy header";
          break;
        }
      }
    }
  }
  free(header);
  if (!problem && size - headerStart - headerLength < count * sourceSize(type))
    problem = "is truncated";
  if (problem) {
    free(file);
    dlrtFailFile(loc, path, problem);
  }
  DlTensor *t = dlrtTensorNew(kind, rank, shape);
  convertElements(bytes + headerStart + headerLength, type, t);
  free(file);
  return t;
}

static bool writeNpy(FILE *f, void *context) {
  const DlTensor *t = context;
  const char *descr = t->kind == DLRT_F32   ? "<f4"
                      : t->kind == DLRT_F64 ? "<f8"
                      : t->kind == DLRT_I64 ? "<i8"
                                            : "|b1";
  char header[400];
  int n = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int32_t i = 0; i < t->rank; ++i)
    n += snprintf(header + n, sizeof header - (size_t)n, "%lld,%s", (long long)t->shape[i],
                  i + 1 < t->rank ? " " : "");
  if (t->rank > 1)
    --n; /* NumPy writes (3,) but (2, 3) */
  n += snprintf(header + n, sizeof header - (size_t)n, "), }");
  /* Spaces and a newline pad the prefix and header to a multiple of 64 bytes. */
  int total = (10 + n + 1 + 63) / 64 * 64;
  while (10 + n + 1 < total)
    header[n++] = ' ';
  header[n++] = '\n';
  uint8_t prefix[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (uint8_t)(n & 0xff), (uint8_t)(n >> 8)};
  return fwrite(prefix, 1, 10, f) == 10 && fwrite(header, 1, (size_t)n, f) == (size_t)n &&
         (t->count == 0 ||
          fwrite(t->data, (size_t)dlrtKindSize(t->kind), (size_t)t->count, f) == (size_t)t->count);
}

void dlrt_t_save_npy(const DlTensor *t, const DlString *path, const char *loc) {
  dlrtRequire(t, loc, "saveNPY");
  dlrtWriteFileAtomic(path, writeNpy, (void *)t, loc);
}

/* --- CSV --------------------------------------------------------------------- */

/* Field text [p, end) without surrounding blanks. */
static void trimField(const char **p, const char **end) {
  while (*p < *end && (**p == ' ' || **p == '\t'))
    ++*p;
  while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
    --*end;
}

/* Parses [p, end) as a number: for Int tensors into *n (an integer, or a
 * float with an integral value in range), else into *d. */
static bool parseNumber(const char *p, const char *end, bool asInt, double *d, int64_t *n) {
  char text[128];
  size_t len = (size_t)(end - p);
  if (len == 0 || len >= sizeof text)
    return false;
  memcpy(text, p, len);
  text[len] = 0;
  char *after;
  if (asInt) {
    errno = 0;
    long long k = strtoll(text, &after, 10);
    if (*after == 0 && errno == 0) {
      *n = k;
      return true;
    }
  }
  double v = strtod(text, &after);
  if (*after != 0)
    return false;
  if (asInt) {
    if (!(v == floor(v) && v >= -9.2233720368547758e18 && v < 9.2233720368547758e18))
      return false;
    *n = (int64_t)v;
    return true;
  }
  *d = v;
  return true;
}

DlTensor *dlrt_t_load_csv(const DlString *path, int32_t kind, const char *loc) {
  int64_t size;
  char *file = dlrtReadFile(path, &size, loc);
  bool asInt = kind == DLRT_I64;
  /* Values as 8-byte slots (int64_t for Int tensors, double otherwise). */
  size_t capacity = 1024, used = 0;
  uint64_t *values = malloc(capacity * sizeof *values);
  if (!values) {
    free(file);
    dlrt_fail(loc, "out of memory");
  }
  int64_t rows = 0, columns = -1, lineNumber = 0;
  bool firstLine = true;
  char what[400];
  const char *problem = NULL;
  for (const char *line = file; !problem && line < file + size;) {
    const char *eol = memchr(line, '\n', (size_t)(file + size - line));
    if (!eol)
      eol = file + size;
    const char *next = eol + 1;
    ++lineNumber;
    const char *lineEnd = eol;
    if (lineEnd > line && lineEnd[-1] == '\r')
      --lineEnd;
    const char *s = line, *e = lineEnd;
    trimField(&s, &e);
    line = next;
    if (s == e)
      continue; /* blank lines are skipped */
    int64_t fields = 0;
    size_t rowStart = used;
    bool header = false;
    for (const char *p = s;; ++fields) {
      const char *comma = memchr(p, ',', (size_t)(lineEnd - p));
      const char *fieldEnd = comma ? comma : lineEnd;
      const char *a = p, *b = fieldEnd;
      trimField(&a, &b);
      double d = 0;
      int64_t n = 0;
      if (!parseNumber(a, b, asInt, &d, &n)) {
        if (firstLine) {
          header = true; /* a first line that is not all numbers is a header */
          used = rowStart;
          break;
        }
        snprintf(what, sizeof what, "line %lld, column %lld: '%.*s' is not %s", (long long)lineNumber,
                 (long long)fields + 1, (int)(b - a > 40 ? 40 : b - a), a,
                 asInt ? "an integer" : "a number");
        problem = what;
        break;
      }
      if (used == capacity) {
        capacity *= 2;
        uint64_t *bigger = realloc(values, capacity * sizeof *values);
        if (!bigger) {
          free(values);
          free(file);
          dlrt_fail(loc, "out of memory");
        }
        values = bigger;
      }
      if (asInt)
        memcpy(&values[used++], &n, 8);
      else
        memcpy(&values[used++], &d, 8);
      if (!comma)
        break;
      p = comma + 1;
    }
    firstLine = false;
    if (header || problem)
      continue;
    ++fields;
    if (columns >= 0 && fields != columns) {
      snprintf(what, sizeof what, "line %lld has %lld column%s, expected %lld", (long long)lineNumber,
               (long long)fields, fields == 1 ? "" : "s", (long long)columns);
      problem = what;
      used = rowStart;
      break;
    }
    columns = fields;
    ++rows;
  }
  free(file);
  if (problem) {
    free(values);
    dlrtFailFile(loc, path, problem);
  }
  int64_t shape[2] = {rows, columns < 0 ? 0 : columns};
  DlTensor *t = dlrtTensorNew(kind, 2, shape);
  for (size_t i = 0; i < used; ++i) {
    double d;
    int64_t n;
    memcpy(&d, &values[i], 8);
    memcpy(&n, &values[i], 8);
    dlrtSetElement(t, (int64_t)i, d, n);
  }
  free(values);
  return t;
}
