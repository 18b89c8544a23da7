/* save(model, path) and load(&model, path) (LANGUAGE.md §7 `io`): the
 * compiler walks the model's struct type and passes its Tensor, Float and
 * Double fields (scalars as rank-0 tensors) with their field paths
 * ("l1.weight", "pair.0"). The file format (docs/DECISIONS.md):
 *
 *   "DLMODEL\0"                      8-byte magic
 *   u32 version (1), u32 count       little-endian, as every number below
 *   count records, each:
 *     u32 n, n bytes                 the field path (UTF-8, no NUL)
 *     u8 dtype                       0 f32, 1 f64, 2 i64, 3 bool (one byte)
 *     u8 rank, rank x i64 dims
 *     the elements, row-major
 *
 * and nothing after the last record. save writes through
 * dlrtWriteFileAtomic; load reads and checks the whole file against the
 * model (every path present with the model's dtype and shape, no path the
 * model lacks) before it makes any result, so a failed load changes
 * nothing. */
#include "runtime/tensor_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char modelMagic[8] = {'D', 'L', 'M', 'O', 'D', 'E', 'L', 0};
enum { MODEL_VERSION = 1 };

typedef struct {
  int64_t n;
  DlString *const *names;
  DlTensor *const *values;
} ModelToWrite;

static bool putU32(FILE *f, uint32_t v) { return fwrite(&v, 4, 1, f) == 1; }

static bool writeModel(FILE *f, void *context) {
  const ModelToWrite *m = context;
  if (fwrite(modelMagic, 1, 8, f) != 8 || !putU32(f, MODEL_VERSION) || !putU32(f, (uint32_t)m->n))
    return false;
  for (int64_t i = 0; i < m->n; ++i) {
    const DlString *name = m->names[i];
    const DlTensor *t = m->values[i];
    uint8_t kindRank[2] = {(uint8_t)t->kind, (uint8_t)t->rank};
    if (!putU32(f, (uint32_t)name->length) ||
        fwrite(name->data, 1, (size_t)name->length, f) != (size_t)name->length ||
        fwrite(kindRank, 1, 2, f) != 2 ||
        (t->rank > 0 && fwrite(t->shape, 8, (size_t)t->rank, f) != (size_t)t->rank) ||
        (t->count > 0 &&
         fwrite(t->data, (size_t)dlrtKindSize(t->kind), (size_t)t->count, f) != (size_t)t->count))
      return false;
  }
  return true;
}

void dlrt_save_model(const DlString *path, int64_t n, DlString *const *names,
                     DlTensor *const *values, const char *loc) {
  for (int64_t i = 0; i < n; ++i)
    dlrtRequire(values[i], loc, "save");
  ModelToWrite m = {n, names, values};
  dlrtWriteFileAtomic(path, writeModel, &m, loc);
}

/* One record of a model file, pointing into the file's bytes. */
typedef struct {
  const char *name;
  uint32_t nameLength;
  int32_t kind;
  int32_t rank;
  int64_t shape[DLRT_MAX_RANK];
  int64_t count;
  const uint8_t *data;
  bool used;
} Record;

/* Parses the file into records; NULL and *problem set when it is malformed. */
static Record *parseModel(const char *file, int64_t size, uint32_t *count, const char **problem,
                          char *what, size_t whatSize) {
  const uint8_t *p = (const uint8_t *)file, *end = p + size;
  if (size < 16 || memcmp(p, modelMagic, 8) != 0) {
    *problem = "is not a model file (one written by 'save')";
    return NULL;
  }
  uint32_t version, n;
  memcpy(&version, p + 8, 4);
  memcpy(&n, p + 12, 4);
  p += 16;
  if (version != MODEL_VERSION) {
    snprintf(what, whatSize, "is a model file of version %u (this program reads version %d)",
             version, MODEL_VERSION);
    *problem = what;
    return NULL;
  }
  /* Each record takes at least 6 bytes: a count beyond that is damage. */
  if ((int64_t)n > (end - p) / 6) {
    *problem = "is truncated";
    return NULL;
  }
  Record *records = calloc(n > 0 ? n : 1, sizeof *records);
  if (!records) {
    *problem = "is too large to load (out of memory)";
    return NULL;
  }
  for (uint32_t i = 0; i < n; ++i) {
    Record *r = &records[i];
    if (end - p < 4)
      goto truncated;
    memcpy(&r->nameLength, p, 4);
    p += 4;
    if ((int64_t)r->nameLength > end - p)
      goto truncated;
    r->name = (const char *)p;
    p += r->nameLength;
    if (end - p < 2)
      goto truncated;
    r->kind = p[0];
    r->rank = p[1];
    p += 2;
    if (r->kind > DLRT_BOOL || r->rank > DLRT_MAX_RANK) {
      *problem = "is damaged (a record has an unknown dtype or rank)";
      free(records);
      return NULL;
    }
    if (end - p < 8 * (int64_t)r->rank)
      goto truncated;
    r->count = 1;
    for (int32_t k = 0; k < r->rank; ++k) {
      memcpy(&r->shape[k], p, 8);
      p += 8;
      if (r->shape[k] < 0 || r->shape[k] > ((int64_t)1 << 40) / (r->count > 0 ? r->count : 1)) {
        *problem = "is damaged (a record has an impossible shape)";
        free(records);
        return NULL;
      }
      r->count *= r->shape[k];
    }
    int64_t bytes = r->count * dlrtKindSize(r->kind);
    if (end - p < bytes)
      goto truncated;
    r->data = p;
    p += bytes;
  }
  if (p != end) {
    *problem = "is damaged (bytes after the last record)";
    free(records);
    return NULL;
  }
  *count = n;
  return records;
truncated:
  *problem = "is truncated";
  free(records);
  return NULL;
}

