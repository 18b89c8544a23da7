/* DL's immutable strings: creation from bytes, concatenation and bytewise
 * comparison. Every new string has refcount 1, `length` bytes and a trailing
 * NUL; storage comes from dlrt_alloc, which traps when memory runs out. */
#include "runtime/dlrt.h"

#include <stdlib.h>
#include <string.h>

/* A zeroed string of `length` bytes (the NUL is already there). */
static DlString *allocString(int64_t length) {
  if (length < 0 || length > INT64_MAX - (int64_t)sizeof(DlString) - 1)
    dlrt_fail("<runtime>", "out of memory");
  DlString *s = dlrt_alloc((int64_t)sizeof(DlString) + length + 1);
  s->refcount = 1;
  s->length = length;
  return s;
}

DlString *dlrt_string_new(const char *data, int64_t length) {
  DlString *s = allocString(length);
  if (length > 0)
    memcpy(s->data, data, (size_t)length);
  return s;
}

DlString *dlrt_string_concat(const DlString *a, const DlString *b) {
  if (a->length > INT64_MAX - b->length)
    dlrt_fail("<runtime>", "out of memory");
  DlString *s = allocString(a->length + b->length);
  memcpy(s->data, a->data, (size_t)a->length);
  memcpy(s->data + a->length, b->data, (size_t)b->length);
  return s;
}

void dlrt_string_retain(DlString *s) {
  if (s && s->refcount > 0)
    ++s->refcount;
}

void dlrt_string_release(DlString *s) {
  if (s && s->refcount > 0 && --s->refcount == 0)
    free(s);
}

int64_t dlrt_string_compare(const DlString *a, const DlString *b) {
  int64_t common = a->length < b->length ? a->length : b->length;
  /* memcmp compares as unsigned char, which is the bytewise order we want. */
  int c = common > 0 ? memcmp(a->data, b->data, (size_t)common) : 0;
  if (c != 0)
    return c < 0 ? -1 : 1;
  if (a->length == b->length)
    return 0;
  return a->length < b->length ? -1 : 1;
}