void dlrt_load_model(const DlString *path, int64_t n, DlString *const *names,
                     DlTensor *const *like, DlTensor **out, const char *loc) {
  int64_t size;
  char *file = dlrtReadFile(path, &size, loc);
  char what[1200];
  const char *problem = NULL;
  uint32_t count = 0;
  Record *records = parseModel(file, size, &count, &problem, what, sizeof what);
  Record **match = records ? calloc((size_t)(n > 0 ? n : 1), sizeof *match) : NULL;
  if (records && !match)
    problem = "is too large to load (out of memory)";
  for (int64_t i = 0; !problem && i < n; ++i) {
    const DlString *name = names[i];
    const DlTensor *want = like[i];
    int nameShown = (int)(name->length > 200 ? 200 : name->length);
    Record *r = NULL;
    for (uint32_t k = 0; k < count && !r; ++k)
      if (records[k].nameLength == (uint64_t)name->length && !records[k].used &&
          memcmp(records[k].name, name->data, (size_t)name->length) == 0)
        r = &records[k];
    if (!r) {
      snprintf(what, sizeof what, "does not match the model: it has no field '%.*s'", nameShown,
               name->data);
      problem = what;
      break;
    }
    r->used = true;
    match[i] = r;
    if (!want) {
      problem = "cannot be loaded into a zero tangent";
      break;
    }
    if (r->kind != want->kind) {
      snprintf(what, sizeof what,
               "does not match the model: '%.*s' is %s in the file, %s in the model", nameShown,
               name->data, dlrtKindName(r->kind), dlrtKindName(want->kind));
      problem = what;
      break;
    }
    bool sameShape = r->rank == want->rank;
    for (int32_t k = 0; sameShape && k < r->rank; ++k)
      sameShape = r->shape[k] == want->shape[k];
    if (!sameShape) {
      char fileShape[DLRT_SHAPE_TEXT], modelShape[DLRT_SHAPE_TEXT];
      dlrtShapeText(fileShape, r->rank, r->shape);
      dlrtShapeText(modelShape, want->rank, want->shape);
      snprintf(what, sizeof what,
               "does not match the model: '%.*s' has shape %s in the file, %s in the model",
               nameShown, name->data, fileShape, modelShape);
      problem = what;
      break;
    }
  }
  for (uint32_t k = 0; !problem && k < count; ++k)
    if (!records[k].used) {
      snprintf(what, sizeof what, "does not match the model: it has a field '%.*s' the model lacks",
               (int)(records[k].nameLength > 200 ? 200 : records[k].nameLength), records[k].name);
      problem = what;
    }
  if (problem) {
    free(match);
    free(records);
    free(file);
    dlrtFailFile(loc, path, problem);
  }
  /* Everything checked: only now are results made. */
  for (int64_t i = 0; i < n; ++i) {
    const Record *r = match[i];
    DlTensor *t = dlrtTensorNew(r->kind, r->rank, r->shape);
    if (r->count > 0)
      memcpy(t->data, r->data, (size_t)(r->count * dlrtKindSize(r->kind)));
    out[i] = t;
  }
  free(match);
  free(records);
  free(file);
}
